"""What runs on the Ray workers: one attempt's process, and signals to attempts found by token.

`run_attempt` is a generator task: it starts the job's argv in its own session with output
straight to the job's log (the run directory is on a filesystem every node shares), yields
where the process runs, waits for it, kills what it left behind (its process group, and any
process here that carries its token: escaped descendants die with their job, as locally),
and yields how it ended. `signal_attempts` runs on one node at a time and
signals every process carrying one of the given `RUNALL_JOB_TOKEN` values: the terminate,
kill and leftover sweeps of the backend. Neither imports `ray` at module level.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

from runall.backends.base import TOKEN_VAR, signal_name
from runall.backends.local import process_tree

_RSS_UNIT = 1 if sys.platform == "darwin" else 1024   # ru_maxrss is KiB on Linux


def run_attempt(argv: Sequence[str], cwd: str, env: dict[str, str], log_path: str) -> Iterator[dict[str, Any]]:
    """Run one attempt here: yields `{"started": {...}}`, then `{"exit_code", "signal", "peak_rss"}`,
    or `{"error": why}` when the process cannot be started."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    where = f"on Ray node {node[:12]} ({socket.gethostname()})"
    if not os.path.isdir(cwd):
        yield {"error": f"{cwd} is not a folder {where}: the Ray backend needs the repository on a "
                        "filesystem every node shares"}
        return
    gpus = ray.get_runtime_context().get_accelerator_ids().get("GPU", [])
    env = {**env, "CUDA_VISIBLE_DEVICES": ",".join(map(str, gpus))}
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as log:
        try:
            proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            log.write(f"runall: cannot start {argv[0]!r}: {exc}\n".encode())
            yield {"error": f"cannot start {argv[0]!r} {where}: {exc}"}
            return
    try:
        yield {"started": {"node": node, "host": socket.gethostname(), "pid": proc.pid}}
        yield _wait(proc, env[TOKEN_VAR])
    finally:
        if proc.returncode is None:         # cancelled or failed while waiting: leave nothing behind
            process_tree.kill_tree(proc.pid, process_tree.snapshot(proc.pid))
            proc.wait()


def _wait(proc: subprocess.Popen[bytes], token: str) -> dict[str, Any]:
    """Wait for the leader to exit, kill what it left (its group, its token's processes), reap it."""
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    # The unreaped leader still holds its pid, so the group id cannot belong to anyone else.
    process_tree.kill_tree(proc.pid, [], wait=0.5)
    signal_attempts([token], signal.SIGKILL)
    _, status, usage = os.wait4(proc.pid, 0)
    code = proc.returncode = os.waitstatus_to_exitcode(status)
    rss = usage.ru_maxrss * _RSS_UNIT
    if code >= 0:
        return {"exit_code": code, "signal": None, "peak_rss": rss}
    return {"exit_code": None, "signal": signal_name(-code), "peak_rss": rss}


def ready() -> bool:
    """A task that only imports this module: run once per slot before the first attempt, so the
    first attempts find warm workers and their timeouts do not pay for Ray starting processes."""
    return True


def signal_attempts(tokens: Sequence[str], signum: int) -> int:
    """Send `signum` to every process on this node whose RUNALL_JOB_TOKEN is one of `tokens`, to
    their process groups and to their descendants (SIGKILL waits for them to go); returns how many."""
    wanted = set(tokens)
    found = process_tree.find_by_env(TOKEN_VAR, wanted.__contains__)
    tree = {p.pid: p for leader in found for p in process_tree.snapshot(leader.pid)}
    for group in {_group(p.pid) for p in found} - {None, os.getpgid(0)}:
        process_tree.signal_group(group, signum)
    if signum == signal.SIGKILL:
        process_tree.kill_tree(None, tree.values())
    else:
        process_tree.signal_all(tree.values(), signum)
    return len(tree)


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
