"""Where the local backend starts attempts: on the CPU the last ended attempt left, pinned only
for the start. Jobs and the orchestrator always end up with every CPU they were allowed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import run_cli

pytestmark = pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda pid: ())(0)) < 2,
                                reason="one CPU (or not Linux): nothing to place")

# A real spawn through Placement: the starting thread is pinned to the CPU the ended process
# last ran on, the child starts there, and both get every CPU back.
PLACED = """
import os
from runall.backends.local.placement import Placement, last_cpu

placement = Placement()
first = os.posix_spawn("/bin/true", ["true"], dict(os.environ))
os.waitid(os.P_PID, first, os.WEXITED | os.WNOWAIT)      # exited, not reaped: as the backend sees it
placement.ended(first)
left = last_cpu(first)
os.waitpid(first, 0)
cpu = placement.pin()
assert cpu == left and os.sched_getaffinity(0) == {cpu}, (cpu, left, os.sched_getaffinity(0))
child = os.posix_spawn("/bin/sleep", ["sleep", "5"], dict(os.environ))
assert os.sched_getaffinity(child) == {cpu}               # born on that CPU
placement.unpin(cpu, child)
assert os.sched_getaffinity(child) == placement.cpus == os.sched_getaffinity(0)
assert placement.pin() is None                            # each ended attempt's CPU serves one start
os.kill(child, 9)
os.waitpid(child, 0)
print("ok")
"""

# Each job reports its own CPUs, a child's, and its orchestrator's (its parent). The orchestrator
# is pinned while it starts another job (a fraction of a millisecond): it must not stay pinned.
REPORT = """import os, subprocess, sys, time
child = subprocess.run([sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
                       capture_output=True, text=True).stdout.strip()
mine, deadline = os.sched_getaffinity(0), time.monotonic() + 5
while os.sched_getaffinity(os.getppid()) != mine and time.monotonic() < deadline:
    time.sleep(0.001)
print(sorted(mine), child, sorted(os.sched_getaffinity(os.getppid())))
"""


def test_a_spawn_is_pinned_to_the_cpu_an_ended_process_left_and_released_after() -> None:
    done = subprocess.run([sys.executable, "-c", PLACED], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_jobs_children_and_orchestrator_keep_every_cpu(make_repo) -> None:
    root = make_repo({f"train_{i:02d}.py": REPORT for i in range(16)})
    done = run_cli("--root", str(root), "--parallel", "--max-workers", "2", "--runs-dir", str(root.parent / "runs"),
                   cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    every = str(sorted(os.sched_getaffinity(0)))
    logs = sorted((root.parent / "runs" / "latest" / "logs").glob("*.log"))
    assert len(logs) == 16
    for log in logs:
        assert log.read_text().strip() == f"{every} {every} {every}", log.name
