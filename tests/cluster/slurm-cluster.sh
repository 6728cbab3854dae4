#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for CI, the cluster tests and the cluster benchmark.
#
#   tests/cluster/slurm-cluster.sh up      start munged (if not running), slurmctld and slurmd; idempotent
#   tests/cluster/slurm-cluster.sh down    stop what `up` started
#   tests/cluster/slurm-cluster.sh status  exit 0 when the cluster answers and its node is usable
#
# `up` prints `SLURM_CONF=<file>` on its last line of stdout; every slurm command (sbatch, squeue,
# scontrol, the generated job scripts) must see that variable. It also prints `started` or
# `already-running` before it, so a caller stops the cluster only if it started it.
#
# Needs root and Debian's `slurm-wlm` and `munge` (`apt-get install slurm-wlm munge`; .ci/run does).
# Exit 3 (with the reason on stderr) when those are missing: tests then skip, saying why.
#
# Why these settings (DESIGN.md §4 has the recipe that worked here): munge authenticates the
# daemons to each other; linuxproc/task-none need no cgroups (containers and CI machines rarely
# delegate them); no accounting database, so `sacct` is not available and status must come from
# squeue/scontrol and the shard records; config_overrides makes the node's CPUs/memory those
# written here, whatever the machine reports, so the cluster looks the same everywhere.
set -euo pipefail

STATE=${AFFECT_STUDIO_SLURM_DIR:-/tmp/affect-studio-slurm}
CPUS=${AFFECT_STUDIO_SLURM_CPUS:-2}
CONF="$STATE/slurm.conf"
NODE=$(hostname -s)
# Not the default ports: a machine that already runs a real slurmd/slurmctld keeps them.
CTLD_PORT=${AFFECT_STUDIO_SLURM_CTLD_PORT:-16817}
SLURMD_PORT=${AFFECT_STUDIO_SLURM_SLURMD_PORT:-16818}
export SLURM_CONF="$CONF"

fail_env() { echo "slurm-cluster: $*" >&2; exit 3; }

need_tools() {
  [ "$(id -u)" -eq 0 ] || fail_env "needs root to run munged/slurmctld/slurmd (run as root, or in CI)"
  for t in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
    command -v "$t" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$t" >/dev/null 2>&1 \
      || fail_env "$t is not installed (apt-get install slurm-wlm munge)"
  done
  export PATH="$PATH:/usr/sbin:/sbin"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

munge_running() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

node_ready() {
  # idle, mixed or allocated: the node accepts work (drained/down/unknown do not)
  local st
  st=$(sinfo -h -N -n "$NODE" -o '%t' 2>/dev/null | head -1) || return 1
  case "$st" in idle|mix|alloc|comp) return 0 ;; *) return 1 ;; esac
}

write_conf() {
  local mem
  # Leave a tenth of the memory to the system; --mem requests are checked against this.
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  mkdir -p "$STATE/ctld" "$STATE/slurmd"
  cat >"$CONF" <<EOF
# Written by tests/cluster/slurm-cluster.sh: a one-node cluster for Affect Studio's tests.
ClusterName=affect-studio-test
SlurmctldHost=$NODE
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
PlugStackConfig=$STATE/plugstack.conf
# Finished jobs stay visible to scontrol for 10 minutes (there is no accounting database).
MinJobAge=600
SchedulerParameters=sched_interval=2
NodeName=$NODE CPUs=$CPUS RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$STATE/plugstack.conf"
}

up() {
  need_tools
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock -w 120 9 || { echo "slurm-cluster: another start/stop holds $STATE/lock" >&2; exit 1; }
  if pid_alive "$STATE/slurmctld.pid" && pid_alive "$STATE/slurmd.pid" && node_ready; then
    echo already-running
    echo "SLURM_CONF=$CONF"
    return 0
  fi
  if ! munge_running; then
    if [ ! -s /etc/munge/munge.key ]; then
      mkdir -p /etc/munge
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
      chown munge:munge /etc/munge/munge.key
      chmod 400 /etc/munge/munge.key
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    # daemons must not inherit the lock (fd 9) or the caller's pipes: they would hold them forever
    runuser -u munge -- munged </dev/null >/dev/null 2>&1 9>&-
    touch "$STATE/started-munged"
    for _ in $(seq 50); do munge_running && break; sleep 0.1; done
    munge_running || fail_env "munged did not start (see /var/log/munge/munged.log)"
  fi
  # Stale daemons of an earlier run (their pid files say so) go first.
  for d in slurmd slurmctld; do
    if pid_alive "$STATE/$d.pid"; then kill "$(cat "$STATE/$d.pid")"; sleep 1; fi
  done
  write_conf
  # -c: start with an empty queue (no jobs left over from an earlier test run)
  slurmctld -c -f "$CONF" </dev/null >/dev/null 2>&1 9>&-
  for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.1; done
  slurmd -f "$CONF" </dev/null >/dev/null 2>&1 9>&-
  for _ in $(seq 150); do
    node_ready && break
    # A node remembered as down by an earlier run comes back here.
    scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
    sleep 0.2
  done
  if ! node_ready; then
    echo "slurm-cluster: the node did not become ready; logs: $STATE/slurmctld.log $STATE/slurmd.log" >&2
    sinfo -N -l >&2 || true
    exit 1
  fi
  echo started
  echo "SLURM_CONF=$CONF"
}

down() {
  export PATH="$PATH:/usr/sbin:/sbin"
  [ -d "$STATE" ] || return 0
  exec 9>"$STATE/lock"
  flock -w 120 9 || { echo "slurm-cluster: another start/stop holds $STATE/lock" >&2; exit 1; }
  for d in slurmd slurmctld; do
    if pid_alive "$STATE/$d.pid"; then
      pid=$(cat "$STATE/$d.pid")
      kill "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  if [ -f "$STATE/started-munged" ] && [ -f /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    rm -f "$STATE/started-munged"
  fi
  echo stopped
}

status() {
  need_tools
  pid_alive "$STATE/slurmctld.pid" && pid_alive "$STATE/slurmd.pid" && node_ready
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
