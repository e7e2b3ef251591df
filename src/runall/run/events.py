"""The events the runner emits, and the reporter protocol that receives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from runall.model import JobStatus

if TYPE_CHECKING:
    from runall.record.manifest import Manifest


@dataclass(frozen=True)
class JobEvent:
    """One state change of one job attempt.

    `done`/`total` count jobs in a final state, for progress displays. `will_retry` marks a
    FAILED/TIMEOUT attempt that is followed by another one after `retry_in` seconds.
    `stopping` marks a RUNNING attempt that was just asked to stop (`reason`: interrupted,
    timed out, fail-fast); its end follows as another event. Times are wall-clock epoch seconds.
    """

    job_id: str
    status: JobStatus
    attempt: int
    max_attempts: int
    done: int
    total: int
    time: float
    start: float | None = None
    end: float | None = None
    duration: float | None = None
    pid: int | None = None
    log_path: Path | None = None
    exit_code: int | None = None
    signal: str | None = None
    reason: str | None = None
    will_retry: bool = False
    retry_in: float | None = None
    stopping: bool = False


@dataclass(frozen=True)
class RunResult:
    """Outcome of a whole run: what a reporter shows at the end and what the CLI returns."""

    run_id: str
    run_dir: Path
    exit_code: int
    interrupted: bool
    counts: dict[str, int]
    manifest: Manifest = field(repr=False)


class Reporter(Protocol):
    """Receives events as they happen and the result at the end (plain lines, rich view, ...)."""

    def on_event(self, event: JobEvent) -> None: ...

    def on_finish(self, result: RunResult) -> None: ...
