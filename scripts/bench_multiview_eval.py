#!/usr/bin/python3
"""Evaluation at Real-IAD scale (issue 10): one multi-view category of 1,000 test samples x 5 views
(5,000 view maps of 256x256 float32, about 328 M pixels) scored by the real command,
`adbench --quiet eval --pred PRED --dataset real_iad`, in a fresh process.

    /usr/bin/python3 scripts/bench_multiview_eval.py [--bin build/apps/adbench/adbench] [--runs 1]
                                                     [--samples 1000] [--md FILE] [--tmp DIR] [--keep]

1. Generates (seed 0) one category `plastic_nut` in the Real-IAD layout under a temporary folder:
   - realiad_jsons/plastic_nut.json with train (500 OK samples) and test records (600 OK and 400 NG
     samples of classes HS, CH, ZW), every sample the views C1..C5, file names with the sample key
     and a timestamp as in the release (OK/S0501/plastic_nut_0501_OK_C1_<ts>.jpg,
     NG/HS/S0001/plastic_nut_0001_NG_HS_C3_<ts>.jpg). An NG sample shows its defect in 1-3 views;
     its other views are records of class OK with no mask (as in the release).
   - Images: the adapter only checks that they exist and the evaluation reads the header of the
     anomalous views' images (to check the mask's size), so every image is a hard link to one
     256x256 JPEG.
   - Masks (anomalous views only): 256x256 8-bit PNG with soft edges (as the resized realiad_256
     release), 1 or 2 elliptic regions of about 0.03-3 % of the view each; adbench binarises at > 127.
   - PRED/plastic_nut/<image_path with .npy>: float32 maps; background = a coarse 16x16 field +
     fine Gaussian noise + a per-view offset, a bump of random strength over each defect (and a
     false-positive bump in 15 % of the normal views), so pixel scores are continuous with few ties.
   - PRED/plastic_nut/scores.csv: view score = map maximum + Gaussian noise (17 significant digits).
2. Runs `adbench --quiet eval --pred PRED --dataset real_iad --root DATA --category plastic_nut
   --out R.json` `--runs` times, each a fresh process, measuring wall time (perf_counter around the
   process) and peak RSS (getrusage(RUSAGE_CHILDREN).ru_maxrss, and the result's peak_rss_bytes).
3. Checks the result against scikit-learn: sample and view AUROC / AP directly; pixel AUROC, AP and
   F1-max with roc_auc_score / average_precision_score / precision_recall_curve on an exactly
   equivalent weighted set (below), and AUPRO@0.3 with the official MVTec AD trapezoid
   (bench_metrics.trapezoid) on the same compressed curve. Tolerance 1e-9.

Why the weighted set is exact: the pixel metrics only change where the true-positive count changes.
All negatives whose score lies strictly between two consecutive distinct positive scores move the
curve along a stretch of constant TP (and constant PRO); merging them into one point (their count as
its sample_weight, a score in the same gap) leaves the ROC trapezoid sum, the AP step sum, the best
F1 and the PRO trapezoid (including its interpolation at the limit) unchanged. Negatives tied with a
positive score keep that score. So scikit-learn sees about 2 points per distinct positive score
instead of 328 M pixels (its argsort-based curves would need ~15 GB here). The script also checks
this reduction itself: on the first 300 views it compares plain scikit-learn on every pixel with
the reduced computation.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.ndimage
from PIL import Image
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_metrics import trapezoid  # noqa: E402

CAT = "plastic_nut"
SIZE = 256
TOL = 1e-9
CODES = ("HS", "CH", "ZW")
CHECK_VIEWS = 300  # views whose raw pixels also go through plain scikit-learn


def ellipse(rng, size):
    cy, cx = rng.uniform(0.1 * size, 0.9 * size, 2)
    ry, rx = rng.uniform(2.5, 0.1 * size, 2)
    th = rng.uniform(0, np.pi)
    return cy, cx, ry, rx, th


def ellipse_dist(yy, xx, e):
    cy, cx, ry, rx, th = e
    dy, dx = yy - cy, xx - cx
    u = (dx * np.cos(th) + dy * np.sin(th)) / rx
    v = (-dx * np.sin(th) + dy * np.cos(th)) / ry
    return u * u + v * v  # 1 on the ellipse's edge


class Reference:
    """Pixel data kept for the reference: every negative's score (4 bytes a pixel, filled in order)
    and the positives' scores with their PRO weights (1 / region size)."""

    def __init__(self, total):
        self.neg = np.empty(total, np.float32)
        self.nn = 0
        self.pos, self.pos_w = [], []
        self.regions = 0
        self.raw_s, self.raw_y = [], []

    def add(self, m, gt, view_index):
        flat, lab = m.ravel(), gt.ravel()
        neg = flat[~lab]
        self.neg[self.nn:self.nn + neg.size] = neg
        self.nn += neg.size
        if lab.any():
            labeled, k = scipy.ndimage.label(gt, np.ones((3, 3), int))
            sizes = np.bincount(labeled.ravel())
            w = np.zeros(k + 1)
            w[1:] = 1.0 / sizes[1:]
            self.pos.append(flat[lab])
            self.pos_w.append(w[labeled.ravel()[lab]])
            self.regions += k
        if view_index < CHECK_VIEWS:
            self.raw_s.append(flat.copy())
            self.raw_y.append(lab.copy())


def reduced_metrics(neg_sorted, pos, pos_w, regions, limit=0.3):
    """Pixel AUROC, AP, F1-max (scikit-learn, weighted) and AUPRO@limit on the reduced set."""
    u, inv = np.unique(pos, return_inverse=True)  # ascending distinct positive scores
    npos = np.bincount(inv, minlength=u.size).astype(np.float64)
    prow = np.bincount(inv, weights=pos_w, minlength=u.size)
    lo = np.searchsorted(neg_sorted, u, "left")
    hi = np.searchsorted(neg_sorted, u, "right")
    eq = (hi - lo).astype(np.float64)
    prev_hi = np.concatenate(([0], hi[:-1]))
    gap = (lo - prev_hi).astype(np.float64)  # negatives strictly between u[j-1] and u[j]
    top = float(neg_sorted.size - hi[-1])  # negatives above the highest positive
    u64 = u.astype(np.float64)
    gap_score = np.concatenate(([u64[0] - 1.0], (u64[:-1] + u64[1:]) / 2))
    # points in ascending score: gap_j, u_j, ..., top
    k = u.size
    score = np.empty(2 * k + 1)
    score[0:2 * k:2], score[1:2 * k:2], score[-1] = gap_score, u64, u64[-1] + 1.0
    nneg = np.empty(2 * k + 1)
    nneg[0:2 * k:2], nneg[1:2 * k:2], nneg[-1] = gap, eq, top
    ppos = np.zeros(2 * k + 1)
    ppos[1:2 * k:2] = npos
    pro = np.zeros(2 * k + 1)
    pro[1:2 * k:2] = prow
    keep = (nneg > 0) | (ppos > 0)
    score, nneg, ppos, pro = score[keep], nneg[keep], ppos[keep], pro[keep]
    # scikit-learn on weighted points: label 1 with weight = positives, label 0 with weight = negatives
    hp, hn = ppos > 0, nneg > 0
    s = np.concatenate((score[hp], score[hn]))
    y = np.concatenate((np.ones(hp.sum()), np.zeros(hn.sum())))
    w = np.concatenate((ppos[hp], nneg[hn]))
    out = {"auroc": roc_auc_score(y, s, sample_weight=w), "ap": average_precision_score(y, s, sample_weight=w)}
    p, r, _ = precision_recall_curve(y, s, sample_weight=w)
    den = p + r
    out["f1_max"] = float(np.max(np.where(den > 0, 2 * p * r / np.where(den > 0, den, 1), 0)))
    # AUPRO: one curve point per distinct score, descending; official clipping and trapezoid
    fpr = np.clip(np.cumsum(nneg[::-1]) / neg_sorted.size, None, 1.0)
    pr = np.clip(np.cumsum(pro[::-1]) / regions, None, 1.0)
    x = np.concatenate(([0.0], fpr, [1.0]))
    yv = np.concatenate(([0.0], pr, [1.0]))
    out[f"aupro_{limit:g}"] = float(trapezoid(x, yv, limit) / limit)
    return out


def generate(root, pred, n_test, seed=0):
    rng = np.random.default_rng(seed)
    n_ng = n_test * 2 // 5
    n_ok = n_test - n_ng
    n_train = n_test // 2
    cat_dir = os.path.join(root, CAT)
    os.makedirs(os.path.join(root, "realiad_jsons"))
    os.makedirs(os.path.join(pred, CAT))
    img_src = os.path.join(root, "placeholder.jpg")
    Image.fromarray(np.full((SIZE, SIZE), 128, np.uint8)).save(img_src, quality=90)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    ts = 20230801120000
    train, test = [], []
    ref = Reference(n_test * 5 * SIZE * SIZE)
    view_scores, view_labels, sample_scores, sample_labels = [], [], [], []
    csv_rows = []
    made_dirs = set()

    def place(rel):
        d = os.path.dirname(os.path.join(cat_dir, rel))
        if d not in made_dirs:
            os.makedirs(d, exist_ok=True)
            os.makedirs(os.path.join(pred, CAT, os.path.dirname(rel)), exist_ok=True)
            made_dirs.add(d)
        os.link(img_src, os.path.join(cat_dir, rel))

    def rec(cls, image, mask):
        return {"category": CAT, "anomaly_class": cls, "image_path": image, "mask_path": mask}

    for k in range(1, n_train + 1):
        for v in range(1, 6):
            rel = f"OK/S{k:04d}/{CAT}_{k:04d}_OK_C{v}_{ts + 10 * k + 2 * v}.jpg"
            place(rel)
            train.append(rec("OK", rel, None))
    # test samples: OK and NG interleaved in the file (readers group by key), NG numbers per code
    kinds = ["OK"] * n_ok + ["NG"] * n_ng
    rng.shuffle(kinds)
    ok_no, ng_no = n_train, {c: 0 for c in CODES}
    vi = 0
    for kind in kinds:
        if kind == "OK":
            ok_no += 1
            code, num, folder, key = None, ok_no, "OK", f"{CAT}_{ok_no:04d}_OK"
            bad_views = set()
        else:
            code = CODES[int(rng.integers(len(CODES)))]
            ng_no[code] += 1
            num, folder, key = ng_no[code], f"NG/{code}", f"{CAT}_{ng_no[code]:04d}_NG_{code}"
            bad_views = set((rng.choice(5, size=int(rng.integers(1, 4)), replace=False) + 1).tolist())
        s_score, s_label = -np.inf, 0
        for v in range(1, 6):
            stem = f"{key}_C{v}_{ts + 10 * num + 2 * v}"
            rel = f"{folder}/S{num:04d}/{stem}.jpg"
            place(rel)
            m = rng.standard_normal((16, 16), dtype=np.float32) * np.float32(0.15)
            m = np.kron(m, np.ones((16, 16), np.float32))
            m += rng.standard_normal((SIZE, SIZE), dtype=np.float32) * np.float32(0.05)
            m += np.float32(0.2 + rng.normal(0, 0.05))
            if v in bad_views:
                while True:
                    soft = np.zeros((SIZE, SIZE), np.float32)
                    bump = np.zeros((SIZE, SIZE), np.float32)
                    for _ in range(1 if rng.random() < 0.8 else 2):
                        d = ellipse_dist(yy, xx, ellipse(rng, SIZE))
                        soft = np.maximum(soft, np.clip((1.25 - np.sqrt(d)) / 0.5, 0, 1))
                        bump = np.maximum(bump, np.float32(rng.uniform(0.1, 1.0)) * np.exp(-0.5 * d))
                    mask8 = np.round(soft * 255).astype(np.uint8)
                    gt = mask8 > 127
                    if gt.any():
                        break
                m += bump
                mrel = f"{folder}/S{num:04d}/{stem}.png"
                Image.fromarray(mask8).save(os.path.join(cat_dir, mrel), compress_level=1)
                test.append(rec(code, rel, mrel))
            else:
                gt = np.zeros((SIZE, SIZE), bool)
                if rng.random() < 0.15:  # a false positive
                    d = ellipse_dist(yy, xx, ellipse(rng, SIZE))
                    m += np.float32(rng.uniform(0.1, 0.6)) * np.exp(-0.5 * d).astype(np.float32)
                test.append(rec("OK", rel, None))
            m = m.astype(np.float32)
            np.save(os.path.join(pred, CAT, f"{folder}/S{num:04d}/{stem}.npy"), m)
            score = float(m.max()) + float(rng.normal(0, 0.05))
            csv_rows.append(f"{rel},{score!r}")
            ref.add(m, gt, vi)
            vi += 1
            view_scores.append(score)
            view_labels.append(int(gt.any()))
            s_score, s_label = max(s_score, score), max(s_label, int(gt.any()))
        sample_scores.append(s_score)
        sample_labels.append(s_label)
    # views of two samples interleaved in the split file, as in the release
    order = list(range(len(test)))
    for i in range(0, len(order) - 9, 10):
        order[i:i + 10] = [order[i + j // 2 + 5 * (j % 2)] for j in range(10)]
    split = {"meta": {"prefix": f"{CAT}/", "normal_class": "OK"}, "train": train, "test": [test[i] for i in order]}
    with open(os.path.join(root, "realiad_jsons", f"{CAT}.json"), "w") as f:
        json.dump(split, f)
    with open(os.path.join(pred, CAT, "scores.csv"), "w") as f:
        f.write("path,score\n" + "\n".join(csv_rows) + "\n")
    return ref, (np.array(sample_scores), np.array(sample_labels)), (np.array(view_scores), np.array(view_labels))


def level(result, name):
    return next(lv for lv in result["categories"][0]["levels"] if lv["level"] == name)


def main():
    root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(root_dir, "build", "apps", "adbench", "adbench"))
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--samples", type=int, default=1000, help="test samples (x 5 views)")
    ap.add_argument("--md", default=None)
    ap.add_argument("--tmp", default=None, help="parent of the temporary folder (default: $TMPDIR or /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated folder (for profiling); prints its path")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="adbench-bench-mv-", dir=args.tmp)
    try:
        data, pred = os.path.join(tmp, "data"), os.path.join(tmp, "pred")
        t0 = time.perf_counter()
        ref, (ss, sl), (vs, vl) = generate(data, pred, args.samples)
        gen_s = time.perf_counter() - t0
        print(f"generated {args.samples} samples, {vs.size} views in {gen_s:.0f} s", file=sys.stderr)
        walls, rss = [], []
        cmd = None
        load_before = os.getloadavg()[0]
        for r in range(args.runs):
            out = os.path.join(tmp, f"r{r}.json")
            cmd = [args.bin, "--quiet", "eval", "--pred", pred, "--dataset", "real_iad", "--root", data,
                   "--category", CAT, "--out", out]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t0)
            rss.append(json.load(open(out))["peak_rss_bytes"])
        load_after = os.getloadavg()[0]
        child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        result = json.load(open(os.path.join(tmp, "r0.json")))
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    t0 = time.perf_counter()
    checks = []  # (what, got, expected)
    for name, (s, y) in (("sample", (ss, sl)), ("view", (vs, vl))):
        got = level(result, name)["metrics"]
        checks.append((f"{name} auroc", got["auroc"], roc_auc_score(y, s)))
        checks.append((f"{name} ap", got["ap"], average_precision_score(y, s)))
    # The reduction itself, on the first CHECK_VIEWS views' raw pixels.
    raw_s, raw_y = np.concatenate(ref.raw_s), np.concatenate(ref.raw_y)
    sub_pos = raw_s[raw_y]  # in view order, as the weights below
    labeled_w = []
    for s_, y_ in zip(ref.raw_s, ref.raw_y):
        if y_.any():
            gt = y_.reshape(SIZE, SIZE)
            labeled, k = scipy.ndimage.label(gt, np.ones((3, 3), int))
            sizes = np.bincount(labeled.ravel())
            w = np.zeros(k + 1)
            w[1:] = 1.0 / sizes[1:]
            labeled_w.append((w[labeled.ravel()[y_]], k))
    sub_w = np.concatenate([w for w, _ in labeled_w])
    sub = reduced_metrics(np.sort(raw_s[~raw_y]), sub_pos, sub_w, sum(k for _, k in labeled_w))
    reduction_diff = max(abs(sub["auroc"] - roc_auc_score(raw_y, raw_s)),
                         abs(sub["ap"] - average_precision_score(raw_y, raw_s)))
    del raw_s, raw_y
    ref.raw_s, ref.raw_y = [], []
    neg = ref.neg[:ref.nn]
    neg.sort()
    full = reduced_metrics(neg, np.concatenate(ref.pos), np.concatenate(ref.pos_w), ref.regions)
    px = level(result, "pixel")
    for k, v in full.items():
        checks.append((f"pixel {k}", px["metrics"][k], v))
    ref_s = time.perf_counter() - t0
    worst = max(abs(g - e) for _, g, e in checks)
    for what, g, e in checks:
        print(f"{what:16s} adbench {g:.15f}  reference {e:.15f}  diff {abs(g - e):.1e}", file=sys.stderr)
    print(f"reduction check on {CHECK_VIEWS} views: {reduction_diff:.1e}; reference took {ref_s:.0f} s",
          file=sys.stderr)
    ok = worst <= TOL and reduction_diff <= 1e-12
    counts = px["counts"]
    shown = ("adbench --quiet eval --pred PRED --dataset real_iad --root DATA --category " + CAT +
             " --out R.json")
    npix = counts["units"]
    lines = [
        "# Multi-view evaluation at Real-IAD scale (`adbench eval --pred`, one category)",
        "",
        f"Command: `/usr/bin/python3 scripts/bench_multiview_eval.py --samples {args.samples} --runs {args.runs}`"
        " (after building `adbench`, Release).",
        "",
        f"- Data: one category in the Real-IAD layout, {args.samples} test samples x 5 views = {vs.size} view maps of "
        f"{SIZE}x{SIZE} float32 .npy ({npix / 1e6:.1f} M pixels, {npix * 4 / 2**30:.2f} GiB of maps), "
        f"{int(vl.sum())} anomalous views ({int(sl.sum())} anomalous samples) with PNG masks, "
        f"{counts['anomalous']} anomalous pixels ({100 * counts['anomalous'] / npix:.2f} %) in "
        f"{counts['regions']} regions; {args.samples // 2} train samples in the split file; scores.csv",
        f"- adbench: `{shown}`, {args.runs} run(s), fresh process each, files in the page cache (just written)",
        f"- Machine: {os.cpu_count()} CPU cores; 1-minute load average {load_before:.2f} before the runs, "
        f"{load_after:.2f} after (adbench itself adds up to ~1.5)",
        "",
        "| figure | measured |",
        "|---|---|",
        f"| wall, median (all: {', '.join(f'{w:.2f}' for w in walls)} s) | {statistics.median(walls):.2f} s |",
        f"| peak RSS (result's peak_rss_bytes, max over runs) | {max(rss) / 2**30:.2f} GiB |",
        f"| peak RSS (getrusage of the children) | {child_rss / 2**30:.2f} GiB |",
        f"| adbench's own timing of the category (run 1; infer = reading the maps, metrics = masks, accumulating, "
        f"sorting, sweeping) | {result['categories'][0]['seconds']['total']:.2f} s (infer "
        f"{result['categories'][0]['seconds']['infer']:.2f} s, metrics {result['categories'][0]['seconds']['metrics']:.2f} s) |",
        f"| largest difference to scikit-learn (S-/V-AUROC, AP; P-AUROC, AP, F1-max) and exact AUPRO@0.3 | "
        f"{worst:.1e} ({'OK' if ok else 'FAIL'}) |",
        f"| values | S-AUROC {level(result, 'sample')['metrics']['auroc']:.4f}, "
        f"V-AUROC {level(result, 'view')['metrics']['auroc']:.4f}, P-AUROC {px['metrics']['auroc']:.4f}, "
        f"P-AP {px['metrics']['ap']:.4f}, AUPRO@0.3 {px['metrics']['aupro_0.3']:.4f} |",
    ]
    print("\n".join(lines))
    if args.md:
        with open(args.md, "w") as f:
            f.write("\n".join(lines) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
