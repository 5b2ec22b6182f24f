#!/usr/bin/env bash
# CPU images/s of the whole anomalyclip detector (OpenAI ViT-L/14@336px at 518x518 with DPAM in blocks
# 6-24; random weights: speed does not depend on them); writes results/bench/anomalyclip.md. Runs the
# hidden [anomalyclip_bench] case of test_zeroshot, one image per batch as the official test.
#   scripts/bench_anomalyclip.sh [BUILD_DIR]      (env: IMAGES=2 THREADS="1 2")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
images=${IMAGES:-2}
threads=${THREADS:-"1 $(nproc)"}
ninja -C "$build" test_zeroshot >/dev/null
out=$root/results/bench/anomalyclip.md
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=""
for t in $threads; do
  line=$(ADBENCH_CLIP_BENCH_THREADS=$t ADBENCH_ANOMALYCLIP_BENCH_IMAGES=$images \
    "$build/tests/cli/test_zeroshot" "[anomalyclip_bench]" | grep '^anomalyclip_bench')
  echo "$line"
  ips=$(sed -E 's/.*: ([0-9.e+-]+) images\/s.*/\1/' <<<"$line")
  ms=$(sed -E 's/.*\(([0-9.e+-]+) ms\/image with maps.*/\1/' <<<"$line")
  ms0=$(sed -E 's/.*; ([0-9.e+-]+) ms\/image scores only.*/\1/' <<<"$line")
  fit=$(sed -E 's/.*fit ([0-9.e+-]+) s\).*/\1/' <<<"$line")
  rows+="| anomalyclip (DPAM 6-24, maps, sigma 4) | 518x518 | $images | $t | $(printf %.3f "$ips") | $(printf %.0f "$ms") | $(printf %.0f "$ms0") | $(printf %.1f "$fit") |"$'\n'
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cat >"$out" <<MD
# anomalyclip: CPU speed

Machine: $cpu, $(nproc) CPUs, $(uname -sr); device cpu; LibTorch (Debian 12).
Command: \`scripts/bench_anomalyclip.sh\` (writes this file; the hidden \`[anomalyclip_bench]\` case of
test_zeroshot): random OpenAI ViT-L/14@336px weights and random prompts in the converter's layout
written to safetensors files; fit = loading them and encoding the two prompts; then one warm-up image
and the timed images one at a time (decode, resize to 518, the vision pass with the DPAM path, maps at
the image size with Gaussian sigma 4), and the same images again with scores only (no DPAM path).

| detector | input | images | ATen threads | images/s | ms/image (maps) | ms/image (scores only) | fit s |
|---|---|---:|---:|---:|---:|---:|---:|
$rows
Load average before / after (1, 5, 15 min): $load_before / $load_after.
MD
echo "bench_anomalyclip: wrote $out" >&2
