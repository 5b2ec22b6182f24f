#!/bin/sh
# Builds the metrics benchmark driver in build-metrics and runs scripts/bench_metrics.py with
# Debian's Python (numpy, scipy, scikit-learn). Extra arguments go to the Python script, e.g.
#   scripts/bench_metrics.sh --md results/bench/metrics.md
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$root" -B "$root/build-metrics" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-metrics" --target adbench_bench_metrics
exec /usr/bin/python3 "$root/scripts/bench_metrics.py" --bin "$root/build-metrics/metrics/adbench_bench_metrics" "$@"
