#!/usr/bin/python3
"""Training and inference samples/s of mvad (issue 10's throughput benchmark).

    /usr/bin/python3 scripts/bench_mvad.py [--bin build/apps/adbench/adbench] [--epochs 1]
        [--backbone resnet34] [--weights none] [--size 256] [--device cpu] [--md results/bench/mvad.md]

Data: `adbench synth --kind multiview` (category crate: 24 training and 24 test samples of 5 views,
128 x 128, resized by mvad to --size). Throughput does not depend on the weights, so the default is
the backbone's random initialisation (`--backbone-weights none`).
  train: `adbench train --detector mvad --epochs N` -> samples/s = N x 24 / train_seconds (run.json;
         includes reading and resizing the views once);
  infer: `adbench infer --run RUN` -> samples/s = 24 / infer_seconds (prediction.json; reading,
         encoder, MVAS, decoder, maps at the views' size).
The machine, adbench version, device and settings are written with the figures.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time

root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(root_dir, "build", "apps", "adbench", "adbench"))
ap.add_argument("--epochs", type=int, default=1)
ap.add_argument("--backbone", default="resnet34")
ap.add_argument("--weights", default="none")
ap.add_argument("--size", type=int, default=256)
ap.add_argument("--device", default="cpu")
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--md", default=os.path.join(root_dir, "results", "bench", "mvad.md"))
a = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="adbench_mvad_")
try:
    data = os.path.join(tmp, "mv")
    subprocess.run([a.bin, "--quiet", "synth", "--kind", "multiview", "--out", data], check=True,
                   stdout=subprocess.DEVNULL)
    common = [a.bin, "--quiet", "--device", a.device] + (["--threads", str(a.threads)] if a.threads else [])
    run = os.path.join(tmp, "run")
    subprocess.run(common + ["train", "--detector", "mvad", "--dataset", "real_iad", "--root", data,
                             "--category", "crate", "--backbone", a.backbone, "--backbone-weights", a.weights,
                             "--set", f"image_size={a.size}", "--epochs", str(a.epochs), "--out", run], check=True)
    info = json.load(open(os.path.join(run, "run.json")))
    n_train = info["train_count"]
    train_s = info["train_seconds"]
    pred = os.path.join(tmp, "pred")
    subprocess.run(common + ["infer", "--run", run, "--out", pred], check=True)
    pinfo = json.load(open(os.path.join(pred, "crate", "prediction.json")))
    n_test = 24
    row = dict(backbone=a.backbone, size=a.size, epochs=a.epochs, train_samples=n_train, train_s=train_s,
               train_sps=a.epochs * n_train / train_s, infer_s=pinfo["infer_seconds"],
               infer_sps=n_test / pinfo["infer_seconds"])
    print(json.dumps(row), flush=True)
finally:
    shutil.rmtree(tmp, ignore_errors=True)

cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
version = subprocess.run([a.bin, "--version"], capture_output=True, text=True).stdout.strip()
os.makedirs(os.path.dirname(a.md), exist_ok=True)
new = not os.path.exists(a.md)
with open(a.md, "a") as f:
    if new:
        f.write("# mvad: throughput and the synthetic gate (issue 10)\n\n"
                "Throughput sections are written by `scripts/bench_mvad.py` (appends one section per run).\n")
    f.write(f"\n## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {a.device}, {cpu}, {os.cpu_count()} cores\n\n"
            f"`{version.splitlines()[0] if version else 'adbench'}`; {platform.platform()}; command: "
            f"`/usr/bin/python3 scripts/bench_mvad.py --device {a.device} --epochs {a.epochs} --backbone {a.backbone} "
            f"--weights {a.weights} --size {a.size}" + (f" --threads {a.threads}" if a.threads else "") + "`.\n\n"
            "| backbone | input | train samples | epochs | train s | train samples/s | infer samples/s |\n"
            "|---|---|---:|---:|---:|---:|---:|\n"
            f"| {row['backbone']} | {row['size']}² | {row['train_samples']} | {row['epochs']} | {row['train_s']:.1f} | "
            f"{row['train_sps']:.3f} | {row['infer_sps']:.3f} |\n")
print("wrote", a.md)
