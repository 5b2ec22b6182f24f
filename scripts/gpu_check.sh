#!/usr/bin/env bash
# GPU check (issue 11, item 7): run on the `device` machine when one is lent.
#   scripts/gpu_check.sh [--device cuda|cpu] [--out results/bench/gpu.md] [--skip-tests]
# --device cuda: configures build-cuda/ against the CUDA LibTorch of the PyTorch found there
#   (torch.utils.cmake_prefix_path, -DADBENCH_WITH_CUDA=ON), builds adbench, its tests and the
#   benchmark drivers, runs ctest, then the metrics benchmark (113 M pixels), the PatchCore coreset
#   benchmark (bottle-sized bank, 10 %, on the GPU) and the Simple3D benchmark (500 k points), and
#   writes the figures with the GPU name, CUDA and LibTorch versions to the --out file.
# --device cpu: the same with the default (CPU) build in build/, for the non-CUDA parts.
# Targets (issue 11): metrics <= 0.3 s, coreset <= 1 s, Simple3D >= 20 clouds/s. Not yet on the GPU:
# the metrics driver has no device option (it times the CPU engines) and Simple3D computes FPFH on
# the CPU, so on a GPU machine only the coreset and the tests use CUDA; the report says what ran.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda
OUT=results/bench/gpu.md
TESTS=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --device) DEVICE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --skip-tests) TESTS=0; shift ;;
    *) echo "gpu_check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
PY=${PYTHON:-python3}
if [[ $DEVICE == cuda ]]; then
  BUILD=build-cuda
  PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" -DADBENCH_WITH_CUDA=ON >&2
  GPU=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)
  CUDA=$($PY -c 'import torch; print(torch.version.cuda)')
  TORCH=$($PY -c 'import torch; print(torch.__version__)')
else
  BUILD=${ADBENCH_BUILD_DIR:-build}
  [[ -f $BUILD/build.ninja ]] || cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  GPU="none (CPU run)"
  CUDA="-"
  TORCH=$(dpkg-query -W -f '${Version}' libtorch-dev 2>/dev/null || echo unknown)
fi
cmake --build "$BUILD" -j"$(nproc)" >&2
cmake --build "$BUILD" --target adbench_bench_coreset adbench_bench_simple3d adbench_bench_metrics -j"$(nproc)" >&2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
{
  echo "# GPU check ($DEVICE)"
  echo
  echo "GPU: $GPU; CUDA: $CUDA; LibTorch: $TORCH; CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores."
  echo "Command: \`scripts/gpu_check.sh --device $DEVICE\` at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
} > "$TMP/report.md"
if [[ $TESTS == 1 ]]; then
  # The tests run on the CPU build's defaults; those that take a device use CUDA when it is there.
  if ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" > "$TMP/ctest.txt" 2>&1; then status=passed; else status=FAILED; fi
  { echo "## Tests: $status"; echo; echo '```'; tail -5 "$TMP/ctest.txt"; echo '```'; echo; } >> "$TMP/report.md"
fi
ADBENCH_BUILD_DIR=$BUILD $PY scripts/bench_coreset.py --build-dir "$BUILD" --device "$DEVICE" --skip-1536 --out "$TMP/coreset.md" >&2
{ echo "## PatchCore coreset (target <= 1 s on the GPU for the bottle-sized bank)"; echo; tail -n +2 "$TMP/coreset.md"; echo; } >> "$TMP/report.md"
$PY scripts/bench_metrics.py --bin "$BUILD/metrics/adbench_bench_metrics" --runs 1 --skip-reference --md "$TMP/metrics.md" >&2
{ echo "## Metrics, 113 M pixels (target <= 0.3 s on the GPU)"; echo; tail -n +2 "$TMP/metrics.md"; echo; } >> "$TMP/report.md"
$PY scripts/bench_simple3d.py --build-dir "$BUILD" --sizes 500000 --train 1 --out "$TMP/simple3d.md" >&2
{ echo "## Simple3D, 500 k points (target >= 20 clouds/s on the GPU)"; echo; tail -n +2 "$TMP/simple3d.md"; echo; } >> "$TMP/report.md"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/report.md" "$OUT"
echo "wrote $OUT" >&2
