"""The local backend's cgroups, used directly: each attempt starts in a cgroup of its own, and the
orchestrator (moving on to the next cgroup in a thread of its own) is never in one that is killed."""

from __future__ import annotations

import subprocess
import sys

import pytest

ORCHESTRATOR = """
import os, signal, sys
from runall.backends.local.containment import Cgroups

groups = Cgroups.open()
if groups is None:
    print("unavailable")
    sys.exit(0)
try:
    for _ in range(40):
        pid, group = groups.spawn(lambda: os.posix_spawn("/bin/sleep", ["sleep", "30"], dict(os.environ)))
        unified = [line for line in open(f"/proc/{pid}/cgroup").read().splitlines() if line.startswith("0::")]
        assert unified[0].endswith("/" + group.name), (unified, group)
        groups.kill(group.name)                 # at once: the orchestrator may still be moving out
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
        groups.end(group.name)                  # empty now: kept for a later attempt
    print("ok", flush=True)
finally:
    groups.close()
"""


def test_an_attempt_cgroup_killed_right_after_its_start_never_takes_the_orchestrator_along() -> None:
    done = subprocess.run([sys.executable, "-c", ORCHESTRATOR], capture_output=True, text=True, timeout=120)
    if done.stdout.strip() == "unavailable":
        pytest.skip("cgroup v2 is not writable here")
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr}"
    assert done.stdout.strip() == "ok"
