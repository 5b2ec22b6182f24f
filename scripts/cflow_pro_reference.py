#!/usr/bin/env python3
"""Independent reference for adbench's cflow200 AUPRO convention (--aupro-convention cflow200).

The PRO integral of CFlow-AD's train.py as the WinCLIP and AnomalyCLIP repositories use it
(cal_pro_score): thresholds np.arange(min, max, (max - min) / 200); at each, positive = score > th;
PRO = mean over the 8-connected ground-truth regions of their covered fraction, FPR over the normal
pixels; the points with FPR < limit, FPR min-max rescaled, sklearn.metrics.auc. Written from that
description with scipy.ndimage.label (3x3 structure = skimage's default full connectivity) instead of
skimage, which Debian 12 does not package. Scores are float32 values compared in float64.

Prints the golden numbers of tests/metrics/test_metrics.cpp "AUPRO cflow200 convention" for the
deterministic maps that test builds (same formula).
    /usr/bin/python3 scripts/cflow_pro_reference.py
"""
import numpy as np
from scipy import ndimage
from sklearn.metrics import auc


def cal_pro_score(masks, amaps, max_step=200, expect_fpr=0.3):
    min_th, max_th = amaps.min(), amaps.max()
    delta = (max_th - min_th) / max_step
    ths = np.arange(min_th, max_th, delta)
    assert len(ths) == max_step, len(ths)
    regions = []
    for m in masks:
        lab, n = ndimage.label(m, structure=np.ones((3, 3)))
        regions.append([lab == r for r in range(1, n + 1)])
    inverse = 1 - masks
    pros, fprs = [], []
    for th in ths:
        binary = amaps > th
        pro = [binary[i][r].sum() / r.sum() for i in range(len(masks)) for r in regions[i]]
        fprs.append(np.logical_and(inverse, binary).sum() / inverse.sum())
        pros.append(np.mean(pro))
    pros, fprs = np.array(pros), np.array(fprs)
    keep = fprs < expect_fpr
    f = fprs[keep]
    f = (f - f.min()) / (f.max() - f.min())
    return auc(f, pros[keep])


def maps():
    """3 images of 24 x 24: scores ((7i + 13y + 29x) mod 97) / 97 (+ 0.25 inside the mask), float32."""
    n, h, w = 3, 24, 24
    masks = np.zeros((n, h, w), np.uint8)
    masks[0, 3:8, 4:10] = 1
    masks[0, 15:18, 15:22] = 1
    masks[1, 10:20, 2:5] = 1
    masks[1, 5, 5] = 1  # a one-pixel region
    masks[1, 6, 6] = 1  # 8-connected to it
    i, y, x = np.meshgrid(np.arange(n), np.arange(h), np.arange(w), indexing="ij")
    s = ((7 * i + 13 * y + 29 * x) % 97) / 97.0 + 0.25 * masks
    return masks, s.astype(np.float32).astype(np.float64)


if __name__ == "__main__":
    masks, amaps = maps()
    for limit in (0.3, 0.05):
        print(f"limit {limit}: {cal_pro_score(masks, amaps, expect_fpr=limit):.15f}")
