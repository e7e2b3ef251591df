"""The backend protocol: how the runner starts, polls and stops job attempts, and what else
differs between places jobs run (capacity, previews, detached runs).

The runner and scheduler know nothing about processes or clusters; each backend package
(`local`, `slurm`, ...) implements `Backend` and is found through the registry in
`runall.backends`.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Protocol, Sequence, TypeVar

from runall.errors import UsageError
from runall.model import Job, JobStatus

if TYPE_CHECKING:
    from runall.config import ExecutionOptions, Project, Sourced
    from runall.run.launchers import Launch
    from runall.run.resources import Capacity

TOKEN_VAR = "RUNALL_JOB_TOKEN"     # set in every attempt's environment: what finds its leftovers


@dataclass(frozen=True)
class LaunchSpec:
    """Everything a backend needs to start one attempt of a job.

    `env` holds only the variables to set on top of the orchestrator's environment.
    `token` identifies the job within the run, so leftovers can be found again later.
    `launch`, when set, says that `argv` (interpreter, script, args) runs as several
    processes through a launcher; each backend builds that command (`runall.run.launchers`).
    """

    job_id: str
    attempt: int
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    token: str
    launch: Launch | None = None


@dataclass(frozen=True)
class ExitInfo:
    """How an attempt ended: an exit code, or the signal that killed it.

    `status` is the backend's own verdict where it has one (e.g. a cluster's time limit:
    TIMEOUT); left None, the runner judges by the exit code. `requeued` marks an attempt that
    the cluster ended and queued again under the same handle (Slurm `--requeue`): the runner
    records it as PREEMPTED and keeps watching the handle as the next attempt.
    """

    exit_code: int | None
    signal: str | None = None
    peak_rss: int | None = None     # bytes, where the backend can tell
    status: JobStatus | None = None
    reason: str | None = None
    requeued: bool = False          # the cluster put the attempt back in its queue: the next one follows


def shell_comment(text: str) -> str:
    """`# text` as one line whatever `text` holds: control characters (a newline in a file name
    would start a command when the preview is pasted into a shell) are escaped."""
    return "# " + "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def refuse_multi_node(jobs: Sequence[Job], backend: str) -> None:
    """UsageError for the first job asking for several nodes, which only Slurm runs."""
    for job in jobs:
        if job.nodes > 1:
            raise UsageError(f"nodes={job.nodes} needs the Slurm backend, not {backend} (--backend slurm)",
                             where=f"job {job.id}")


def signal_name(signum: int) -> str:
    """`SIGTERM` for 15; `SIG99` for a number with no name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIG{signum}"


class Handle(Protocol):
    """A started attempt; `pid` is None where the backend has no local process."""

    @property
    def pid(self) -> int | None: ...

    def ref(self) -> dict[str, Any]:
        """JSON-ready reference stored in the manifest, for `kill_stale`/`reattach`; has the token."""
        ...


H = TypeVar("H", bound=Handle)


class Backend(Protocol[H]):
    """Starts, watches and stops job attempts; says what room there is and what it would submit.

    Class attributes: `name` (what `--backend` takes), `counts_local_memory` (whether the
    scheduler weighs this machine's free memory), `can_detach` (whether `--detach` and
    `--status` work: attempts outlive the orchestrator and can be found again by `reattach`).

    Optional: `start_batch(specs) -> list[H | OSError]` starts attempts that may start at once
    in one go (the Slurm backend submits them as job arrays); the runner calls it, where a
    backend has it, instead of `start` for each. `prepare()` begins, in the background, what
    the first `start` needs (the local backend's containment): a run calls it, where a
    backend has it, before recording the run, so the two overlap.
    """

    name: ClassVar[str]
    counts_local_memory: ClassVar[bool]
    can_detach: ClassVar[bool]

    @classmethod
    def parse_settings(cls, project: Project, values: Mapping[str, Sourced]) -> Any:
        """This backend's own settings (e.g. `[tool.runall.slurm]`), validated with located errors;
        `values` holds every resolved option, for a backend's own flags (`--ray-address`)."""
        ...

    @classmethod
    def create(cls, jobs: Sequence[Job], options: ExecutionOptions, settings: Any) -> "Backend[H]":
        """The backend for one run of `jobs`."""
        ...

    def capacity(self) -> Capacity:
        """The room jobs share: this machine's cores/GPUs/memory, or a cluster's."""
        ...

    def preview(self, specs: Sequence[LaunchSpec]) -> str:
        """`--dry-run`: what starting each spec would run or submit; runs nothing."""
        ...

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

    def describe(self, ref: Mapping[str, Any]) -> str:
        """Where an attempt runs, for people: `pid 4242`, `Slurm job 17`."""
        ...

    def reattach(self, ref: Mapping[str, Any]) -> H:
        """A handle for an attempt started by an earlier orchestrator (`can_detach` backends)."""
        ...

    def kill_stale(self, refs: Sequence[Mapping[str, Any]]) -> int:
        """Stop what is left of attempts started by an orchestrator that died; returns a count.

        Each ref is a `Handle.ref()` from the manifest, or only `{"token": ...}` where the
        manifest had not recorded one yet.
        """
        ...

    def close(self) -> None:
        """End of the run: stop anything the run's attempts left running."""
        ...
