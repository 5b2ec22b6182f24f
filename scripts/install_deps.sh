#!/usr/bin/env bash
# Installs adbench's build dependencies from Debian 12 packages (idempotent: installs only what is
# missing, and runs apt-get update only then). Usage: scripts/install_deps.sh [--test] [--bench] [--fuzz] [--format]
#   --test   also what only tests use: slurm-wlm and munge (the single-node Slurm of ctest slurm_batch)
#            and chromium (ctest test_report_chromium)
#   --bench  also the Python references used by scripts/bench_*.py (scikit-learn, SciPy; SciPy also
#            regenerates tests/datasets/mat with tests/datasets/make_mat_fixtures.py)
#   --fuzz   also clang and libFuzzer, for the fuzz targets (scripts/fuzz.sh, -DADBENCH_FUZZ=ON)
#   --format also clang-format 14, for scripts/check_format.sh
set -euo pipefail
pkgs=(build-essential cmake ninja-build git pkg-config
      libtorch-dev libopencv-dev libeigen3-dev libcli11-dev nlohmann-json3-dev libspdlog-dev catch2
      libopenblas0-pthread python3-torch python3-torchvision python-matplotlib-data
      libopen3d-dev libnanoflann-dev zlib1g-dev opencv-doc)
# libopen3d-dev: point clouds (PCD ascii/binary/binary_compressed and PLY reading, FPFH); 25 packages,
# where libpcl-dev would pull 312 (VTK, Qt, all of Boost). libnanoflann-dev: header-only k-d tree kNN.
# zlib1g-dev: compressed MATLAB v5 .mat label files (INFP's IPAD packaging). opencv-doc: its example
# videos vtest.avi and Megamind_bugy.avi are the real files test_video decodes (skipped when absent).
# chromium: test_report_chromium renders adbench report's HTML headless and checks the DOM (ctest lists
# it as not run, DISABLED, when configure finds no chromium).
# libopenblas0-pthread matters: without it Debian's LibTorch falls back to reference BLAS (~30x slower).
# python3-torch/python3-torchvision: test_backbones compares the C++ backbones with torchvision;
# python-matplotlib-data ships grace_hopper.jpg, the real photo the shared MobileNetV2 test classifies
# (tests/backbones/make_reference.py runs under /usr/bin/python3); a missing one fails that test.
for arg in "$@"; do
  case "$arg" in
    --test) pkgs+=(slurm-wlm munge chromium) ;;
    --bench) pkgs+=(python3-numpy python3-scipy python3-sklearn) ;;
    --fuzz) pkgs+=(clang libfuzzer-14-dev) ;;
    --format) pkgs+=(clang-format-14) ;;
    *) echo "install_deps: unknown option '$arg' (expected --test, --bench, --fuzz or --format)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "install_deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
