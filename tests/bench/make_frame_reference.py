#!/usr/bin/python3
"""Independent reference values for tests/bench/test_frames.cpp (scikit-learn + scipy).

The frame protocol of INFP / IPAD: drop the first K frames of each video, min-max normalise each
video's scores, concatenate a scene's videos, AUROC / AP / F1-max / EER; also the raw-score AUROC
and the mean of per-video AUROCs. Run: python3 tests/bench/make_frame_reference.py
"""
import numpy as np
from scipy.interpolate import interp1d
from scipy.optimize import brentq
from sklearn.metrics import roc_auc_score, average_precision_score, roc_curve, precision_recall_curve

videos = {
    "01": ([9.0, 9.0, 0.10, 0.40, 0.35, 0.80, 0.90, 0.20], [1, 1, 0, 0, 0, 1, 1, 0]),
    "02": ([0.0, 0.0, 2.0, 2.5, 7.0, 6.0, 2.2, 2.1, 2.4], [0, 0, 0, 0, 1, 1, 0, 1, 0]),
    "03": ([5.0, 5.0, 1.0, 1.5, 1.2, 1.1], [0, 0, 0, 0, 0, 0]),
}
K = 2


def eer(scores, labels):
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    return brentq(lambda x: 1.0 - x - interp1d(fpr, tpr)(x), 0.0, 1.0)


def f1_max(scores, labels):
    p, r, _ = precision_recall_curve(labels, scores)
    f = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-300), 0)
    return f.max()


norm, raw, lab, per_video = [], [], [], []
for name, (s, y) in videos.items():
    s, y = np.array(s[K:]), np.array(y[K:])
    raw += list(s)
    norm += list((s - s.min()) / (s.max() - s.min()))
    lab += list(y)
    if 0 < y.sum() < len(y):
        per_video.append(roc_auc_score(y, s))
norm, raw, lab = np.array(norm), np.array(raw), np.array(lab)
print("auroc", repr(roc_auc_score(lab, norm)))
print("ap", repr(average_precision_score(lab, norm)))
print("f1_max", repr(f1_max(norm, lab)))
print("eer", repr(eer(norm, lab)))
print("auroc_raw", repr(roc_auc_score(lab, raw)))
print("auroc_macro", repr(np.mean(per_video)))
print("eer_raw", repr(eer(raw, lab)))
# EER with ties across classes (vertical ROC runs)
ts = np.array([0.9, 0.9, 0.5, 0.5, 0.5, 0.1, 0.1, 0.7])
ty = np.array([1, 0, 1, 0, 0, 0, 1, 1])
print("eer_ties", repr(eer(ts, ty)))
