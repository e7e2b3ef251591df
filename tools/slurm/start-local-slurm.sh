#!/usr/bin/env bash
# Start a single-node Slurm cluster (munged + slurmctld + slurmd) on this
# machine without systemd, and wait until the node is usable. runall's Slurm
# integration tests (tests/test_slurm_cluster.py) run against it; .ci/run calls
# this script before `make test`. Adapted from the team's verified recipe
# (single-node Slurm from Debian packages); stop it with stop-local-slurm.sh.
#
# Tested on Debian 12 (bookworm), Slurm 22.05.8, munge 0.5.15, run as root.
# Idempotent: installs missing packages, keeps a running munged/slurmctld/slurmd,
# restarts slurmctld/slurmd only when the generated slurm.conf changed.
#
# Environment knobs (all optional):
#   SLURM_INSTALL=1          apt-get install missing packages (0: fail instead)
#   SLURM_WAIT_TIMEOUT=60    seconds to wait for the node to become idle
#   SLURM_CLEAN_STATE=0      1: wipe controller state (all old jobs) and the
#                            jobcomp log before start (job ids restart at 1)
#   SLURM_PARTITION=debug    name of the single default partition
#   SLURM_MIN_JOB_AGE=3600   seconds finished jobs stay visible in scontrol
#   SLURM_KEEP_CONF=0        1: never (re)write /etc/slurm/slurm.conf
set -euo pipefail

SLURM_INSTALL=${SLURM_INSTALL:-1}
SLURM_WAIT_TIMEOUT=${SLURM_WAIT_TIMEOUT:-60}
SLURM_CLEAN_STATE=${SLURM_CLEAN_STATE:-0}
SLURM_PARTITION=${SLURM_PARTITION:-debug}
SLURM_MIN_JOB_AGE=${SLURM_MIN_JOB_AGE:-3600}
SLURM_KEEP_CONF=${SLURM_KEEP_CONF:-0}

CONF=/etc/slurm/slurm.conf
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid
LOGDIR=/var/log/slurm

die() { echo "start-local-slurm: ERROR: $*" >&2; exit 1; }
log() { echo "start-local-slurm: $*"; }

# pid_alive PIDFILE NAME -> 0 if the pid in PIDFILE is a live process called NAME
pid_alive() {
    local f=$1 name=$2 pid comm
    [ -s "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = "$name" ] || return 1
    # a zombie is not alive
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# stop_pid PIDFILE NAME -> TERM the daemon by its pid, KILL after 15 s
stop_pid() {
    local f=$1 name=$2 pid i
    pid_alive "$f" "$name" || { rm -f "$f"; return 0; }
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 75); do pid_alive "$f" "$name" || break; sleep 0.2; done
    if pid_alive "$f" "$name"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
    rm -f "$f"
}

[ "$(id -u)" = 0 ] || die "must run as root (slurmctld/slurmd/munged are started directly)"

# ---------------------------------------------------------------- 1. packages
need_install=0
for b in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/sbin/munged /usr/bin/munge; do
    [ -x "$b" ] || need_install=1
done
if [ "$need_install" = 1 ]; then
    [ "$SLURM_INSTALL" = 1 ] || die "Slurm/munge not installed and SLURM_INSTALL=0"
    log "installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
        || die "apt-get install slurmctld slurmd slurm-client munge failed"
fi

# ---------------------------------------------------------------- 2. munge
if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    install -d -m 0700 -o munge -g munge /etc/munge
    /usr/sbin/mungekey --create --keyfile=/etc/munge/munge.key --force \
        || die "mungekey --create failed"
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
install -d -m 0755 -o munge -g munge /run/munge
install -d -m 0700 -o munge -g munge /var/log/munge /var/lib/munge
if ! pid_alive "$MUNGE_PID" munged; then
    log "starting munged"
    rm -f "$MUNGE_PID"
    runuser -u munge -- /usr/sbin/munged || die "munged failed to start (see /var/log/munge/munged.log)"
fi
ok=0
for i in $(seq 1 50); do
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.1
done
[ "$ok" = 1 ] || die "munge -n | unmunge fails (see /var/log/munge/munged.log)"

# ---------------------------------------------------------------- 3. slurm.conf
NODE=$(hostname -s)
NODELINE=$(/usr/sbin/slurmd -C 2>/dev/null | head -n1)
[[ $NODELINE == NodeName=* ]] || die "slurmd -C gave no NodeName line: '$NODELINE'"
CPUS=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$NODELINE")
MEM=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$NODELINE")
[ -n "$CPUS" ] && [ -n "$MEM" ] || die "cannot parse CPUs/RealMemory from '$NODELINE'"
# Without a default, every job is given the whole node's memory and jobs run
# one at a time; give each CPU an equal share instead.
DEFMEM=$(( MEM / CPUS ))

changed=0
if [ "$SLURM_KEEP_CONF" != 1 ]; then
    install -d -m 0755 /etc/slurm
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# Single-node Slurm for local tests; generated by start-local-slurm.sh
ClusterName=localci
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=${LOGDIR}/jobcomp.log
SchedulerType=sched/backfill
# default batch_sched_delay=3 lets freed CPUs sit idle up to 3 s between jobs
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=${DEFMEM}
DependencyParameters=kill_invalid_depend
ReturnToService=2
MinJobAge=${SLURM_MIN_JOB_AGE}
MailProg=/bin/true
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=${LOGDIR}/slurmctld.log
SlurmdLogFile=${LOGDIR}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
${NODELINE} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=${SLURM_PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    if ! cmp -s "$tmp" "$CONF"; then
        [ -e "$CONF" ] && cp -p "$CONF" "$CONF.bak"
        install -m 0644 "$tmp" "$CONF"
        changed=1
        log "wrote $CONF"
    fi
    rm -f "$tmp"
fi
[ -s "$CONF" ] || die "$CONF missing"

# ---------------------------------------------------------------- 4. daemons
install -d -m 0755 /var/spool/slurmctld /var/spool/slurmd "$LOGDIR"

if [ "$changed" = 1 ] || [ "$SLURM_CLEAN_STATE" = 1 ]; then
    if pid_alive "$SLURMD_PID" slurmd || pid_alive "$CTLD_PID" slurmctld; then
        log "config changed or clean state requested: restarting slurmctld/slurmd"
    fi
    stop_pid "$SLURMD_PID" slurmd
    stop_pid "$CTLD_PID" slurmctld
fi
if [ "$SLURM_CLEAN_STATE" = 1 ]; then
    log "wiping controller state in /var/spool/slurmctld and $LOGDIR/jobcomp.log"
    find /var/spool/slurmctld -mindepth 1 -delete
    : > "$LOGDIR/jobcomp.log"
fi

if ! pid_alive "$CTLD_PID" slurmctld; then
    log "starting slurmctld"
    rm -f "$CTLD_PID"
    /usr/sbin/slurmctld || die "slurmctld failed to start; tail of $LOGDIR/slurmctld.log:
$(tail -n 20 "$LOGDIR/slurmctld.log" 2>/dev/null)"
fi
# wait for the controller to answer
ok=0
for i in $(seq 1 100); do
    if scontrol ping 2>/dev/null | grep -q 'is UP'; then ok=1; break; fi
    sleep 0.2
done
[ "$ok" = 1 ] || die "slurmctld does not answer 'scontrol ping'; tail of $LOGDIR/slurmctld.log:
$(tail -n 20 "$LOGDIR/slurmctld.log" 2>/dev/null)"

if ! pid_alive "$SLURMD_PID" slurmd; then
    log "starting slurmd"
    rm -f "$SLURMD_PID"
    /usr/sbin/slurmd || die "slurmd failed to start; tail of $LOGDIR/slurmd.log:
$(tail -n 20 "$LOGDIR/slurmd.log" 2>/dev/null)"
fi

# ---------------------------------------------------------------- 5. wait
deadline=$(( $(date +%s) + SLURM_WAIT_TIMEOUT ))
resumed=0
state=""
while :; do
    state=$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n1 || true)
    case "$state" in
        idle|mixed|allocated|completing) break ;;
        down*|drain*|fail*|inval*)
            if [ "$resumed" = 0 ]; then
                scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
                resumed=1
            fi ;;
    esac
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "start-local-slurm: ERROR: node $NODE not usable after ${SLURM_WAIT_TIMEOUT}s (state='${state}')" >&2
        scontrol show node "$NODE" 2>&1 | grep -E 'State=|Reason=' >&2 || true
        echo "--- tail $LOGDIR/slurmctld.log" >&2; tail -n 15 "$LOGDIR/slurmctld.log" >&2 2>/dev/null || true
        echo "--- tail $LOGDIR/slurmd.log" >&2;    tail -n 15 "$LOGDIR/slurmd.log" >&2 2>/dev/null || true
        exit 1
    fi
    sleep 0.25
done

log "ready: node $NODE state=$state CPUs=$CPUS RealMemory=${MEM}MB DefMemPerCPU=${DEFMEM}MB partition=$SLURM_PARTITION"
log "pids: munged=$(cat $MUNGE_PID) slurmctld=$(cat $CTLD_PID) slurmd=$(cat $SLURMD_PID)"
