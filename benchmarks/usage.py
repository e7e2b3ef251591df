"""One process's own cost: wall time, CPU time of that process alone (its children excluded)
and its peak resident set, read from /proc while it runs and once more as it exits."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .common import shown

SAMPLE_S = 0.02
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    """Seconds of wall clock and of the process's own CPU (user + system), peak RSS in MiB."""

    wall: float
    cpu: float
    peak_mib: float


def status_kib(pid: int, field: str) -> int:
    """A `VmXXX:` value (KiB) from /proc/<pid>/status; 0 once the process has no memory map."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _own_cpu(pid: int) -> float:
    """utime + stime of the process itself (all its threads, none of its children), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def measure(argv: Sequence[str], cwd: Path | None = None, stdin: bytes | None = None) -> Usage:
    """Run a command (output kept aside) and return its own usage; raise when it fails.

    CPU is read from /proc/<pid>/stat once the process has exited but before it is reaped
    (a zombie keeps its own times, which exclude its children's); the peak RSS (VmHWM) is
    sampled every SAMPLE_S while it runs.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as feed:
        feed.write(stdin or b"")
        feed.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, stdin=feed, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            peak = max(peak, status_kib(proc.pid, "VmHWM"))
            time.sleep(SAMPLE_S)
        wall = time.perf_counter() - start
        cpu = _own_cpu(proc.pid)
        if proc.wait() != 0:
            out.seek(max(0, out.tell() - 3000))
            raise RuntimeError(f"{shown(argv)} exited {proc.returncode}: {out.read().decode(errors='replace')}")
    return Usage(wall, cpu, peak / 1024)
