#!/usr/bin/env python3
"""Greedy k-center coreset: the fast method against the plain loop (issue 11, item 4).

Builds the driver (target adbench_bench_coreset) and runs, each in a fresh process:
  1. bottle-sized bank: PatchCore's mobilenet_v2 patches (shipped weights, 224 px, features.6 + .13)
     of the first 209 magnetic-tile training images = 163,856 x 128 (the size of MVTec AD bottle's
     bank), 10 % coreset, fast and plain, and whether both select the same rows;
  2. 1,000,000 x 128 at 1 % (seeded Gaussian mixture), fast (plain too with --plain-large);
  3. 1,000,000 x 1536 (WRN50-sized features) projected to 128, 1 %, fast: peak RSS.
Writes results/bench/coreset.md.

Usage: scripts/bench_coreset.py [--build-dir build] [--threads 2] [--images DIR] [--plain-large]
                                [--skip-1536] [--device cpu|cuda] [--out results/bench/coreset.md]
(--device cuda: the coreset runs on the GPU with torch arithmetic; "same rows" then compares two
GPU runs of the plain loop, since both methods are that loop on CUDA.)
"""
import argparse, json, os, platform, subprocess, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", default=os.environ.get("ADBENCH_BUILD_DIR", "build"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--images", default=os.path.join(root, "..", "shared", "data", "magnetic_tile", "tile", "train", "good"))
ap.add_argument("--plain-large", action="store_true", help="also run the plain loop on 1 M x 128 (about 10 min)")
ap.add_argument("--skip-1536", action="store_true", help="skip the 1 M x 1536 memory case (needs ~8 GB)")
ap.add_argument("--device", default="cpu")
ap.add_argument("--out", default=os.path.join(root, "results", "bench", "coreset.md"))
a = ap.parse_args()
build = os.path.join(root, a.build_dir) if not os.path.isabs(a.build_dir) else a.build_dir
subprocess.run(["cmake", "--build", build, "--target", "adbench_bench_coreset"], check=True)
exe = os.path.join(build, "lib", "detectors", "adbench_bench_coreset")
env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")


def run(*args):
    t0 = time.time()
    out = subprocess.run([exe, *map(str, args)], check=True, env=env, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    r["wall"] = time.time() - t0
    print(json.dumps(r), flush=True)
    return r


tmp = tempfile.mkdtemp(prefix="adbench-coreset-")
bank = os.path.join(tmp, "bank.npy")
ext = run("extract", a.images, 209, bank)
rows = [("bottle-sized: 209 magnetic-tile images, mobilenet_v2", run("run", bank, 0.1, "both", 128, 0, a.threads, a.device))]
rows.append(("Gaussian mixture", run("run", "random:1000000:128", 0.01, "both" if a.plain_large else "fast", 128, 0,
                                     a.threads, a.device)))
if not a.skip_1536:
    rows.append(("Gaussian mixture, WRN50-sized", run("run", "random:1000000:1536", 0.01, "fast", 128, 0, a.threads, a.device)))
os.remove(bank)
os.rmdir(tmp)

cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
gib = 1024 ** 3
with open(a.out, "w") as f:
    f.write("# Greedy k-center coreset: fast method vs the plain loop\n\n")
    f.write(f"Machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}; ATen threads {a.threads}; "
            f"device {a.device}.\n")
    f.write("Command: `/usr/bin/python3 scripts/bench_coreset.py` (writes this file; each row is one process).\n")
    f.write("Seed 0, Generator seeding (PatchCore's), projection to 128 dims where the bank is wider.\n\n")
    f.write("| bank | rows x dims | coreset | fast s | plain s | speed-up | same rows | bank GiB | peak RSS GiB |\n")
    f.write("|---|---:|---:|---:|---:|---:|---|---:|---:|\n")
    for name, r in rows:
        fast, plain = r.get("fast_seconds"), r.get("plain_seconds")
        f.write(f"| {name} | {r['rows']:,} x {r['dims']} | {r['coreset']:,} | {fast:.2f} | "
                + (f"{plain:.2f} | {plain / fast:.1f}x | " if plain else "- | - | ")
                + ("yes" if r.get("identical") else ("-" if "identical" not in r else "**no**"))
                + f" | {r['bank_bytes'] / gib:.2f} | {r['peak_rss_bytes'] / gib:.2f} |\n")
    f.write(f"\nBank extraction (not in the times above): {ext['images']} images -> {ext['rows']:,} x {ext['dims']}.\n")
print("wrote", a.out)
