#!/usr/bin/python3
"""Training and inference frames/s of the video detectors at 224 x 288 (issue 9's benchmark).

    /usr/bin/python3 scripts/bench_video_detectors.py [--bin build/apps/adbench/adbench]
        [--detectors ffp infp] [--iterations 20] [--frames 24] [--md results/bench/video.md]

Data: `adbench synth --kind video` (64 x 64 frames, resized by the detectors to 224 x 288), copied
into a `video_folder` scene with one training video and one test video of `--frames` frames.
Per detector, at its default (full) widths and --height x --width (default 224 x 288, the issue's size):
  train: `adbench train ... --set iterations=N` -> predicted frames/s = N x batch / train_seconds
         (run.json; includes reading and resizing the frames, as a user would see it);
  infer: `adbench infer --run RUN` -> scored frames/s = (frames - t) / infer_seconds (prediction.json).
The machine, LibTorch version, thread count and device are written with the figures.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(root_dir, "build", "apps", "adbench", "adbench"))
ap.add_argument("--detectors", nargs="+", default=["ffp", "infp"])
ap.add_argument("--iterations", type=int, default=20)
ap.add_argument("--frames", type=int, default=24)
ap.add_argument("--device", default="cpu")
ap.add_argument("--height", type=int, default=224, help="network input height for every detector (0: its default)")
ap.add_argument("--width", type=int, default=288, help="network input width for every detector (0: its default)")
ap.add_argument("--md", default=os.path.join(root_dir, "results", "bench", "video.md"))
a = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="adbench_video_det_")
subprocess.run([a.bin, "--quiet", "synth", "--kind", "video", "--out", os.path.join(tmp, "syn")], check=True,
               stdout=subprocess.DEVNULL)
scene = os.path.join(tmp, "vf", "line")
for split, src in (("train", "training/frames/01"), ("test", "testing/frames/01")):
    d = os.path.join(scene, split, "v1")
    os.makedirs(d)
    for i in range(a.frames):
        shutil.copy(os.path.join(tmp, "syn", "S01", src, f"{i}.png"), os.path.join(d, f"{i:04d}.png"))
os.makedirs(os.path.join(scene, "test_labels"))
y = np.zeros(a.frames, np.uint8)
y[a.frames // 2:] = 1
np.save(os.path.join(scene, "test_labels", "v1.npy"), y)

version = subprocess.run([a.bin, "--version"], capture_output=True, text=True).stdout.strip()
size_sets = []
if a.height:
    size_sets += ["--set", f"height={a.height}"]
if a.width:
    size_sets += ["--set", f"width={a.width}"]
rows = []
for det in a.detectors:
    run = os.path.join(tmp, "run_" + det)
    t0 = time.time()
    subprocess.run([a.bin, "--quiet", "--device", a.device, "train", "--detector", det, "--dataset", "video_folder",
                    "--root", os.path.join(tmp, "vf"), "--category", "line", "--out", run,
                    "--set", f"iterations={a.iterations}", "--set", "epochs=0"] + size_sets, check=True)
    info = json.load(open(os.path.join(run, "run.json")))
    cfg = info["config"]
    train_s = info["train_seconds"]
    pred = os.path.join(tmp, "pred_" + det)
    subprocess.run([a.bin, "--quiet", "--device", a.device, "infer", "--run", run, "--out", pred], check=True)
    pinfo = json.load(open(os.path.join(pred, "line", "prediction.json")))
    scored = a.frames - cfg["frames"]
    row = dict(detector=det, height=cfg["height"], width=cfg["width"], batch=cfg["batch"],
               iterations=a.iterations, train_s=train_s, train_fps=a.iterations * cfg["batch"] / train_s,
               infer_s=pinfo["infer_seconds"], infer_fps=scored / pinfo["infer_seconds"],
               wall=time.time() - t0)
    rows.append(row)
    print(json.dumps(row), flush=True)

cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
os.makedirs(os.path.dirname(a.md), exist_ok=True)
new = not os.path.exists(a.md)
with open(a.md, "a") as f:
    if new:
        f.write("# Video detectors: training and inference speed (issue 9)\n\n"
                "Written by `scripts/bench_video_detectors.py` (appends one section per run).\n")
    f.write(f"\n## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {a.device}, {cpu}, {os.cpu_count()} cores\n\n"
            f"`{version.splitlines()[0] if version else 'adbench'}`; {platform.platform()}; command: "
            f"`/usr/bin/python3 scripts/bench_video_detectors.py --device {a.device} --iterations {a.iterations} "
            f"--frames {a.frames} --height {a.height} --width {a.width} --detectors {' '.join(a.detectors)}`.\n\n"
            "| detector | input | batch | train iterations | train s | train frames/s | infer frames/s |\n"
            "|---|---|---:|---:|---:|---:|---:|\n")
    for r in rows:
        f.write(f"| {r['detector']} | {r['height']}x{r['width']} | {r['batch']} | {r['iterations']} | "
                f"{r['train_s']:.1f} | {r['train_fps']:.2f} | {r['infer_fps']:.2f} |\n")
print("wrote", a.md)
