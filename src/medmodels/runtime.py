"""Process-level concerns shared by every script: exit codes, signals, threads, timing."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType
from typing import Callable, Iterator

from .errors import EXIT_FAILURE, EXIT_USAGE, DataError, Terminated

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _raise_terminated(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


def run_main(prog: str, job: Callable[[], None]) -> int:
    """Run `job` and turn its outcome into an exit code with a one-line message on failure.

    SIGTERM and SIGINT raise `Terminated` (exit 128 + signal) so that `finally` blocks and
    atomic writes complete; code that must save state first installs `StopRequest`.
    """
    prog = Path(prog).name
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_terminated)
    try:
        job()
    except DataError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated as exc:
        print(f"{prog}: stopped by {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception:  # noqa: BLE001 - the last line of defence: report, then fail
        traceback.print_exc()
        return EXIT_FAILURE
    return 0


class StopRequest:
    """Records SIGTERM/SIGINT instead of raising, so a loop can save and stop between steps."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        self.signum = signum

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def raise_if_requested(self) -> None:
        if self.signum is not None:
            raise Terminated(self.signum)


@contextlib.contextmanager
def deferred_stop() -> Iterator[StopRequest]:
    """Within the block, stop signals only set a flag; the previous handlers return after."""
    request = StopRequest()
    previous = {signum: signal.signal(signum, request._record) for signum in STOP_SIGNALS}
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def cpu_threads() -> int:
    """Threads to use: OMP_NUM_THREADS, else SLURM_CPUS_PER_TASK, else the CPUs we may run on."""
    for variable in ("OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK"):
        value = os.environ.get(variable, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
