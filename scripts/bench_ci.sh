#!/usr/bin/env bash
# Times what CI runs, the way CI runs it: a fresh clone of HEAD (with ../shared linked beside it)
# goes through .ci/run, and the clean build and the tests are timed apart (the budget is a clean
# build plus the tests under 30 minutes on 2 cores). Writes a Markdown section to stdout; the logs
# stay in the temp folder it names. Takes as long as CI (~25 min on the 2-core build box): run it
# with nothing else busy.
#   scripts/bench_ci.sh >> results/bench/ci.md
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
work=$(mktemp -d /tmp/adbench-bench-ci.XXXXXX)
git clone -q "$src" "$work/main"
[[ -d ../shared ]] && ln -s "$(realpath ../shared)" "$work/shared"
cd "$work/main"
start=$(date +%s)
rc=0
bash .ci/run > "$work/ci.log" 2>&1 || rc=$?
total=$(($(date +%s) - start))
# The build: first to last compile/link in ninja's log (ms); the tests: ctest's own total.
build_s=$(awk 'NR > 1 { if (min == "" || $1 < min) min = $1; if ($2 > max) max = $2 } END { printf "%.0f", (max - min) / 1000 }' build/.ninja_log)
ctest_s=$(sed -n 's/^Total Test time (real) = *\([0-9.]*\) sec$/\1/p' "$work/ci.log" | tail -1)
passed=$(grep -E "tests passed" "$work/ci.log" | tail -1)
cat <<EOF

## $(date -u +%Y-%m-%d) commit $(git rev-parse --short HEAD): .ci/run from a fresh clone

Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM, load average before: $(cut -d' ' -f1-3 /proc/loadavg).

| step | s |
|---|---:|
| clean build (ninja log, first to last step) | $build_s |
| ctest -j$(nproc) | $ctest_s |
| build + tests | $(awk -v a="$build_s" -v b="$ctest_s" 'BEGIN { printf "%.0f (%.1f min)", a + b, (a + b) / 60 }') |
| all of .ci/run (apt checks, build, tests, format check, fuzzing) | $total |

.ci/run exit code $rc; $passed. Logs: $work/ci.log.
EOF
