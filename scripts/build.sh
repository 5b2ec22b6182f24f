#!/usr/bin/env bash
# Configures (once) and builds adbench into build/ (Release). Incremental on a second run.
# Extra arguments go to CMake's configure step, e.g. -DCMAKE_PREFIX_PATH=... for a CUDA LibTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ADBENCH_BUILD_DIR:-build}
if [[ ! -f "$BUILD_DIR/build.ninja" || $# -gt 0 ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >&2
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" >&2
