"""What a batch script runs after its directives: the job's command (under `srun` and a launcher
for multi-process jobs), the rendezvous on the first node, each requeued attempt's own log, and
signal forwarding. Pure text; nothing here runs a command.

The script stays the command's parent instead of `exec`-ing it, so that it can turn the
time-limit warning (`--signal=B:USR1@N`, sent to the batch shell only) into a SIGTERM for the
job, which gives a checkpointing script time to save. Once the job has stopped for that
warning, the script waits for Slurm to end it at the limit, so that the job ends TIMEOUT (and
a retry resumes). Otherwise it ends as the command did: the same exit status, or the same
signal.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from runall.backends.base import LaunchSpec
from runall.run.launchers import RENDEZVOUS_VARS, node_command

RDZV_PORT_BASE = 20000      # + job id % 20000: jobs sharing a first node use different ports


def restart_log_prefix(spec: LaunchSpec) -> Path:
    """`logs/<id>.attempt`: attempt N's log is this plus `N.log` (the runner's naming, `log_name`)."""
    name = spec.log_path.name.removesuffix(".log")
    if spec.attempt > 1:
        name = name.removesuffix(f".attempt{spec.attempt}")
    return spec.log_path.with_name(f"{name}.attempt")


def restart_lines(spec: LaunchSpec) -> list[str]:
    """A requeued attempt writes to its own log: attempt `spec.attempt + SLURM_RESTART_COUNT`."""
    prefix = shlex.quote(str(restart_log_prefix(spec)))
    return ['if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then',
            f'    exec >>{prefix}"$(( {spec.attempt} + SLURM_RESTART_COUNT ))".log 2>&1',
            "fi"]


def command_lines(spec: LaunchSpec, cpus: int) -> tuple[list[str], list[str]]:
    """(setup lines, command) of an attempt: for a launcher, the rendezvous variables and
    `srun` starting one launcher per node, else the job's argv itself."""
    launch = spec.launch
    if launch is None:
        return [], list(spec.argv)
    endpoint, rdzv_id = RENDEZVOUS_VARS
    setup = ['runall_nodes=( $(scontrol show hostnames "$SLURM_JOB_NODELIST") )',
             f'export {endpoint}="${{runall_nodes[0]}}:$(( {RDZV_PORT_BASE} + SLURM_JOB_ID % 20000 ))"',
             f'export {rdzv_id}="$SLURM_JOB_ID"']
    srun = ["srun", f"--nodes={launch.nodes}", f"--ntasks={launch.nodes}", "--ntasks-per-node=1",
            f"--cpus-per-task={cpus}", "--kill-on-bad-exit=1"]
    return setup, srun + node_command(spec.argv, launch)


def run_lines(command: list[str] | str, warning: int | None) -> list[str]:
    """Run `command` (an argv, or shell words as they are, e.g. `"$@"` in a job array) as a
    child, forward SIGTERM (and the time-limit warning USR1, as SIGTERM) to it, then end as it
    ended."""
    lines = [
        "set +e",
        "runall_signals=0",
        'runall_forward() { runall_signals=$((runall_signals + 1)); runall_signal=$1; '
        'kill -TERM "$runall_child" 2>/dev/null; }',
        "trap 'runall_forward TERM' TERM",
        "trap 'runall_forward USR1' USR1",
        f"{command if isinstance(command, str) else shlex.join(command)} &",
        "runall_child=$!",
        "while :; do    # a trapped signal interrupts `wait`: wait again while the command is there",
        "    runall_seen=$runall_signals",
        '    wait "$runall_child"; runall_status=$?',
        '    [ "$runall_seen" != "$runall_signals" ] && kill -0 "$runall_child" 2>/dev/null || break',
        "done",
        "trap - TERM USR1",
    ]
    if warning:
        lines += [
            'if [ "$runall_signal" = USR1 ] && [ "$runall_status" != 0 ]; then',
            f'    echo "runall: the job was sent SIGTERM {warning} s before its time limit and stopped '
            '(status $runall_status); waiting for Slurm to end it there" >&2',
            "    while :; do sleep 5; done",
            "fi",
        ]
    return lines + [
        'if [ "$runall_status" -gt 128 ] && [ "$runall_status" -le 192 ]; then',
        '    kill -s "$(kill -l "$runall_status")" $$    # ended by a signal: so does the script',
        "fi",
        'exit "$runall_status"',
    ]
