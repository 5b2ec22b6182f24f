#!/usr/bin/python3
"""Writes the small .mat files that tests/datasets/test_video.cpp reads (tests/datasets/mat/) with
scipy.io.savemat (Debian python3-scipy), which writes MATLAB v5 files, compressed or not. Rerun
after changing a fixture; the outputs are committed. Usage: /usr/bin/python3 tests/datasets/make_mat_fixtures.py (Debian's numpy and scipy)
"""
import os

import numpy as np
import scipy.io

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mat")


def cell(*items):
    c = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        c[i] = x
    return c


def gt_cell():
    # One label vector per video, of five classes and shapes: double row, uint8 row, logical row,
    # single column (2x1) and an empty int64 (a video with no labels).
    return cell(np.array([0, 0, 1, 1, 0], dtype=np.float64), np.array([0, 1, 1], dtype=np.uint8),
                np.array([True, False, False, False]), np.array([[1], [0]], dtype=np.float32),
                np.zeros(0, dtype=np.int64))


def main():
    os.makedirs(OUT, exist_ok=True)
    w = lambda name, d, **kw: scipy.io.savemat(os.path.join(OUT, name), d, **kw)
    w("gt_cell.mat", {"note": "labels", "gt": gt_cell()}, do_compression=False)
    w("gt_cell_compressed.mat", {"note": "labels", "gt": gt_cell()}, do_compression=True)
    # Equal-length vectors become a numeric matrix: one row per video.
    w("gt_matrix.mat", {"gt": np.array([[0, 1, 1, 0], [1, 0, 0, 0]], dtype=np.int16)}, do_compression=True)
    w("no_gt.mat", {"labels": cell(np.array([0.0, 1.0]))}, do_compression=False)
    w("gt_struct.mat", {"gt": {"video": np.array([0.0, 1.0])}}, do_compression=False)
    w("gt_nested.mat", {"gt": cell(cell(np.array([0.0, 1.0])))}, do_compression=False)
    w("v4.mat", {"gt": np.array([[0.0, 1.0]])}, format="4")
    # The start of a v7.3 file: the 128-byte MATLAB header, then HDF5's signature at byte 512.
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    head = head.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM"
    with open(os.path.join(OUT, "v73.mat"), "wb") as f:
        f.write(head.ljust(512, b"\0") + b"\x89HDF\r\n\x1a\n" + b"\0" * 56)


if __name__ == "__main__":
    main()
