"""The run loop: start what the scheduler allows, watch attempts, enforce timeouts, retries,
fail-fast and interrupts, and record every state change in the manifest and the reporter.

Time comes from an injected `Clock`, and attempts run through any `Backend`, so the loop's
decisions (backoff, deadlines, grace, verdicts) are unit-tested with a fake clock and a fake
backend in milliseconds; the real-process tests cover what only real processes show.
"""

from __future__ import annotations

import hashlib
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Any, Iterator, Protocol, Sequence

from runall.backends.base import Backend, ExitInfo, Handle, LaunchSpec
from runall.config import ExecutionOptions
from runall.model import Job, JobStatus
from runall.record.manifest import Manifest
from runall.run.events import JobEvent, Reporter, RunResult
from runall.run.resources import Allocation, job_environment
from runall.run.scheduler import Scheduler

MAX_RETRY_DELAY = 300.0
POLL_INTERVAL = 0.1      # longest sleep between checks; a job's exit wakes the loop sooner


class Clock(Protocol):
    """Where the runner gets time from: wall clock for records, monotonic for deadlines."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class _Attempt:
    """One running attempt and the deadlines that apply to it."""

    job: Job
    allocation: Allocation
    number: int
    handle: Handle
    log: Path
    start: float                    # wall clock
    deadline: float | None          # monotonic; None = no timeout
    stop_status: JobStatus | None = None   # TIMEOUT or CANCELLED once we asked it to stop
    stop_reason: str | None = None
    kill_at: float | None = None
    killed: bool = False


def job_token(run_token: str, job_id: str) -> str:
    """What identifies a job's attempts within a run (`Manifest.token`), for `Backend.kill_stale`."""
    return f"{run_token}/{job_id}"


def log_name(job_id: str, attempt: int) -> str:
    """`<id>.log` for the first attempt, `<id>.attempt<n>.log` after; ids made filename-safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", job_id)
    if safe != job_id:
        safe += "-" + hashlib.sha1(job_id.encode()).hexdigest()[:6]
    return f"{safe}.log" if attempt == 1 else f"{safe}.attempt{attempt}.log"


def launch_spec(run_dir: Path, run_token: str, job: Job, allocation: Allocation, attempt: int, root: Path,
                thread_limits: bool = True) -> LaunchSpec:
    """What the runner hands the backend for one attempt (also what `--dry-run` previews)."""
    return LaunchSpec(job.id, attempt, list(job.argv), root, job_environment(job, allocation, thread_limits),
                      run_dir / "logs" / log_name(job.id, attempt), job_token(run_token, job.id))


class Runner:
    """Runs the scheduler's jobs through a backend until all are final, or the run is stopped."""

    def __init__(self, manifest: Manifest, jobs: Sequence[Job], scheduler: Scheduler,
                 backend: Backend[Any], reporter: Reporter, options: ExecutionOptions, root: Path,
                 clock: Clock = SystemClock(), poll_interval: float = POLL_INTERVAL) -> None:
        self.manifest = manifest
        self.jobs = {job.id: job for job in jobs}
        self.scheduler = scheduler
        self.backend = backend
        self.reporter = reporter
        self.options = options
        self.root = root
        self.clock = clock
        self.poll_interval = poll_interval
        self.running: list[_Attempt] = []
        self.numbers = {job.id: manifest.record(job.id).attempts for job in jobs}   # last attempt number
        self.tries = dict.fromkeys(self.jobs, 0)        # attempts started in this run
        self._earlier = dict(self.numbers)              # attempts before it (resume)
        self.interrupts = 0
        self.stopping = False
        self.detached = False
        self._done = sum(rec.status.final for rec in manifest.records() if rec.id not in self.jobs)

    def run(self) -> RunResult:
        """Run to the end; returns the result (exit code 0, 1 or 130) after telling the reporter."""
        try:
            with self._signals():
                self._loop()
        finally:
            self._abort()
            self.backend.close()
        code = self.manifest.finish(interrupted=bool(self.interrupts))
        self.manifest.save()
        result = self._result(code)
        self.reporter.on_finish(result)
        return result

    def submit(self) -> int:
        """Detached run: start every job once and return without waiting; 1 when a submission
        failed (its dependents are SKIPPED), else 0. A job is submitted once the jobs it waits
        for are, and the backend makes the cluster wait for them (Slurm: afterok). No retries;
        `--status` asks the cluster later."""
        self.detached = True
        failed = False
        while ready := self.scheduler.ready(self.clock.monotonic()):
            for job, allocation in ready:
                self._start(job, allocation)
                if self.running and self.running[-1].job is job:
                    self.running.pop()
                    self.scheduler.submitted(job, allocation)
                else:
                    failed = True
        self.manifest.set_meta(status="submitted", exit_code=None, detached=True)
        self.manifest.save()
        return 1 if failed else 0

    # -- the loop -------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            if self.interrupts and not self.stopping:
                self._stop()
            if self.interrupts > 1:
                for attempt in self.running:
                    self._kill(attempt)
            if not self.stopping:
                for job, allocation in self.scheduler.ready(self.clock.monotonic()):
                    self._start(job, allocation)
            self.manifest.save(wait=False)
            if not self.running:
                if self.stopping or not self.scheduler.has_pending:
                    return
                due = self.scheduler.next_due()         # only retry delays are left to pass
                wait = self.poll_interval if due is None else due - self.clock.monotonic()
                self.clock.sleep(min(self.poll_interval, max(0.0, wait)))
                continue
            ended = self.backend.poll([a.handle for a in self.running], self._wait_time())
            for handle, info in ended:
                self._ended(next(a for a in self.running if a.handle is handle), info)
            self._enforce_deadlines(self.clock.monotonic())   # saved after the next starts, just below

    def _wait_time(self) -> float:
        now = self.clock.monotonic()
        times = [a.kill_at if a.stop_status else a.deadline for a in self.running if not a.killed]
        return max(0.0, min([self.poll_interval, *(t - now for t in times if t is not None)]))

    def _enforce_deadlines(self, now: float) -> None:
        for attempt in self.running:
            if attempt.stop_status is None and attempt.deadline is not None and now >= attempt.deadline:
                self._terminate(attempt, JobStatus.TIMEOUT, "timed out", now)
            elif attempt.kill_at is not None and now >= attempt.kill_at:
                self._kill(attempt)

    # -- starting and ending attempts -------------------------------------------------------

    def _start(self, job: Job, allocation: Allocation) -> None:
        number = self.numbers[job.id] = self.numbers[job.id] + 1
        self.tries[job.id] += 1
        spec = launch_spec(self.manifest.run_dir, self.manifest.token, job, allocation, number, self.root,
                           self.options.thread_limits)
        start = self.clock.time()
        self.manifest.begin_attempt(job.id, number, spec.log_path.relative_to(self.manifest.run_dir).as_posix(),
                                    start, allocation.gpu_ids if allocation.pin_gpus else None, allocation.cpus)
        try:
            handle = self.backend.start(spec)
        except OSError as exc:
            self._finish(job, allocation, number, spec.log_path, start, JobStatus.FAILED,
                         ExitInfo(None, reason=str(exc)))
            return
        timeout = job.timeout if job.timeout is not None else self.options.timeout
        self.running.append(_Attempt(job, allocation, number, handle, spec.log_path, start,
                                     self.clock.monotonic() + timeout if timeout else None))
        self.manifest.launched(job.id, handle.pid, handle.ref())
        self._emit(job, JobStatus.RUNNING, number, start=start, pid=handle.pid, log_path=spec.log_path)

    def _ended(self, attempt: _Attempt, info: ExitInfo) -> None:
        self.running.remove(attempt)
        status = attempt.stop_status or info.status or (
            JobStatus.SUCCEEDED if info.exit_code == 0 else JobStatus.FAILED)
        if attempt.stop_reason:
            info = replace(info, reason=attempt.stop_reason)
        self._finish(attempt.job, attempt.allocation, attempt.number, attempt.log, attempt.start, status, info)

    def _finish(self, job: Job, allocation: Allocation, number: int, log: Path, start: float,
                status: JobStatus, info: ExitInfo) -> None:
        """Record an attempt's end, then retry it, or make the job's status final."""
        end = self.clock.time()
        metrics = PurePath(job.output_dir, "metrics.json") if job.output_dir else None
        retries = self._retries(job)
        retry = status.retryable and not self.stopping and self.tries[job.id] <= retries
        self.manifest.end_attempt(job.id, status, end=end, retry=retry, exit_code=info.exit_code,
                                  signal=info.signal, reason=info.reason, peak_rss=info.peak_rss,
                                  metrics=metrics.as_posix() if metrics and (self.root / metrics).is_file() else None)
        event = dict(start=start, end=end, duration=end - start, log_path=log,
                     exit_code=info.exit_code, signal=info.signal, reason=info.reason)
        if retry:
            delay = min(self.options.retry_delay * 2 ** (self.tries[job.id] - 1), MAX_RETRY_DELAY)
            self.scheduler.retry(job, allocation, self.clock.monotonic() + delay)
            self._emit(job, status, number, will_retry=True, retry_in=delay, **event)
            return
        self._done += 1
        self._emit(job, status, number, **event)
        for skipped, dependency in self.scheduler.finished(job, allocation, status is JobStatus.SUCCEEDED):
            self._mark(skipped, JobStatus.SKIPPED, f"dependency {dependency} did not succeed")
        if status is not JobStatus.SUCCEEDED and self.options.fail_fast and job.required and not self.stopping:
            self._stop()

    def _retries(self, job: Job) -> int:
        if self.detached:
            return 0
        return job.retries if job.retries is not None else self.options.retries

    def _mark(self, job: Job, status: JobStatus, reason: str) -> None:
        """Make a job that never started (again) final: SKIPPED or CANCELLED."""
        self.manifest.mark(job.id, status, reason)
        self._done += 1
        self._emit(job, status, self.numbers[job.id], reason=reason)

    # -- stopping -------------------------------------------------------------------------

    def _stop(self) -> None:
        """Start nothing new; ask every running attempt to stop (fail-fast or interrupt)."""
        self.stopping = True
        why = "interrupted" if self.interrupts else "fail-fast: another job failed"
        for job in self.scheduler.cancel():
            self._mark(job, JobStatus.CANCELLED, why)
        now = self.clock.monotonic()
        for attempt in self.running:
            if attempt.stop_status is not JobStatus.TIMEOUT:
                self._terminate(attempt, JobStatus.CANCELLED, why, now)

    def _terminate(self, attempt: _Attempt, status: JobStatus, reason: str, now: float) -> None:
        attempt.stop_status, attempt.stop_reason = status, reason
        if attempt.kill_at is None:
            attempt.kill_at = now + self.options.grace
            self.backend.terminate(attempt.handle)
            self._emit(attempt.job, JobStatus.RUNNING, attempt.number, start=attempt.start, pid=attempt.handle.pid,
                       log_path=attempt.log, reason=reason, stopping=True)

    def _kill(self, attempt: _Attempt) -> None:
        if not attempt.killed:
            attempt.killed = True
            self.backend.kill(attempt.handle)

    def _abort(self) -> None:
        """Last resort on the way out (an error escaped the loop): leave no job process behind."""
        for attempt in list(self.running):
            self._kill(attempt)
            self.running.remove(attempt)
            self.manifest.end_attempt(attempt.job.id, JobStatus.CANCELLED, end=self.clock.time(),
                                      reason="orchestrator error")
        self.manifest.save()

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """Count SIGINT, SIGTERM and SIGHUP (a closed terminal) instead of dying, where this thread
        may install handlers."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            self.interrupts += 1

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    # -- bookkeeping ------------------------------------------------------------------------

    def _emit(self, job: Job, status: JobStatus, attempt: int, **details: Any) -> None:
        max_attempts = self._earlier[job.id] + 1 + self._retries(job)
        self.reporter.on_event(JobEvent(job.id, status, attempt, max_attempts, self._done,
                                        len(self.manifest.records()), self.clock.time(), **details))

    def _result(self, code: int) -> RunResult:
        counts: dict[str, int] = {}
        for rec in self.manifest.records():
            counts[rec.status.value] = counts.get(rec.status.value, 0) + 1
        return RunResult(self.manifest.run_id, self.manifest.run_dir, code, bool(self.interrupts),
                         counts, self.manifest)
