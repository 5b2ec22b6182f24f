#!/bin/sh
# Builds adbench (scripts/build.sh, build/) and runs scripts/bench_metrics.py with Debian's Python
# (numpy, scipy, scikit-learn: scripts/install_deps.sh --bench). Extra arguments go to the Python
# script, e.g.
#   scripts/bench_metrics.sh --md results/bench/metrics.md
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh" --bench
"$root/scripts/build.sh"
exec /usr/bin/python3 "$root/scripts/bench_metrics.py" --bin "$root/${ADBENCH_BUILD_DIR:-build}/metrics/adbench_bench_metrics" "$@"
