#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang, -DADBENCH_FUZZ=ON: lib/formats and tests/fuzz
# only, no LibTorch) if needed, then runs every target for SECONDS each on its seed corpus
# (tests/fuzz/corpus/<target>, read only; new inputs go to build-fuzz/corpus/<target>) and prints a
# summary: executions, exec/s, corpus size, crashes, leaks, timeouts, out-of-memory.
# Usage: scripts/fuzz.sh SECONDS [TARGET...]     (targets: npy safetensors pcd ...; default: all)
# Env: FUZZ_JOBS=N targets at a time (default 1); FUZZ_BUILD_DIR (default build-fuzz).
# Exit status 1 when any target found anything (its reproducer is in build-fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${FUZZ_JOBS:-1}
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=($(sed -n 's/^set(ADBENCH_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt))
fi
if [[ ! -f "$BUILD/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DADBENCH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
cmake --build "$BUILD" -j"$(nproc)" >&2

run_one() {
  local t=$1
  mkdir -p "$BUILD/corpus/$t" "$BUILD/artifacts/$t" "$BUILD/logs"
  # -rss_limit_mb: a parser that allocates more than this on a few KB of input is a finding (oom-*).
  nice -n 10 "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t/" \
    "$BUILD/corpus/$t" "tests/fuzz/corpus/$t" >"$BUILD/logs/$t.log" 2>&1 || true
}

running=0
for t in "${targets[@]}"; do
  [[ -x "$BUILD/tests/fuzz/fuzz_$t" ]] || { echo "fuzz.sh: no target '$t'" >&2; exit 2; }
  rm -f "$BUILD/artifacts/$t"/{crash,leak,timeout,oom,slow-unit}-* 2>/dev/null || true
  run_one "$t" &
  running=$((running + 1))
  if ((running >= JOBS)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

status=0
printf '%-14s %12s %9s %8s %7s %6s %9s %5s\n' target execs exec/s corpus crashes leaks timeouts ooms
for t in "${targets[@]}"; do
  log="$BUILD/logs/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$BUILD/corpus/$t" "tests/fuzz/corpus/$t" -type f | wc -l)
  crashes=$(find "$BUILD/artifacts/$t" -name 'crash-*' | wc -l)
  leaks=$(find "$BUILD/artifacts/$t" -name 'leak-*' | wc -l)
  timeouts=$(find "$BUILD/artifacts/$t" -name 'timeout-*' | wc -l)
  ooms=$(find "$BUILD/artifacts/$t" -name 'oom-*' | wc -l)
  # A run that ended without final stats died in a way libFuzzer could not report: count it.
  if [[ -z "$execs" ]]; then crashes=$((crashes + 1)); execs='?'; rate='?'; fi
  printf '%-14s %12s %9s %8s %7s %6s %9s %5s\n' "$t" "$execs" "$rate" "$corpus" "$crashes" "$leaks" "$timeouts" "$ooms"
  if ((crashes + leaks + timeouts + ooms > 0)); then
    status=1
    echo "  findings: $BUILD/artifacts/$t/ (log: $log)"
  fi
done
exit $status
