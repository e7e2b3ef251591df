"""The backend interface: how the runner starts, polls and stops one job attempt.

The runner and scheduler know nothing about processes; a backend (local subprocesses
now, Slurm later) implements this protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence, TypeVar

from runall.run.events import JobStatus


@dataclass(frozen=True)
class LaunchSpec:
    """Everything a backend needs to start one attempt of a job.

    `env` holds only the variables to set on top of the orchestrator's environment.
    `token` identifies the job within the run, so leftovers can be found again later.
    """

    job_id: str
    attempt: int
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    token: str


@dataclass(frozen=True)
class ExitInfo:
    """How an attempt ended: an exit code, or the signal that killed it.

    `status` is the backend's own verdict where it has one (e.g. a cluster's time limit:
    TIMEOUT); left None, the runner judges by the exit code.
    """

    exit_code: int | None
    signal: str | None = None
    peak_rss: int | None = None     # bytes, where the backend can tell
    status: JobStatus | None = None
    reason: str | None = None


class Handle(Protocol):
    """A started attempt; `pid` is None where the backend has no local process."""

    @property
    def pid(self) -> int | None: ...

    def ref(self) -> dict[str, Any]:
        """JSON-ready reference stored in the manifest, for `Backend.kill_stale`; has the token."""
        ...


H = TypeVar("H", bound=Handle)


class Backend(Protocol[H]):
    """Starts, watches and stops job attempts."""

    def start(self, spec: LaunchSpec) -> H:
        """Start an attempt; raises OSError when it cannot be started."""
        ...

    def poll(self, handles: Sequence[H], timeout: float) -> list[tuple[H, ExitInfo]]:
        """Return the attempts that ended, waiting up to `timeout` seconds for one to end."""
        ...

    def terminate(self, handle: H) -> None:
        """Ask an attempt to stop (SIGTERM or equivalent)."""
        ...

    def kill(self, handle: H) -> None:
        """Stop an attempt and everything it started, at once."""
        ...

    def kill_stale(self, refs: Sequence[dict[str, Any]]) -> int:
        """Stop what is left of attempts started by an orchestrator that died; returns a count.

        Each ref is a `Handle.ref()` from the manifest, or only `{"token": ...}` where the
        manifest had not recorded one yet.
        """
        ...

    def close(self) -> None:
        """End of the run: stop anything the run's attempts left running."""
        ...
