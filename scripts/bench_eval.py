#!/usr/bin/python3
"""End-to-end counterpart of bench_metrics.py: the same MVTec-AD-scale maps, but scored by the
real command, `adbench eval --pred PRED`, reading a prediction folder and a dataset from disk.

    /usr/bin/python3 scripts/bench_eval.py [--bin build/apps/adbench/adbench] [--runs 3] [--md FILE]

1. Generates the maps and masks of bench_metrics.py (seed 0: 1,725 maps of 256x256, 1,250 regions)
   and writes them as 15 categories of 115 test images in MVTec AD layout (dummy 256x256 PNG
   images, PNG masks for the anomalous ones) plus PRED/<category>/test/<defect>/<stem>.npy maps.
2. Runs `adbench eval --pred PRED --category all --aupro-limits 0.3` `--runs` times and measures
   wall time and peak RSS. Note the pixel metrics here are per category (15 sets of 115 maps), as
   every MVTec AD table reports them, so the file reading and mask decoding dominate.
3. Checks every category's values against scikit-learn and the exact AUPRO reference of
   bench_metrics.py within 1e-6.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
import struct

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_metrics as bm  # noqa: E402


def write_png_gray(path, arr):
    """Minimal 8-bit grayscale PNG writer (no PIL needed)."""
    h, w = arr.shape
    raw = b"".join(b"\x00" + arr[r].tobytes() for r in range(h))
    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(root_dir, "build", "apps", "adbench", "adbench"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--md", default=None)
    ap.add_argument("--categories", type=int, default=15, choices=[1, 3, 5, 15],
                    help="split the 1,725 maps into this many categories (1: one 113 M-pixel set)")
    args = ap.parse_args()

    maps, masks = bm.generate(1725, 256, 1250)
    n_cat = args.categories
    per_cat = 1725 // n_cat
    with tempfile.TemporaryDirectory(prefix="adbench-bench-eval-") as tmp:
        data, pred = os.path.join(tmp, "data"), os.path.join(tmp, "pred")
        dummy = np.zeros((256, 256), np.uint8)
        for c in range(n_cat):
            cat = f"cat{c:02d}"
            os.makedirs(os.path.join(data, cat, "train", "good"))
            for k in range(per_cat):
                i = c * per_cat + k
                defect = "blob" if masks[i].any() else "good"
                for d in (os.path.join(data, cat, "test", defect), os.path.join(pred, cat, "test", defect)):
                    os.makedirs(d, exist_ok=True)
                write_png_gray(os.path.join(data, cat, "test", defect, f"{k:03d}.png"), dummy)
                np.save(os.path.join(pred, cat, "test", defect, f"{k:03d}.npy"), maps[i])
                if defect != "good":
                    gt = os.path.join(data, cat, "ground_truth", defect)
                    os.makedirs(gt, exist_ok=True)
                    write_png_gray(os.path.join(gt, f"{k:03d}_mask.png"), masks[i] * 255)
        walls, rss = [], []
        for r in range(args.runs):
            out = os.path.join(tmp, f"r{r}.json")
            cmd = [args.bin, "--quiet", "eval", "--pred", pred, "--dataset", "mvtec_ad", "--root", data,
                   "--category", "all", "--aupro-limits", "0.3", "--out", out]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t0)
            rss.append(json.load(open(out))["peak_rss_bytes"])
        result = json.load(open(os.path.join(tmp, "r0.json")))
    worst = 0.0
    for c in range(n_cat):
        sl = slice(c * per_cat, (c + 1) * per_cat)
        m, g = maps[sl], masks[sl]
        y, s = g.ravel().astype(bool), m.ravel()
        ref = {"auroc": bm.roc_auc_score(y, s), "ap": bm.average_precision_score(y, s)}
        ref.update(bm.reference_aupro(m, g, [0.3])[0])
        # adbench.result/2: the pixel level of the category
        got = next(l for l in result["categories"][c]["levels"] if l["level"] == "pixel")["metrics"]
        for k, v in ref.items():
            worst = max(worst, abs(got[k] - v))
    ok = worst <= 1e-6
    lines = [
        "# End-to-end `adbench eval --pred` benchmark",
        "",
        f"Command: `/usr/bin/python3 scripts/bench_eval.py --categories {n_cat}` (after `scripts/build.sh`).",
        "",
        f"- Data: the bench_metrics.py maps (1,725 of 256x256, 1,250 regions) as {n_cat} MVTec-layout categories of {per_cat} test images, maps as float32 .npy",
        f"- adbench: `adbench --quiet eval --pred PRED --category all --aupro-limits 0.3`, {args.runs} runs, fresh process each",
        "",
        "| figure | measured |",
        "|---|---|",
        f"| wall, median (all: {', '.join(f'{w:.2f}' for w in walls)} s) | {statistics.median(walls):.2f} s |",
        f"| peak RSS (max) | {max(rss) / 2**30:.2f} GiB |",
        f"| largest difference to scikit-learn / exact AUPRO over {n_cat} categories | {worst:.1e} ({'OK' if ok else 'FAIL'}) |",
    ]
    print("\n".join(lines))
    if args.md:
        with open(args.md, "w") as f:
            f.write("\n".join(lines) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
