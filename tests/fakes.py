"""A fake clock and a scripted backend: the runner's decisions tested in milliseconds.

`FakeClock` only moves when the runner sleeps or the backend waits; callbacks registered
with `at` fire as time passes them (e.g. a Ctrl-C at t=5). `FakeBackend` runs no process:
each attempt of a job follows the next `Behaviour` in its script (the last one repeats),
and every start, terminate and kill is recorded with the time it happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Sequence

from runall.backends.base import ExitInfo, LaunchSpec
from runall.model import JobStatus
from runall.run.resources import Capacity


class FakeClock:
    """Time that passes only when asked to; wall clock = 1e9 + monotonic."""

    def __init__(self) -> None:
        self.now = 0.0
        self._due: list[tuple[float, Callable[[], None]]] = []

    def time(self) -> float:
        return 1e9 + self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Call `action` once time reaches `when`."""
        self._due.append((when, action))

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        for item in [d for d in self._due if d[0] <= self.now]:
            self._due.remove(item)
            item[1]()


@dataclass(frozen=True)
class Behaviour:
    """One attempt: it exits with `exit_code` after `duration` s, unless stopped first."""

    duration: float = 0.0
    exit_code: int = 0
    ignores_term: bool = False
    fails_to_start: bool = False
    requeue_at: float | None = None     # the backend reports a requeue then; the attempt goes on


@dataclass(eq=False)
class FakeHandle:
    job_id: str
    attempt: int
    ends_at: float
    info: ExitInfo
    ignores_term: bool
    requeue_at: float | None = None
    pid: int | None = None

    def ref(self) -> dict[str, Any]:
        return {"token": f"fake/{self.job_id}", "attempt": self.attempt}


@dataclass
class FakeBackend:
    """Scripted attempts (`scripts[job_id]`: one Behaviour per attempt), recorded calls."""

    clock: FakeClock
    scripts: Mapping[str, Sequence[Behaviour]] = field(default_factory=dict)
    slots: int = 1
    calls: list[tuple[float, str, str, int]] = field(default_factory=list)   # (time, what, job, attempt)
    name: ClassVar[str] = "fake"
    counts_local_memory: ClassVar[bool] = False
    can_detach: ClassVar[bool] = False

    def capacity(self) -> Capacity:
        return Capacity(self.slots, 64, (), 1 << 40)

    def preview(self, specs: Sequence[LaunchSpec]) -> str:
        return "".join(f"{spec.job_id}\n" for spec in specs)

    def start(self, spec: LaunchSpec) -> FakeHandle:
        script = self.scripts.get(spec.job_id, [Behaviour()])
        behaviour = script[min(spec.attempt, len(script)) - 1]
        self.calls.append((self.clock.now, "start", spec.job_id, spec.attempt))
        if behaviour.fails_to_start:
            raise OSError(f"cannot start {spec.job_id}")
        requeue = None if behaviour.requeue_at is None else self.clock.now + behaviour.requeue_at
        return FakeHandle(spec.job_id, spec.attempt, self.clock.now + behaviour.duration,
                          ExitInfo(behaviour.exit_code), behaviour.ignores_term, requeue)

    def poll(self, handles: Sequence[FakeHandle], timeout: float) -> list[tuple[FakeHandle, ExitInfo]]:
        first = min(min(h.ends_at, h.requeue_at or h.ends_at) for h in handles)
        self.clock.advance(min(timeout, first - self.clock.now))
        requeued = [h for h in handles if h.requeue_at is not None and h.requeue_at <= self.clock.now]
        for handle in requeued:
            handle.requeue_at = None
            self.calls.append((self.clock.now, "requeue", handle.job_id, handle.attempt))
        return [(h, ExitInfo(None, status=JobStatus.PREEMPTED, reason="requeued", requeued=True)) for h in requeued] + [
            (h, h.info) for h in handles if h.ends_at <= self.clock.now and h not in requeued]

    def terminate(self, handle: FakeHandle) -> None:
        self.calls.append((self.clock.now, "terminate", handle.job_id, handle.attempt))
        if not handle.ignores_term:
            handle.ends_at, handle.info = self.clock.now, ExitInfo(None, "SIGTERM")

    def kill(self, handle: FakeHandle) -> None:
        self.calls.append((self.clock.now, "kill", handle.job_id, handle.attempt))
        handle.ends_at, handle.info = self.clock.now, ExitInfo(None, "SIGKILL")

    def describe(self, ref: Mapping[str, Any]) -> str:
        return f"fake attempt {ref.get('attempt')}"

    def reattach(self, ref: Mapping[str, Any]) -> FakeHandle:
        raise NotImplementedError

    def kill_stale(self, refs: Sequence[Mapping[str, Any]]) -> int:
        return 0

    def close(self) -> None:
        self.calls.append((self.clock.now, "close", "", 0))

    def made(self, what: str) -> list[tuple[float, str, int]]:
        """The recorded calls of one kind: (time rounded to a microsecond, job, attempt)."""
        return [(round(t, 6), job, attempt) for t, kind, job, attempt in self.calls if kind == what]
