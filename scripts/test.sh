#!/usr/bin/env bash
# The test command: installs dependencies, builds adbench and its tests, runs them with ctest.
# Idempotent and incremental. Tests needing ../shared (golden values, real data) are reported by
# ctest as "Not Run (Disabled)" when that folder is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh --test
scripts/build.sh
cd "${ADBENCH_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)"
