#!/usr/bin/python3
"""`adbench eval --pred` on an IPAD-sized scene: wall time and peak RSS (issue 9's benchmark).

    /usr/bin/python3 scripts/bench_video_eval.py [--bin build/apps/adbench/adbench] [--runs 3]
        [--videos 20] [--frames 600] [--mask-frames 2000] [--md results/bench/video_eval.md]

1. IPAD layout, scene S01: `--videos` test videos of `--frames` frames (default 20 x 600 = 12,000
   frames, IPAD's largest scenes hold about that many test frames), labels test_label/0VV.npy with
   two anomalous segments per video, and PRED/S01/test/<VV>.npy scores (noise + a bump on anomalous
   frames) plus one 224 x 288 float32 TIFF map per frame. Frame files are hard links of one JPEG and
   maps hard links of one TIFF: `eval --pred` on IPAD stats frames but never decodes them, and with
   no masks (IPAD has none) it never reads a map, which is what this measures.
2. The same protocol computed in Python (skip 4 frames, per-video min-max, scikit-learn AUROC) must
   match the result JSON's frame AUROC to 1e-9.
3. A `video_folder` scene with masks: `--mask-frames` distinct maps and masks (224 x 288), so the
   pixel level is computed: every map is read and every pixel ranked (exact AUROC / AUPRO).
"""
import argparse
import json
import os
import platform
import resource
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.metrics import roc_auc_score

root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(root_dir, "build", "apps", "adbench", "adbench"))
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--videos", type=int, default=20)
ap.add_argument("--frames", type=int, default=600)
ap.add_argument("--mask-frames", type=int, default=2000)
ap.add_argument("--md", default=os.path.join(root_dir, "results", "bench", "video_eval.md"))
a = ap.parse_args()
H, W = 224, 288
rng = np.random.default_rng(0)
JPEG = "/usr/share/doc/opencv-doc/examples/data/HappyFish.jpg"


def write_tiff(path, arr):
    """Minimal uncompressed single-strip float32 TIFF (little endian)."""
    arr = np.ascontiguousarray(arr, dtype="<f4")
    h, w = arr.shape
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 32), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, h), (279, 4, 1, arr.nbytes), (339, 3, 1, 3)]
    ifd_off = 8 + arr.nbytes
    with open(path, "wb") as f:
        f.write(b"II*\0" + struct.pack("<I", ifd_off))
        f.write(arr.tobytes())
        f.write(struct.pack("<H", len(entries)))
        for tag, typ, cnt, val in entries:
            f.write(struct.pack("<HHI", tag, typ, cnt))
            f.write(struct.pack("<HH", val, 0) if typ == 3 else struct.pack("<I", val))
        f.write(struct.pack("<I", 0))


def write_png_gray(path, img):
    import zlib
    h, w = img.shape
    raw = b"".join(b"\0" + img[r].astype(np.uint8).tobytes() for r in range(h))
    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def labels_for(n):
    y = np.zeros(n, np.uint8)
    for start in (n // 4, 2 * n // 3):
        y[start:start + max(2, n // 15)] = 1
    return y


def protocol_auroc(scores, labels, skip):
    s_all, y_all = [], []
    for s, y in zip(scores, labels):
        s, y = s[skip:], y[skip:]
        s_all.append((s - s.min()) / (s.max() - s.min()))
        y_all.append(y)
    return roc_auc_score(np.concatenate(y_all), np.concatenate(s_all))


def run(cmd):
    best = None
    times, rss = [], 0
    for _ in range(a.runs):
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.time() - t0)
        if p.returncode != 0:
            sys.exit("failed: " + " ".join(cmd) + "\n" + p.stderr)
        rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    return times, rss


tmp = tempfile.mkdtemp(prefix="adbench_video_bench_")
# ---- 1. IPAD-sized scene, scores only read ----
scene = os.path.join(tmp, "ipad", "S01")
pred = os.path.join(tmp, "pred", "S01", "test")
os.makedirs(os.path.join(scene, "training", "frames", "01"))
for i in range(8):
    os.link(JPEG, os.path.join(scene, "training", "frames", "01", f"{i}.jpg"))
os.makedirs(os.path.join(scene, "test_label"))
os.makedirs(pred)
one_map = os.path.join(tmp, "one_map.tiff")
write_tiff(one_map, rng.random((H, W), dtype=np.float32))
all_scores, all_labels = [], []
for v in range(1, a.videos + 1):
    d = os.path.join(scene, "testing", "frames", f"{v:02d}")
    os.makedirs(d)
    md = os.path.join(pred, f"{v:02d}")
    os.makedirs(md)
    for i in range(a.frames):
        os.link(JPEG, os.path.join(d, f"{i}.jpg"))
        os.link(one_map, os.path.join(md, f"{i:04d}.tiff"))
    y = labels_for(a.frames)
    np.save(os.path.join(scene, "test_label", f"{v:03d}.npy"), y)
    s = rng.normal(0, 1, a.frames) + 1.5 * y
    s[:4] = np.nan
    np.save(os.path.join(pred, f"{v:02d}.npy"), s.astype(np.float32))
    all_scores.append(s.astype(np.float32).astype(np.float64))
    all_labels.append(y)
out_json = os.path.join(tmp, "r.json")
cmd = [a.bin, "--quiet", "eval", "--pred", os.path.join(tmp, "pred"), "--dataset", "ipad", "--root",
       os.path.join(tmp, "ipad"), "--category", "S01", "--skip-frames", "4", "--out", out_json, "--force"]
t_ipad, rss_ipad = run(cmd)
res = json.load(open(out_json))
frame = [l for l in res["categories"][0]["levels"] if l["level"] == "frame"][0]
ref = protocol_auroc(all_scores, all_labels, 4)
got = frame["metrics"]["auroc"]
assert abs(got - ref) < 1e-9, (got, ref)
print(f"ipad scene: {a.videos * a.frames} frames, wall {min(t_ipad):.2f} s, peak RSS {rss_ipad / 2**20:.0f} MiB, "
      f"AUROC {got:.6f} (sklearn {ref:.6f})", flush=True)

# ---- 2. video_folder scene with masks: maps read, pixel level ----
vf = os.path.join(tmp, "vf", "line")
pred2 = os.path.join(tmp, "pred2", "line", "test")
n_videos = max(1, a.mask_frames // 500)
per = a.mask_frames // n_videos
os.makedirs(os.path.join(vf, "train", "t1"))
write_png_gray(os.path.join(vf, "train", "t1", "0000.png"), np.zeros((H, W), np.uint8))
os.makedirs(os.path.join(vf, "test_labels"))
for v in range(n_videos):
    name = f"v{v}"
    fd = os.path.join(vf, "test", name)
    os.makedirs(fd)
    gray = os.path.join(tmp, "gray.png")
    if not os.path.exists(gray):
        write_png_gray(gray, np.full((H, W), 128, np.uint8))
    y = labels_for(per)
    np.save(os.path.join(vf, "test_labels", name + ".npy"), y)
    mdir = os.path.join(vf, "test_masks", name)
    os.makedirs(mdir)
    os.makedirs(os.path.join(pred2, name))
    s = rng.normal(0, 1, per) + 1.5 * y
    np.save(os.path.join(pred2, name + ".npy"), s.astype(np.float32))
    for i in range(per):
        os.link(gray, os.path.join(fd, f"{i:04d}.png"))
        m = rng.random((H, W), dtype=np.float32)
        if y[i]:
            r0, c0 = rng.integers(0, H - 40), rng.integers(0, W - 40)
            mask = np.zeros((H, W), np.uint8)
            mask[r0:r0 + 40, c0:c0 + 40] = 255
            m[r0:r0 + 40, c0:c0 + 40] += 0.5
            write_png_gray(os.path.join(mdir, f"{i:04d}.png"), mask)
        write_tiff(os.path.join(pred2, name, f"{i:04d}.tiff"), m)
cmd2 = [a.bin, "--quiet", "eval", "--pred", os.path.join(tmp, "pred2"), "--dataset", "video_folder", "--root",
        os.path.join(tmp, "vf"), "--category", "line", "--out", out_json, "--force"]
t_mask, rss_mask = run(cmd2)
res2 = json.load(open(out_json))
pix = [l for l in res2["categories"][0]["levels"] if l["level"] == "pixel"]
print(f"video_folder with masks: {n_videos * per} frames, wall {min(t_mask):.2f} s, peak RSS {rss_mask / 2**20:.0f} MiB, "
      f"pixel AUROC {pix[0]['metrics']['auroc'] if pix else None}", flush=True)

cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
os.makedirs(os.path.dirname(a.md), exist_ok=True)
with open(a.md, "w") as f:
    f.write("# `adbench eval --pred` on videos (issue 9)\n\n")
    f.write(f"Machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}; command: "
            f"`/usr/bin/python3 scripts/bench_video_eval.py --runs {a.runs} --videos {a.videos} --frames {a.frames} "
            f"--mask-frames {a.mask_frames}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).\n"
            "Peak RSS is the largest of the runs (getrusage of the children).\n\n")
    f.write("| case | frames | maps read | wall s (min of runs) | all runs | peak RSS MiB | check |\n|---|---:|---|---:|---|---:|---|\n")
    f.write(f"| IPAD scene S01, scores + maps present, no masks | {a.videos * a.frames} | no (no masks) | "
            f"{min(t_ipad):.2f} | {', '.join(f'{t:.2f}' for t in t_ipad)} | {rss_ipad / 2**20:.0f} | "
            f"frame AUROC {got:.6f} = sklearn {ref:.6f} |\n")
    f.write(f"| video_folder scene with masks, pixel level | {n_videos * per} | yes, {H}x{W} | {min(t_mask):.2f} | "
            f"{', '.join(f'{t:.2f}' for t in t_mask)} | {rss_mask / 2**20:.0f} | pixel AUROC "
            f"{pix[0]['metrics']['auroc'] if pix else 'n/a'} |\n")
print("wrote", a.md)
