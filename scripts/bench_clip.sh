#!/usr/bin/env bash
# CPU images/s of the CLIP ViT-B-16-plus-240 image encoder and of the whole winclip detector (random
# weights: speed does not depend on them) at 240x240; writes results/bench/zeroshot.md. Runs the hidden
# [clip_bench] case of test_clip and [winclip_bench] of test_zeroshot.
#   scripts/bench_clip.sh [BUILD_DIR]      (env: BATCH=8 ITERS=3 THREADS="1 2" WINCLIP_IMAGES=4)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
batch=${BATCH:-8}
iters=${ITERS:-3}
threads=${THREADS:-"1 $(nproc)"}
ninja -C "$build" test_clip test_zeroshot adbench >/dev/null
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
wrows=""
for t in $threads; do
  line=$(ADBENCH_CLIP_BENCH_THREADS=$t ADBENCH_WINCLIP_BENCH_IMAGES=${WINCLIP_IMAGES:-4} \
    "$build/tests/cli/test_zeroshot" "[winclip_bench]" | grep '^winclip_bench')
  echo "$line"
  ips=$(sed -E 's/.*: ([0-9.e+-]+) images\/s.*/\1/' <<<"$line")
  ms=$(sed -E 's/.*\(([0-9.e+-]+) ms\/image.*/\1/' <<<"$line")
  fit=$(sed -E 's/.*prompts ([0-9.e+-]+) s\).*/\1/' <<<"$line")
  wrows+="| winclip zero-shot (image + 365 windows, maps) | 240x240 | ${WINCLIP_IMAGES:-4} | $t | $(printf %.3f "$ips") | $(printf %.0f "$ms") | $(printf %.1f "$fit") |"$'\n'
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
The whole \`winclip\` detector (hidden \`[winclip_bench]\` case of test_zeroshot): random
ViT-B-16-plus-240 weights written to a safetensors file; fit = loading them and encoding the 231
prompts; then one warm-up image and one timed batch of images (decode, resize, the image pass and the
196 + 169 window passes, aggregation, maps at the image size).

| detector | input | images | ATen threads | images/s | ms/image | fit s |
|---|---|---:|---:|---:|---:|---:|
$wrows
Load average before / after (1, 5, 15 min): $load_before / $load_after.
MD
echo "bench_clip: wrote $out" >&2
