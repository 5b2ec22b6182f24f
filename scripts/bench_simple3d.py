#!/usr/bin/env python3
"""Simple3D fit and score time and peak RSS on synthetic clouds of 100k, 500k and 1M points.

Builds the driver (target adbench_bench_simple3d), runs it once per size in a fresh process (so the
peak RSS is that size's), and writes results/bench/simple3d.md: points per second for fit (over the
training clouds) and score (one test cloud), stage timings of one description, peak RSS, and the
growth exponent b of time ~ N^b between successive sizes.

Usage: scripts/bench_simple3d.py [--build-dir build] [--sizes 100000 500000 1000000] [--train 2]
                                 [--threads 0] [--out results/bench/simple3d.md]
"""
import argparse, json, math, os, platform, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", default=os.environ.get("ADBENCH_BUILD_DIR", "build"))
ap.add_argument("--sizes", type=int, nargs="+", default=[100000, 500000, 1000000])
ap.add_argument("--train", type=int, default=2)
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--config", default="{}", help="Simple3D overrides as JSON (default: the paper's settings)")
ap.add_argument("--out", default=os.path.join(root, "results", "bench", "simple3d.md"))
a = ap.parse_args()
build = os.path.join(root, a.build_dir) if not os.path.isabs(a.build_dir) else a.build_dir
subprocess.run(["cmake", "--build", build, "--target", "adbench_bench_simple3d"], check=True)
exe = os.path.join(build, "lib", "detectors", "adbench_bench_simple3d")
env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
rows = []
for n in a.sizes:
    t0 = time.time()
    out = subprocess.run([exe, str(n), str(a.train), str(a.threads), a.config], check=True, env=env,
                         capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    r["wall"] = time.time() - t0
    rows.append(r)
    print(json.dumps(r), flush=True)

cpu = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
lines = ["# Simple3D on the CPU: fit and score time, peak RSS", "",
         f"Machine: {cpu}, {os.cpu_count()} cores, threads {rows[0]['threads']}; synthetic 'plate' clouds "
         f"(adbench's generator, a shallow bowl with a dent in the test cloud); fit on {a.train} clouds, score 1.",
         f"Settings: the paper's (`configs/simple3d.json`){'' if a.config == '{}' else ' with ' + a.config}. "
         "Command: `scripts/bench_simple3d.py`.", "",
         "| points | fit s | fit points/s | score s | score points/s | FPFH 3 scales s | FPS 4096 s | k-d tree + groups s | peak RSS MiB |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for r in rows:
    st = r["stage_seconds"]
    lines.append(f"| {r['points']:,} | {r['fit_seconds']:.1f} | {r['fit_points_per_second']:,.0f} | {r['score_seconds']:.1f} | "
                 f"{r['score_points_per_second']:,.0f} | {st['fpfh_3_scales']:.1f} | {st['fps_4096']:.2f} | "
                 f"{st['kdtree_build_and_group_knn']:.2f} | {r['peak_rss_bytes'] / 2**20:,.0f} |")
lines += ["", "Growth of the score time, time ~ N^b between successive sizes:", ""]
for p, q in zip(rows, rows[1:]):
    b = math.log(q["score_seconds"] / p["score_seconds"]) / math.log(q["points"] / p["points"])
    m = math.log(q["peak_rss_bytes"] / p["peak_rss_bytes"]) / math.log(q["points"] / p["points"])
    lines.append(f"- {p['points']:,} -> {q['points']:,}: time exponent b = {b:.2f}, peak-RSS exponent {m:.2f}")
os.makedirs(os.path.dirname(a.out), exist_ok=True)
open(a.out, "w").write("\n".join(lines) + "\n")
print("wrote", a.out)
