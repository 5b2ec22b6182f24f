#!/usr/bin/env bash
# Builds results/report/: `adbench report` of the magnetic-tile leaderboard (report.html) and a
# headless-Chromium screenshot of it (report.png).
#
#   scripts/make_report.sh             # ADBENCH_BIN=... SHARED=... to override; DETECTORS="padim" for fewer
#
# Reruns the leaderboard's cheap detectors at its exact settings (scripts/bench_image_detectors.sh:
# --backbone mobilenet_v2, seed 0, patchcore coreset 10 %, fastrecon 4 shots) one-go with
# `eval --curves` into results/report/json/, PaDiM also with --pred-out --heatmaps (the thumbnails),
# and checks that every metric equals the committed one in results/leaderboard/ (exit 1 otherwise).
# SPADE (13 minutes of inference) is taken from results/leaderboard/ as is, without curves: the page
# says so. About 10 minutes on 2 busy cores, most of it PatchCore.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
DATA=$SHARED/data/magnetic_tile
OUT=results/report
ADBENCH_BIN=${ADBENCH_BIN:-build/apps/adbench/adbench}
DETECTORS=${DETECTORS:-"padim fastrecon patchcore"}
[[ -d "$DATA" ]] || { echo "missing $DATA" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT/json"

common=(--root "$DATA" --category tile --backbone mobilenet_v2 --curves)
declare -A extra=([patchcore]="" [padim]="--pred-out $TMP/pred --heatmaps" [fastrecon]="--shots 4")
for det in $DETECTORS; do
  echo "== $det" >&2
  # shellcheck disable=SC2086
  "$ADBENCH_BIN" --quiet eval --detector "$det" "${common[@]}" ${extra[$det]} \
    --out "$OUT/json/magnetic_tile_$det.json" --force
  python3 - "results/leaderboard/magnetic_tile_$det.json" "$OUT/json/magnetic_tile_$det.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
ma = [(c["category"], l["level"], l["metrics"]) for c in a["categories"] for l in c["levels"]]
mb = [(c["category"], l["level"], l["metrics"]) for c in b["categories"] for l in c["levels"]]
if ma != mb or a["mean"] != b["mean"]:
    sys.exit(f"{sys.argv[2]}: metrics differ from {sys.argv[1]}:\n{ma}\n{mb}")
print(f"{sys.argv[2]}: every metric equals {sys.argv[1]}'s", file=sys.stderr)
PY
done
# A detector not rerun here (SPADE; PatchCore with DETECTORS="padim fastrecon") comes from
# results/leaderboard/ as is, without curves.
jsons=()
for det in patchcore padim fastrecon spade; do
  if [[ -f "$OUT/json/magnetic_tile_$det.json" ]]; then
    jsons+=("$OUT/json/magnetic_tile_$det.json")
  else
    jsons+=("results/leaderboard/magnetic_tile_$det.json")
  fi
done
pred=()
[[ -d "$TMP/pred" ]] && pred=(--pred "$TMP/pred")
"$ADBENCH_BIN" --quiet report "${jsons[@]}" "${pred[@]}" --out "$OUT/report.html" --force \
  --title "Magnetic tile: four image detectors on MobileNetV2 (results/leaderboard)"
if command -v chromium > /dev/null; then
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$TMP/profile" \
    --window-size=1400,2600 --screenshot="$OUT/report.png" "file://$PWD/$OUT/report.html" 2> /dev/null
else
  echo "chromium not found: no screenshot" >&2
fi
ls -l "$OUT" >&2
