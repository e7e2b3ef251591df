"""The run loop: start what the scheduler allows, watch attempts, enforce timeouts, retries,
fail-fast and interrupts, and record every state change in the manifest and the reporter.

Time comes from an injected `Clock`, and attempts run through any `Backend`, so the loop's
decisions (backoff, deadlines, grace, verdicts) are unit-tested with a fake clock and a fake
backend in milliseconds; the real-process tests cover what only real processes show.
"""

from __future__ import annotations

import gc
import hashlib
import heapq
import itertools
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Any, Callable, Iterator, Protocol, Sequence

from runall.backends.base import Backend, ExitInfo, Handle, LaunchSpec
from runall.config import ExecutionOptions
from runall.errors import EXIT_RECORD, RecordError
from runall.model import Job, JobStatus
from runall.record.manifest import DISK_ERRNOS, Manifest
from runall.run.events import JobEvent, Reporter, RunResult
from runall.run.launchers import launch_for, launcher_env
from runall.run.locks import OutputLocks
from runall.run.resources import Allocation, job_environment
from runall.run.scheduler import Scheduler

MAX_RETRY_DELAY = 300.0
POLL_INTERVAL = 0.1      # longest sleep between checks; a job's exit wakes the loop sooner
MTIME_SLACK = 2.0        # file systems with coarse timestamps: a metrics file this much older still counts
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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
    safe = _UNSAFE.sub("_", job_id)
    if safe != job_id:
        safe += "-" + hashlib.sha1(job_id.encode()).hexdigest()[:6]
    return f"{safe}.log" if attempt == 1 else f"{safe}.attempt{attempt}.log"


def launch_spec(run_dir: Path, run_token: str, job: Job, allocation: Allocation, attempt: int, root: Path,
                thread_limits: bool = True) -> LaunchSpec:
    """What the runner hands the backend for one attempt (also what `--dry-run` previews); under a
    launcher, thread caps are each process's share of the job's CPUs."""
    log_path = run_dir / "logs" / log_name(job.id, attempt)
    launch = launch_for(job, log_path)
    if launch is None:
        env = job_environment(job, allocation, thread_limits)
    else:
        share = replace(allocation, cpus=max(1, allocation.cpus // launch.procs))
        env = {**launcher_env(launch), **job_environment(job, share, thread_limits)}
    return LaunchSpec(job.id, attempt, list(job.argv), root, env, log_path, job_token(run_token, job.id), launch)


class Runner:
    """Runs the scheduler's jobs through a backend until all are final, or the run is stopped.

    Each event costs the same whatever the number of jobs: running attempts are found by
    their handle, timers (timeouts, grace periods) wait in a heap, the manifest is told only
    what changed. A backend with `start_batch(specs)` gets every attempt that may start at
    once in one call (Slurm submits them as job arrays). When the manifest cannot be
    written (disk full, read-only), the run starts nothing new, lets running attempts end,
    and exits 74.
    """

    def __init__(self, manifest: Manifest, jobs: Sequence[Job], scheduler: Scheduler,
                 backend: Backend[Any], reporter: Reporter, options: ExecutionOptions, root: Path,
                 clock: Clock = SystemClock(), poll_interval: float = POLL_INTERVAL,
                 warn: Callable[[str], None] | None = None) -> None:
        self.manifest = manifest
        self.jobs = {job.id: job for job in jobs}
        self.scheduler = scheduler
        self.backend = backend
        self.reporter = reporter
        self.options = options
        self.root = root
        self.clock = clock
        self.poll_interval = poll_interval
        self.warn = warn or _print_error
        self.running: dict[int, _Attempt] = {}           # by id() of the attempt's handle
        self.numbers = {job.id: manifest.record(job.id).attempts for job in jobs}   # last attempt number
        self.tries = dict.fromkeys(self.jobs, 0)        # attempts started in this run
        self._earlier = dict(self.numbers)              # attempts before it (resume)
        self.interrupts = 0
        self.stopping = False
        self.detached = False
        self.halted: RecordError | None = None          # the write error that stopped new starts
        self.locks = OutputLocks(manifest.run_dir.parent, manifest.run_id)
        self._timers: list[tuple[float, int, _Attempt]] = []
        self._tick = itertools.count()
        self._total = len(manifest)
        self._done = sum(rec.status.final for rec in manifest.records() if rec.id not in self.jobs)

    def run(self) -> RunResult:
        """Run to the end; returns the result (exit code 0, 1, 74 or 130) after telling the reporter."""
        gc.freeze()     # the plan's objects live to the end: collections need not scan them again
        try:
            with self._signals():
                self._loop()
        finally:
            gc.unfreeze()   # collectable again, in a process that goes on (tests, a notebook)
            self._abort()
            self.backend.close()
            self.locks.close()
        code = self.manifest.finish(interrupted=bool(self.interrupts), write_failed=self.halted is not None)
        try:
            self.manifest.save()
        except RecordError as exc:
            if self.halted is None:             # else said already, when the run halted
                self.warn(str(exc))
            code = EXIT_RECORD
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
            started = {attempt.job.id: attempt for attempt in self._start_all(ready)}
            for job, allocation in ready:
                attempt = started.get(job.id)
                if attempt is None:
                    failed = True
                    continue
                del self.running[id(attempt.handle)]
                self.locks.release(job.id)
                self.scheduler.submitted(job, allocation)
        self.locks.close()
        self.manifest.set_meta(status="submitted", exit_code=None, detached=True)
        self.manifest.save()
        return 1 if failed else 0

    # -- the loop -------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            if self.interrupts and not self.stopping:
                self._stop()
            if self.interrupts > 1:
                for attempt in self.running.values():
                    self._kill(attempt)
            if not self.stopping and self.halted is None:
                ready = self.scheduler.ready(self.clock.monotonic())
                if ready:
                    self._start_all(ready)
            self.manifest.save(wait=False)
            if self.manifest.write_error is not None and self.halted is None:
                self._halt(self.manifest.write_error)
            if not self.running:
                if self.stopping or self.halted is not None or not self.scheduler.has_pending:
                    return
                due = self.scheduler.next_due()         # only retry delays are left to pass
                wait = self.poll_interval if due is None else due - self.clock.monotonic()
                self.clock.sleep(min(self.poll_interval, max(0.0, wait)))
                continue
            ended = self.backend.poll([a.handle for a in self.running.values()], self._wait_time())
            for handle, info in ended:
                self._ended(self.running[id(handle)], info)
            self._enforce_deadlines(self.clock.monotonic())   # saved after the next starts, just below

    def _wait_time(self) -> float:
        while self._timers and not self._due(*self._timers[0]):
            heapq.heappop(self._timers)
        if not self._timers:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, self._timers[0][0] - self.clock.monotonic()))

    def _enforce_deadlines(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            when, tick, attempt = heapq.heappop(self._timers)
            if not self._due(when, tick, attempt):
                continue
            if attempt.stop_status is None:
                self._terminate(attempt, JobStatus.TIMEOUT, "timed out", now)
            else:
                self._kill(attempt)

    def _due(self, when: float, tick: int, attempt: _Attempt) -> bool:
        """Whether a timer still applies: its attempt runs and still waits for that moment."""
        if self.running.get(id(attempt.handle)) is not attempt or attempt.killed:
            return False
        return when == (attempt.deadline if attempt.stop_status is None else attempt.kill_at)

    def _set_timer(self, when: float | None, attempt: _Attempt) -> None:
        if when is not None:
            heapq.heappush(self._timers, (when, next(self._tick), attempt))

    # -- starting and ending attempts -------------------------------------------------------

    def _start_all(self, ready: list[tuple[Job, Allocation]]) -> list[_Attempt]:
        """Start attempts of the jobs the scheduler handed out: in one `start_batch` call where
        the backend has one, else one by one; returns those that started."""
        start_batch = getattr(self.backend, "start_batch", None)
        started: list[_Attempt] = []
        if start_batch is None or len(ready) == 1:
            for i, (job, allocation) in enumerate(ready):
                if self.halted is not None:
                    self._give_back(ready[i:])
                    break
                begun = self._begin(job, allocation)
                if begun is not None:
                    attempt = self._launched(begun, self._start_one(begun[2]))
                    started += [attempt] if attempt else []
            return started
        begun_all = [b for job, allocation in ready if (b := self._begin(job, allocation)) is not None]
        outcomes = start_batch([spec for _, _, spec, _ in begun_all]) if begun_all else []
        for begun, outcome in zip(begun_all, outcomes):
            attempt = self._launched(begun, outcome)
            started += [attempt] if attempt else []
        return started

    def _begin(self, job: Job, allocation: Allocation) -> tuple[Job, Allocation, LaunchSpec, float] | None:
        """Record a new attempt as begun and lock the job's output folder; None when the attempt
        ended already (the folder is in use by another run, or its lock cannot be written)."""
        number = self.numbers[job.id] = self.numbers[job.id] + 1
        self.tries[job.id] += 1
        spec = launch_spec(self.manifest.run_dir, self.manifest.token, job, allocation, number, self.root,
                           self.options.thread_limits)
        start = self.clock.time()
        self.manifest.begin_attempt(job.id, number, f"logs/{spec.log_path.name}", start,
                                    allocation.gpu_ids if allocation.pin_gpus else None, allocation.cpus)
        if job.output_dir:
            try:
                holder = self.locks.acquire(job.id, self.root / job.output_dir)
            except OSError as exc:
                self._finish(job, allocation, number, spec.log_path, start, *self._start_error(exc), ran=False)
                return None
            if holder is not None:
                self._finish(job, allocation, number, spec.log_path, start, JobStatus.FAILED,
                             ExitInfo(None, reason=f"output directory {job.output_dir} is in use by {holder}"),
                             ran=False)
                return None
        return job, allocation, spec, start

    def _start_one(self, spec: LaunchSpec) -> Handle | OSError:
        try:
            return self.backend.start(spec)
        except OSError as exc:
            return exc

    def _launched(self, begun: tuple[Job, Allocation, LaunchSpec, float], outcome: Handle | OSError) -> _Attempt | None:
        """Register a started attempt (or record why it could not start)."""
        job, allocation, spec, start = begun
        if isinstance(outcome, OSError):
            self._finish(job, allocation, spec.attempt, spec.log_path, start, *self._start_error(outcome), ran=False)
            return None
        timeout = job.timeout if job.timeout is not None else self.options.timeout
        attempt = _Attempt(job, allocation, spec.attempt, outcome, spec.log_path, start,
                           self.clock.monotonic() + timeout if timeout else None)
        self.running[id(outcome)] = attempt
        self._set_timer(attempt.deadline, attempt)
        self.manifest.launched(job.id, outcome.pid, outcome.ref())
        self._emit(job, JobStatus.RUNNING, spec.attempt, start=start, pid=outcome.pid, log_path=spec.log_path)
        return attempt

    def _start_error(self, exc: OSError) -> tuple[JobStatus, ExitInfo]:
        """How an attempt that could not start ends: FAILED, or CANCELLED when the disk refused a
        file of the run (which also stops the run from starting more)."""
        if exc.errno in DISK_ERRNOS:
            self._halt(RecordError(exc.filename or self.manifest.run_dir, exc))
            return JobStatus.CANCELLED, ExitInfo(None, reason=f"not started: {self.halted}")
        return JobStatus.FAILED, ExitInfo(None, reason=str(exc))

    def _give_back(self, ready: list[tuple[Job, Allocation]]) -> None:
        """Jobs handed out but not started because the run halted: CANCELLED, resources returned."""
        for job, allocation in ready:
            self.scheduler.pool.release(allocation)
            self._mark(job, JobStatus.CANCELLED, f"not started: {self.halted}")

    def _ended(self, attempt: _Attempt, info: ExitInfo) -> None:
        if info.requeued:
            self._requeued(attempt, info)
            return
        del self.running[id(attempt.handle)]
        status = attempt.stop_status or info.status or (
            JobStatus.SUCCEEDED if info.exit_code == 0 else JobStatus.FAILED)
        if attempt.stop_reason:
            info = replace(info, reason=attempt.stop_reason)
        self._finish(attempt.job, attempt.allocation, attempt.number, attempt.log, attempt.start, status, info)

    def _requeued(self, attempt: _Attempt, info: ExitInfo) -> None:
        """The backend queued the attempt again (Slurm requeue): it ends PREEMPTED and the next
        attempt goes on under the same handle, with its own log and deadline."""
        job, now = attempt.job, self.clock.time()
        number = self.numbers[job.id] = self.numbers[job.id] + 1
        self._earlier[job.id] += 1
        log = self.manifest.run_dir / "logs" / log_name(job.id, number)
        self.manifest.requeued(job.id, number, log.relative_to(self.manifest.run_dir).as_posix(), end=now,
                               reason=info.reason, backend_ref=attempt.handle.ref())
        self._emit(job, JobStatus.PREEMPTED, attempt.number, will_retry=True, retry_in=0.0, start=attempt.start,
                   end=now, duration=now - attempt.start, log_path=attempt.log, reason=info.reason)
        timeout = job.timeout if job.timeout is not None else self.options.timeout
        attempt.number, attempt.log, attempt.start = number, log, now
        if attempt.stop_status is None:
            attempt.deadline = self.clock.monotonic() + timeout if timeout else None
            self._set_timer(attempt.deadline, attempt)
        self._emit(job, JobStatus.RUNNING, number, start=now, pid=None, log_path=log)

    def _finish(self, job: Job, allocation: Allocation, number: int, log: Path, start: float,
                status: JobStatus, info: ExitInfo, ran: bool = True) -> None:
        """Record an attempt's end (`ran`: it did start), then retry it, or make the job's status final."""
        self.locks.release(job.id)
        end = self.clock.time()
        retries = self._retries(job)
        retry = status.retryable and not self.stopping and self.halted is None and self.tries[job.id] <= retries
        self.manifest.end_attempt(job.id, status, end=end, retry=retry, exit_code=info.exit_code,
                                  signal=info.signal, reason=info.reason, peak_rss=info.peak_rss,
                                  metrics=self._metrics(job, start) if ran else None)
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

    def _metrics(self, job: Job, start: float) -> str | None:
        """The job's metrics.json, relative to the root, when this attempt wrote it (it changed
        since the attempt began: an older one belongs to an earlier run)."""
        if not job.output_dir:
            return None
        metrics = PurePath(job.output_dir, "metrics.json")
        try:
            written = (self.root / metrics).stat().st_mtime
        except OSError:
            return None
        return metrics.as_posix() if written >= start - MTIME_SLACK else None

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
        for attempt in list(self.running.values()):
            if attempt.stop_status is not JobStatus.TIMEOUT:
                self._terminate(attempt, JobStatus.CANCELLED, why, now)

    def _halt(self, error: RecordError) -> None:
        """The run's records cannot be written: say so once, start nothing new (running
        attempts end on their own), and leave the jobs not started CANCELLED."""
        if self.halted is not None:
            return
        self.halted = error
        self.warn(f"{error}; starting no new jobs")
        for job in self.scheduler.cancel():
            self._mark(job, JobStatus.CANCELLED, f"not started: {error}")

    def _terminate(self, attempt: _Attempt, status: JobStatus, reason: str, now: float) -> None:
        attempt.stop_status, attempt.stop_reason = status, reason
        if attempt.kill_at is None:
            attempt.kill_at = now + self.options.grace
            self._set_timer(attempt.kill_at, attempt)
            self.backend.terminate(attempt.handle)
            self._emit(attempt.job, JobStatus.RUNNING, attempt.number, start=attempt.start, pid=attempt.handle.pid,
                       log_path=attempt.log, reason=reason, stopping=True)

    def _kill(self, attempt: _Attempt) -> None:
        if not attempt.killed:
            attempt.killed = True
            self.backend.kill(attempt.handle)

    def _abort(self) -> None:
        """Last resort on the way out (an error escaped the loop): leave no job process behind."""
        for attempt in list(self.running.values()):
            self._kill(attempt)
            del self.running[id(attempt.handle)]
            self.locks.release(attempt.job.id)
            self.manifest.end_attempt(attempt.job.id, JobStatus.CANCELLED, end=self.clock.time(),
                                      reason="orchestrator error")
        with suppress(RecordError):         # reported by run() when the final save fails too
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
                                        self._total, self.clock.time(), **details))

    def _result(self, code: int) -> RunResult:
        counts: dict[str, int] = {}
        for rec in self.manifest.records():
            counts[rec.status.value] = counts.get(rec.status.value, 0) + 1
        return RunResult(self.manifest.run_id, self.manifest.run_dir, code, bool(self.interrupts),
                         counts, self.manifest)


def _print_error(message: str) -> None:
    print(f"runall: error: {message}", file=sys.stderr, flush=True)
