#!/usr/bin/env python3
"""PatchCore inference throughput on the magnetic-tile test set (issue 11, item 5).

Trains PatchCore once (shipped mobilenet_v2, 224 px, features.6 + .13, coreset_ratio 0.01 unless
--coreset-ratio), then runs `adbench infer` on the 630 test images --runs times with adbench's
runtime settings (OMP_WAIT_POLICY=PASSIVE and its GLIBC_TUNABLES malloc settings, see
apps/adbench/main.cpp) and once with glibc's malloc defaults (GLIBC_TUNABLES set to "", which
adbench leaves alone), each under /usr/bin/time -v. Reports wall seconds, images/s, adbench's own
infer_seconds and per-stage seconds (prediction.json "stage_seconds": decode, resize, backbone,
embed, knn, smooth, write), peak RSS and minor page faults. Writes results/bench/patchcore_infer.md.

Usage: scripts/bench_patchcore_infer.py [--build-dir build] [--data ../shared/data/magnetic_tile]
                                        [--coreset-ratio 0.01] [--runs 2] [--out FILE]
"""
import argparse, json, os, re, shutil, subprocess, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", default=os.environ.get("ADBENCH_BUILD_DIR", "build"))
ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "magnetic_tile"))
ap.add_argument("--coreset-ratio", default="0.01")
ap.add_argument("--runs", type=int, default=2)
ap.add_argument("--out", default=os.path.join(root, "results", "bench", "patchcore_infer.md"))
a = ap.parse_args()
build = a.build_dir if os.path.isabs(a.build_dir) else os.path.join(root, a.build_dir)
subprocess.run(["cmake", "--build", build, "--target", "adbench"], check=True)
exe = os.path.join(build, "apps", "adbench", "adbench")
if not os.path.isdir(os.path.join(a.data, "tile")):
    raise SystemExit(f"bench_patchcore_infer: no magnetic-tile data at {a.data}")


def timed(args, env):
    r = subprocess.run(["/usr/bin/time", "-v", exe, "--quiet", *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-2000:])
    t = r.stderr
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
    secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    minflt = int(re.search(r"Minor \(reclaiming a frame\) page faults: (\d+)", t).group(1))
    return secs, rss, minflt


tmp = tempfile.mkdtemp(prefix="adbench-pcinfer-")
try:
    base = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "OMP_WAIT_POLICY")}
    run = os.path.join(tmp, "run")
    train_s, train_rss, _ = timed(["train", "--dataset", "mvtec_ad", "--root", a.data, "--category", "tile",
                                   "--detector", "patchcore", "--set", f"coreset_ratio={a.coreset_ratio}",
                                   "--out", run], base)
    print(f"train: {train_s:.1f} s", flush=True)
    rows = []
    plans = [("adbench defaults", base)] * a.runs + [("glibc malloc defaults", dict(base, GLIBC_TUNABLES=""))]
    for label, env in plans:
        pred = os.path.join(tmp, "pred")
        shutil.rmtree(pred, ignore_errors=True)
        wall, rss, minflt = timed(["infer", "--run", run, "--out", pred], env)
        info = json.load(open(os.path.join(pred, "tile", "prediction.json")))
        n = info["count"]
        rows.append((label, wall, n, info["infer_seconds"], info.get("stage_seconds", {}), rss, minflt))
        print(f"{label}: {wall:.1f} s wall, {n / wall:.1f} images/s, {minflt} minor faults", flush=True)
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    stages = ["decode", "resize", "backbone", "embed", "knn", "smooth", "write"]
    out = [
        "# PatchCore inference throughput, magnetic-tile test set",
        "",
        f"Command: `scripts/bench_patchcore_infer.py --coreset-ratio {a.coreset_ratio} --runs {a.runs}` at commit "
        f"{commit}; {cpu}, {os.cpu_count()} cores, CPU only.",
        f"Model: `adbench train --detector patchcore --set coreset_ratio={a.coreset_ratio}` on the 714 training "
        f"images (shipped mobilenet_v2, 224 px, features.6 + .13): {train_s:.1f} s wall, peak RSS "
        f"{train_rss / 1e6:.2f} GB.",
        "Each row is one `adbench infer` process over the 630 test images (100-500 px grayscale JPEGs): wall "
        "time under /usr/bin/time (process start, model load and all), adbench's own infer_seconds, and the "
        "stages it timed (seconds; prediction.json `stage_seconds`).",
        "",
        "| malloc | wall s | images/s (wall) | infer_seconds | images/s (infer) | "
        + " | ".join(stages) + " | peak RSS GB | minor faults |",
        "|---|" + "---|" * (6 + len(stages)),
    ]
    for label, wall, n, inf, st, rss, minflt in rows:
        out.append(f"| {label} | {wall:.2f} | {n / wall:.1f} | {inf:.2f} | {n / inf:.1f} | "
                   + " | ".join(f"{st.get(s, 0):.2f}" for s in stages)
                   + f" | {rss / 1e6:.2f} | {minflt:,} |")
    out += [
        "",
        "decode: JPEG reading; resize: to 224 px, to a tensor, normalised; backbone: mobilenet_v2 up to "
        "features.13; embed: 3x3 pooling and concatenation; knn: nearest bank patch of each of the 784 "
        "patches per image plus the image score's re-weighting; smooth: upsampling, Gaussian sigma 4 and "
        "resizing to the image's own size; write: the float32 TIFF maps.",
        "",
    ]
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write("\n".join(out))
    print("wrote", a.out)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
