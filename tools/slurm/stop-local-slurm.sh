#!/usr/bin/env bash
# Stop the single-node Slurm cluster started by tools/slurm/start-local-slurm.sh.
# Cancels remaining jobs, then stops slurmd, slurmctld and munged by the PIDs
# in their pid files (TERM, then KILL after 15 s). Never kills by name.
#
# Environment knobs (optional):
#   SLURM_CANCEL_JOBS=1   0: leave jobs alone (their slurmstepd keep running)
#   SLURM_STOP_MUNGE=1    0: leave munged running
set -uo pipefail

SLURM_CANCEL_JOBS=${SLURM_CANCEL_JOBS:-1}
SLURM_STOP_MUNGE=${SLURM_STOP_MUNGE:-1}

log() { echo "stop-local-slurm: $*"; }

pid_alive() {
    local f=$1 name=$2 pid comm
    [ -s "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = "$name" ] || return 1
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

stop_pid() {
    local f=$1 name=$2 pid i
    if ! pid_alive "$f" "$name"; then
        log "$name not running"; rm -f "$f"; return 0
    fi
    pid=$(cat "$f")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 75); do pid_alive "$f" "$name" || break; sleep 0.2; done
    if pid_alive "$f" "$name"; then
        log "$name (pid $pid) ignored TERM, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$f"
}

if [ "$SLURM_CANCEL_JOBS" = 1 ] && pid_alive /run/slurmctld.pid slurmctld; then
    jobs=$(squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        log "cancelling jobs: $jobs"
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null || true
        for i in $(seq 1 60); do
            [ -z "$(squeue -h -o '%A' 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
fi

# live (non-zombie) slurmstepd processes, i.e. job steps still cleaning up
stepds() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
        grep -q '^State:[[:space:]]*Z' "$p/status" 2>/dev/null && continue
        echo "${p#/proc/}"
    done | tr '\n' ' '
}
# give finished/cancelled job steps up to 10 s to exit before slurmd goes
for i in $(seq 1 50); do [ -z "$(stepds)" ] && break; sleep 0.2; done

stop_pid /run/slurmd.pid slurmd
stop_pid /run/slurmctld.pid slurmctld
[ "$SLURM_STOP_MUNGE" = 1 ] && stop_pid /run/munge/munged.pid munged

# report (do not kill) job step daemons that outlived slurmd
left=$(stepds)
[ -n "${left// /}" ] && log "warning: slurmstepd still running (pids: $left)"
log "done"
exit 0
