#!/usr/bin/env bash
# CPU images/s of the CLIP ViT-B-16-plus-240 image encoder (random weights: speed does not depend on
# them) at 240x240; writes results/bench/zeroshot.md. Runs test_clip's hidden [clip_bench] case.
#   scripts/bench_clip.sh [BUILD_DIR]      (env: BATCH=8 ITERS=3 THREADS="1 2")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
batch=${BATCH:-8}
iters=${ITERS:-3}
threads=${THREADS:-"1 $(nproc)"}
ninja -C "$build" test_clip >/dev/null
out=$root/results/bench/zeroshot.md
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=""
for t in $threads; do
  line=$(ADBENCH_CLIP_BENCH_THREADS=$t ADBENCH_CLIP_BENCH_BATCH=$batch ADBENCH_CLIP_BENCH_ITERS=$iters \
    "$build/tests/backbones/test_clip" "[clip_bench]" | grep '^clip_bench')
  echo "$line"
  ips=$(sed -E 's/.*: ([0-9.e+-]+) images\/s.*/\1/' <<<"$line")
  ms=$(sed -E 's/.*\(([0-9.e+-]+) ms\/image\).*/\1/' <<<"$line")
  rows+="| openclip_vit_b_16_plus_240 image encoder | 240x240 | $batch | $t | $(printf %.2f "$ips") | $(printf %.0f "$ms") |"$'\n'
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cat >"$out" <<MD
# Zero-shot CLIP encoders: CPU speed

Machine: $cpu, $(nproc) CPUs, $(uname -sr); device cpu; LibTorch (Debian 12).
Command: \`scripts/bench_clip.sh\` (writes this file; the hidden \`[clip_bench]\` case of test_clip:
random weights, one warm-up pass, then $iters timed passes of a batch of $batch, no gradients, float32).

| model | input | batch | ATen threads | images/s | ms/image |
|---|---|---:|---:|---:|---:|
$rows
Load average before / after (1, 5, 15 min): $load_before / $load_after.
MD
echo "bench_clip: wrote $out" >&2
