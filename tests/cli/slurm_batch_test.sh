#!/usr/bin/env bash
# adbench batch on a real Slurm: starts a single-node cluster (munged, slurmctld, slurmd) with a
# generated slurm.conf whose state, spool, logs and munge socket live in a temp dir, submits a small
# matrix (2 detectors x 4 synthetic categories x 2 seeds = 16 cells) as one job array, waits,
# collects, and checks that the merged leaderboard equals a local `--jobs 2` run of the same matrix
# (every metric and count, row by row). Stops the daemons it started, by pid, on any exit.
# Usage: slurm_batch_test.sh ADBENCH_BINARY
# Exit 77 (ctest: skipped) when not root: slurmd must run as root in a plain container.
set -euo pipefail
adbench=$(realpath "$1")
for p in munged slurmctld slurmd sbatch sinfo python3; do
  command -v "$p" >/dev/null || { echo "slurm_batch_test: $p not found (scripts/install_deps.sh installs slurm-wlm and munge)" >&2; exit 1; }
done
if [[ $(id -u) -ne 0 ]]; then
  echo "slurm_batch_test: needs root (slurmd), skipped" >&2
  exit 77
fi

T=$(mktemp -d /tmp/adbench-slurm.XXXXXX)
chmod 700 "$T"
pids=()
cleanup() {
  for f in "$T"/slurmd.pid "$T"/slurmctld.pid "$T"/munged.pid; do
    [[ -s $f ]] && kill "$(cat "$f")" 2>/dev/null || true
  done
  for i in $(seq 50); do
    alive=0
    for f in "$T"/slurmd.pid "$T"/slurmctld.pid "$T"/munged.pid; do
      [[ -s $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
    done
    [[ $alive == 0 ]] && break
    sleep 0.2
  done
  if [[ ${KEEP_SLURM_TEST:-0} == 1 ]]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

# munge: its own key and socket (the system's munged, if any, is left alone).
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge.key"
mkdir -m 700 "$T/munge"
munged --key-file="$T/munge.key" --socket="$T/munge/munge.sock" --pid-file="$T/munged.pid" \
  --log-file="$T/munged.log" --seed-file="$T/munge.seed" --force

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
mkdir -p "$T/state" "$T/spool"
cat > "$T/slurm.conf" <<EOF
ClusterName=adbenchtest
SlurmctldHost=$host
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
# sbatch --wait polls after 2 s, then 4x longer while that stays under MinJobAge / 3 (default 300 s:
# 2, 8, 32 s), which left the test idle for ~30 s after its last task; at 6 s it polls every 2 s.
MinJobAge=6
AccountingStorageType=accounting_storage/none
PlugStackConfig=$T/plugstack.conf
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
: > "$T/plugstack.conf"
export SLURM_CONF=$T/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for i in $(seq 120); do
  state=$(sinfo -h -o %t 2>/dev/null | head -1 || true)
  [[ $state == idle ]] && break
  sleep 0.5
done
if [[ $state != idle ]]; then
  echo "slurm_batch_test: the node did not become idle (state '$state')" >&2
  tail -5 "$T"/slurmctld.log "$T"/slurmd.log >&2 || true
  exit 1
fi

# The data and the matrix.
cd "$T"
"$adbench" --quiet synth --out data >/dev/null
cat > matrix.json <<'EOF'
{"name": "slurmtest",
 "datasets": [{"name": "synth", "adapter": "mvtec_ad", "root": "data", "categories": "all"}],
 "detectors": [{"name": "variation_model"}, {"name": "padim", "settings": {"channels": 50, "image_size": 96}}],
 "seeds": [0, 1],
 "slurm": {"cpus_per_task": 1, "time": "00:30:00"}}
EOF
test "$("$adbench" batch matrix.json --out on_slurm --dry-run | tail -1)" = \
  "16 cells: 16 to run, 0 done, 0 failed (skipped; --retry-failed reruns them)"

"$adbench" batch matrix.json --out on_slurm --slurm --slurm-wait > slurm_stdout.txt 2> slurm_stderr.txt || {
  echo "slurm_batch_test: the Slurm batch failed" >&2; cat slurm_stderr.txt >&2; tail -3 on_slurm/slurm/*.log >&2 || true; exit 1; }
grep -q "^submitted Slurm job [0-9]* (16 array tasks)$" slurm_stdout.txt
grep -q "adbench batch: 16 cells: 16 ok, 0 failed, 0 not run" slurm_stderr.txt
test "$(ls on_slurm/slurm/*.log | wc -l)" = 16
# Collecting again changes nothing; a second submission has nothing to run.
"$adbench" batch --collect on_slurm > /dev/null 2> collect_stderr.txt
grep -q "16 cells: 16 ok, 0 failed, 0 not run" collect_stderr.txt
"$adbench" batch matrix.json --out on_slurm --slurm 2> resubmit_stderr.txt > /dev/null
grep -q "nothing to run (16 done, 0 failed and skipped); not submitted" resubmit_stderr.txt

"$adbench" batch matrix.json --out local --jobs 2 > /dev/null 2> local_stderr.txt
grep -q "16 cells: 16 ok, 0 failed, 0 not run" local_stderr.txt

python3 - on_slurm/leaderboard.csv local/leaderboard.csv <<'EOF'
import csv, sys
keys = ["dataset", "category", "setting", "level", "detector", "spec", "config_sha256", "seed"]
values = ["auroc", "ap", "f1_max", "aupro_0.3", "units", "anomalous"]
def load(p):
    rows = list(csv.DictReader(open(p)))
    return {tuple(r[k] for k in keys): tuple(r[v] for v in values) for r in rows}, len(rows)
a, na = load(sys.argv[1]); b, nb = load(sys.argv[2])
assert na == nb == 32, (na, nb)            # 16 cells x (image + pixel level)
assert a.keys() == b.keys(), set(a) ^ set(b)
diff = [k for k in a if a[k] != b[k]]
assert not diff, [(k, a[k], b[k]) for k in diff[:3]]
seeds = {k[-1] for k in a}; cats = {k[1] for k in a}; dets = {k[4] for k in a}
assert seeds == {"0", "1"} and len(cats) == 4 and dets == {"variation_model", "padim"}, (seeds, cats, dets)
print("slurm_batch_test: 32 leaderboard rows equal between Slurm and local --jobs 2")
EOF
