#!/usr/bin/env bash
# Benchmarks the four feature-based image detectors on the magnetic-tile data with the shared
# ImageNet MobileNetV2 and writes results/leaderboard/{magnetic_tile.csv, *.json, patchcore_*}.
#
#   scripts/bench_image_detectors.sh            # ADBENCH_BIN=... to use another binary
#   SHARED=/path/to/shared scripts/bench_image_detectors.sh
#
# PaDiM, SPADE and FastRecon run one-go (`adbench eval --detector D`: fit on tile/train/good, infer
# and score tile/test); PatchCore runs as separate `train` and `infer` under /usr/bin/time -v (train
# time, inference images/s, peak RSS), then `eval --run`. Image AUROC / AP / F1-max, pixel AUROC and
# AUPRO@0.3 go to the CSV (adbench's --csv output), one row per detector; the result JSONs also hold
# the ROC / PR / PRO curves and score histograms (eval --curves) that `adbench report` plots
# (scripts/make_report.sh builds results/report/ from them).
# Every detector runs at its paper's settings (patchcore coreset_ratio 0.1, spade top_k 50, fastrecon
# 4 shots) on the shipped mobilenet_v2 (models/, the same file as the shared one); PATCHCORE_SET and
# SPADE_SET override them (e.g. PATCHCORE_SET=coreset_ratio=0.01 SPADE_SET=top_k=5, the settings of
# the CPU-budget leaderboard before issue 11). Takes about 35 minutes on 2 cores, most of it SPADE.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
DATA=$SHARED/data/magnetic_tile
OUT=results/leaderboard
if [[ -z "${ADBENCH_BIN:-}" ]]; then
  scripts/build.sh
  ADBENCH_BIN=build/apps/adbench/adbench
fi
[[ -d "$DATA" ]] || { echo "missing $DATA" >&2; exit 2; }
mkdir -p "$OUT"
rm -f "$OUT/magnetic_tile.csv"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

common=(--root "$DATA" --category tile --backbone mobilenet_v2)
declare -A extra=(
  [patchcore]="${PATCHCORE_SET:+--set $PATCHCORE_SET}"
  [padim]=""
  [spade]="${SPADE_SET:+--set $SPADE_SET}"
  [fastrecon]="--shots 4"
)
# PatchCore: train and infer as separate, timed steps (train time, inference images/s, peak RSS),
# then `eval --run` on the run folder for the metrics row.
"$ADBENCH_BIN" --version > "$OUT/patchcore_timing.txt"
{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  # shellcheck disable=SC2086
  /usr/bin/time -v "$ADBENCH_BIN" --quiet train --detector patchcore "${common[@]}" ${extra[patchcore]} \
    --out "$TMP/run" 2>&1 >/dev/null | grep -E "Elapsed|Maximum resident" | sed 's/^\s*/train: /'
  /usr/bin/time -v "$ADBENCH_BIN" --quiet infer --run "$TMP/run" --out "$TMP/pred" 2>&1 >/dev/null |
    grep -E "Elapsed|Maximum resident" | sed 's/^\s*/infer: /'
  python3 - "$TMP/run/run.json" "$TMP/pred/tile/prediction.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1])); pred = json.load(open(sys.argv[2]))
n = 630  # tile/test images
print(f"train_seconds (fit only, from run.json): {run['train_seconds']:.1f}")
print(f"infer_seconds (from prediction.json): {pred['infer_seconds']:.1f}  -> {n / pred['infer_seconds']:.2f} images/s")
print("infer stage_seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in pred.get("stage_seconds", {}).items()))
PY
} >> "$OUT/patchcore_timing.txt"
cat "$OUT/patchcore_timing.txt" >&2
"$ADBENCH_BIN" --quiet eval --run "$TMP/run" --root "$DATA" --category tile --curves \
  --out "$OUT/magnetic_tile_patchcore.json" --csv "$OUT/magnetic_tile.csv" --force

for det in padim spade fastrecon; do
  echo "== $det" >&2
  # shellcheck disable=SC2086
  "$ADBENCH_BIN" --quiet eval --detector "$det" "${common[@]}" ${extra[$det]} --curves \
    --out "$OUT/magnetic_tile_$det.json" --csv "$OUT/magnetic_tile.csv" --force
done
"$ADBENCH_BIN" --quiet leaderboard "$OUT"/magnetic_tile_*.json | tee "$OUT/magnetic_tile_table.txt"
