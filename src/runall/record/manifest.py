"""The run manifest: `runs/<run-id>/manifest.json`, rewritten atomically after every change.

It records the run (settings, git state, host, Python) and one typed `JobRecord` per job
(argv, status, attempts, exit code or signal, times, log, outputs, every attempt's outcome).
Records change only through the `Manifest` transitions (`begin_attempt`, `launched`,
`end_attempt`, `mark`, `reset_for_resume`), and the run's result through `verdict`/`finish`:
one place for every state change. `--resume`, `--status` and `history` read it back.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from runall.errors import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK, UsageError
from runall.model import Job, JobStatus

MANIFEST = "manifest.json"
LATEST = "latest"
FORMAT_VERSION = 1


def new_run_id(now: float | None = None) -> str:
    """A sortable UTC timestamp plus a short random suffix, e.g. `20250101-120000-3fa9c1`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{stamp}-{secrets.token_hex(3)}"


def iso(ts: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC string (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file, fsync it, then rename it over `path`."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def environment_info(root: Path) -> dict[str, Any]:
    """Git commit and dirty flag of `root`, host and Python: where and what was run."""
    uname = os.uname()
    return {
        "git": _git_info(root),
        "host": {"hostname": socket.gethostname(), "platform": f"{uname.sysname}-{uname.release}-{uname.machine}"},
        "python": {"version": platform.python_version(), "executable": sys.executable},
    }


def _git_info(root: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip() if commit else None, "dirty": bool(status.strip()) if status is not None else None}


class _Writer:
    """Writes the newest text handed to it, in a background thread, so the run loop never
    waits for the disk.

    Writes are at least `SPACING` seconds apart; texts arriving meanwhile replace each
    other (only the latest state matters), which keeps a big run from rewriting a big
    manifest hundreds of times a second. `wait` skips the spacing. The thread ends after
    `IDLE` seconds without work and starts again on the next text.
    """

    SPACING = 0.1
    IDLE = 1.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._text: str | None = None
        self._busy = False
        self._waiters = 0
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def submit(self, text: str) -> None:
        with self._cond:
            self._raise()
            self._text = text
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="manifest-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait(self) -> None:
        """Block until everything submitted is on disk; re-raise a write error."""
        with self._cond:
            self._waiters += 1
            self._cond.notify_all()
            try:
                while self._text is not None or self._busy:
                    self._cond.wait()
            finally:
                self._waiters -= 1
            self._raise()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._text is None:
                    self._cond.wait(self.IDLE)
                if self._text is None:
                    self._thread = None
                    return
                text, self._text, self._busy = self._text, None, True
            error = None
            try:
                write_text_atomic(self.path, text)
            except OSError as exc:
                error = exc
            with self._cond:
                self._busy, self._error = False, error or self._error
                self._cond.notify_all()
                spaced = time.monotonic() + self.SPACING
                while not self._waiters and time.monotonic() < spaced:
                    self._cond.wait(spaced - time.monotonic())

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


@dataclass
class Attempt:
    """One finished attempt of a job, as the job's history keeps it."""

    attempt: int
    status: JobStatus
    log: str | None = None
    exit_code: int | None = None
    signal: str | None = None
    reason: str | None = None
    start: str | None = None
    end: str | None = None
    duration: float | None = None
    peak_rss: int | None = None
    backend_ref: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in _ATTEMPT_FIELDS}, "status": self.status.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Attempt":
        return cls(**{k: v for k, v in data.items() if k in _ATTEMPT_FIELDS and k != "status"},
                      status=JobStatus(data["status"]))


_ATTEMPT_FIELDS = tuple(f.name for f in fields(Attempt))


@dataclass
class JobRecord:
    """One job's state in a run: the job, where it stands, and how each attempt ended.

    Fields describe the current (or last) attempt; `history` holds every finished one.
    Change records only through `Manifest`'s transitions, so every change is saved.
    """

    job: Job
    status: JobStatus = JobStatus.PENDING
    attempts: int = 0
    exit_code: int | None = None
    signal: str | None = None
    reason: str | None = None
    start: str | None = None
    end: str | None = None
    duration: float | None = None
    pid: int | None = None
    cpus: int | None = None                  # the cores (and thread cap) the attempt was given
    gpu_ids: list[str] | None = None
    log: str | None = None                   # relative to the run directory
    peak_rss: int | None = None
    metrics: str | None = None               # metrics.json relative to the root, when written
    backend_ref: dict[str, Any] | None = None
    history: list[Attempt] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def required(self) -> bool:
        return self.job.required

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: one line of manifest.json."""
        return {"id": self.job.id, "status": self.status.value, "attempts": self.attempts, "argv": self.job.argv,
                "exit_code": self.exit_code, "signal": self.signal, "reason": self.reason, "start": self.start,
                "end": self.end, "duration": self.duration, "pid": self.pid, "cpus": self.cpus, "gpu_ids": self.gpu_ids,
                "log": self.log, "output_dir": self.job.output_dir, "peak_rss": self.peak_rss,
                "metrics": self.metrics, "backend_ref": self.backend_ref,
                "history": [a.to_dict() for a in self.history], "job": self.job.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "JobRecord":
        plain = {k: data.get(k) for k in _RECORD_SCALARS}
        return cls(Job.from_dict(data["job"]), JobStatus(data["status"]), int(data.get("attempts") or 0),
                   **plain, history=[Attempt.from_dict(a) for a in data.get("history") or []])


_RECORD_SCALARS = ("exit_code", "signal", "reason", "start", "end", "duration", "pid", "cpus", "gpu_ids", "log",
                   "peak_rss", "metrics", "backend_ref")


class Manifest:
    """One run's manifest: run-level fields (`meta`), one `JobRecord` per job, and the file.

    Every change goes through a method here (the transitions below, or `set_meta`), which
    marks what changed, so `save` re-encodes only those jobs' lines: the file holds one line
    per job, which keeps rewriting it cheap for big runs.
    """

    def __init__(self, run_dir: Path, meta: dict[str, Any], records: Iterable[JobRecord]) -> None:
        self.run_dir = run_dir
        self.meta = meta
        self._records: dict[str, JobRecord] = {rec.id: rec for rec in records}
        self._index = {job_id: i for i, job_id in enumerate(self._records)}
        self._lines: list[str] | None = None    # one JSON line per job, encoded at the first save
        self._stale: set[str] = set()            # jobs whose line must be encoded again
        self._head: str | None = None            # everything but the jobs, while unchanged
        self._changed = True                     # since the last save
        self._writer = _Writer(self.path)

    @property
    def path(self) -> Path:
        return self.run_dir / MANIFEST

    @property
    def run_id(self) -> str:
        return str(self.meta["run_id"])

    @property
    def token(self) -> str:
        """What this run's attempts carry to be found again: the run id plus a random nonce, so
        two runs of the same id (in two repositories, say) never take each other's processes."""
        return str(self.meta.get("token") or self.run_id)

    @property
    def status(self) -> str:
        """The run's state: running, succeeded, failed, interrupted or submitted (detached)."""
        return str(self.meta.get("status"))

    @property
    def root(self) -> Path:
        return Path(self.meta.get("root") or ".")

    @classmethod
    def create(cls, run_dir: Path, jobs: Iterable[Job], *, root: Path, meta: Mapping[str, Any]) -> "Manifest":
        """Start a new run directory and write its first manifest (all jobs PENDING)."""
        run_dir.mkdir(parents=True, exist_ok=False)
        (run_dir / "logs").mkdir()
        head = {"format": FORMAT_VERSION, "run_id": run_dir.name, "token": f"{run_dir.name}.{secrets.token_hex(4)}",
                "status": "running", "exit_code": None,
                "created": iso(time.time()), "finished": None, "resumed": [], "root": str(root),
                **environment_info(root), **meta}
        manifest = cls(run_dir, head, (JobRecord(job) for job in jobs))
        manifest.save()
        return manifest

    @classmethod
    def load(cls, run_dir: Path) -> "Manifest":
        """Read a run's manifest; UsageError when it is missing or unreadable."""
        path = run_dir / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            records = [JobRecord.from_dict(rec) for rec in data.pop("jobs")]
            return cls(run_dir, data, records)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"cannot read run manifest: {exc}", where=str(path)) from None

    def record(self, job_id: str) -> JobRecord:
        """One job's record (read it; change it through the transitions)."""
        return self._records[job_id]

    def records(self) -> list[JobRecord]:
        return list(self._records.values())

    def to_dict(self) -> dict[str, Any]:
        """The whole manifest as JSON-ready data, as manifest.json holds it."""
        return {**self.meta, "jobs": [rec.to_dict() for rec in self._records.values()]}

    # -- transitions -------------------------------------------------------------------------

    def begin_attempt(self, job_id: str, number: int, log: str, start: float, gpu_ids: Sequence[str] | None,
                      cpus: int | None = None) -> None:
        """PENDING -> RUNNING: attempt `number` is being started; last attempt's outcome cleared.
        `gpu_ids` None: the attempt sees every GPU (nothing pinned)."""
        self._change(job_id, status=JobStatus.RUNNING, attempts=number, start=iso(start), end=None,
                     duration=None, exit_code=None, signal=None, reason=None, peak_rss=None, metrics=None,
                     log=log, cpus=cpus, gpu_ids=None if gpu_ids is None else list(gpu_ids), pid=None,
                     backend_ref=None)

    def launched(self, job_id: str, pid: int | None, backend_ref: dict[str, Any] | None) -> None:
        """The backend has the attempt: where to find it again."""
        self._change(job_id, pid=pid, backend_ref=backend_ref)

    def end_attempt(self, job_id: str, status: JobStatus, *, end: float, retry: bool = False,
                    exit_code: int | None = None, signal: str | None = None, reason: str | None = None,
                    peak_rss: int | None = None, metrics: str | None = None) -> None:
        """RUNNING -> a final state (or PENDING again when `retry`): the attempt joins the history."""
        record = self._records[job_id]
        start = _epoch(record.start) if record.start else end
        outcome = dict(exit_code=exit_code, signal=signal, reason=reason, end=iso(end),
                       duration=round(end - start, 3), peak_rss=peak_rss)
        record.history.append(Attempt(record.attempts, status, record.log, start=record.start,
                                      backend_ref=record.backend_ref, **outcome))
        self._change(job_id, status=JobStatus.PENDING if retry else status, metrics=metrics, backend_ref=None,
                     **outcome)

    def mark(self, job_id: str, status: JobStatus, reason: str) -> None:
        """A job that will not (or not again) start becomes final: SKIPPED or CANCELLED."""
        self._change(job_id, status=status, reason=reason)

    def reset_for_resume(self, job_id: str) -> None:
        """Make a job PENDING again for `--resume`; an attempt left RUNNING counts as CANCELLED."""
        record = self._records[job_id]
        if record.status is JobStatus.RUNNING:
            record.history.append(Attempt(record.attempts, JobStatus.CANCELLED, record.log, start=record.start,
                                          reason="orchestrator ended while it ran", backend_ref=record.backend_ref))
        self._change(job_id, status=JobStatus.PENDING, reason=None, backend_ref=None)

    def verdict(self, interrupted: bool = False) -> tuple[str, int]:
        """The run's state and exit code: interrupted (130), else succeeded (0) when every required
        job succeeded, else failed (1)."""
        if interrupted:
            return "interrupted", EXIT_INTERRUPTED
        if all(rec.status is JobStatus.SUCCEEDED or not rec.required for rec in self._records.values()):
            return "succeeded", EXIT_OK
        return "failed", EXIT_JOB_FAILED

    def finish(self, interrupted: bool = False) -> int:
        """Record the verdict and the end time; returns the exit code."""
        state, code = self.verdict(interrupted)
        self.set_meta(status=state, exit_code=code, finished=iso(time.time()))
        return code

    def set_meta(self, **values: Any) -> None:
        """Change run-level fields."""
        self.meta.update(values)
        self._head = None
        self._changed = True

    def _change(self, job_id: str, **values: Any) -> None:
        record = self._records[job_id]
        for name, value in values.items():
            setattr(record, name, value)
        self._stale.add(job_id)
        self._changed = True

    # -- persistence ---------------------------------------------------------------------------

    def save(self, wait: bool = True) -> None:
        """Rewrite manifest.json atomically (temporary file, fsync, rename) if anything changed.

        With `wait=False` the write happens in the background; a later `save()` waits for it.
        """
        if self._changed:
            self._writer.submit(self.encode())
            self._changed = False
        if wait:
            self._writer.wait()

    def encode(self) -> str:
        """The manifest as JSON text: run fields indented, then one line per job."""
        if self._head is None:
            head = json.dumps(self.meta, indent=1, default=str)
            self._head = head[:-2] + ',\n "jobs": [\n' if self.meta else '{\n "jobs": [\n'
        if self._lines is None:
            self._lines = [_job_line(rec) for rec in self._records.values()]
        else:
            for job_id in self._stale:
                self._lines[self._index[job_id]] = _job_line(self._records[job_id])
        self._stale.clear()
        return self._head + ",\n".join(self._lines) + "\n ]\n}\n"


def _job_line(record: JobRecord) -> str:
    return "  " + json.dumps(record.to_dict(), separators=(", ", ": "), default=str)


def _epoch(iso_time: str) -> float:
    return datetime.fromisoformat(iso_time).timestamp()


def update_latest(runs_dir: Path, run_id: str) -> None:
    """Point `runs/latest` at a run: a relative symlink, or a text file where symlinks fail."""
    link = runs_dir / LATEST
    tmp = runs_dir / f".{LATEST}.{os.getpid()}.tmp"
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(run_id, tmp)
    except OSError:
        tmp.write_text(run_id + "\n", encoding="utf-8")
    if link.is_dir() and not link.is_symlink():
        raise UsageError("is a directory, expected a link to the latest run", where=str(link))
    os.replace(tmp, link)


def resolve_run_dir(runs_dir: Path, run_id: str) -> Path:
    """The directory of run `run_id`, where "latest" follows `runs/latest`."""
    if run_id == LATEST:
        link = runs_dir / LATEST
        if link.is_symlink():
            run_id = os.readlink(link)
        elif link.is_file():
            run_id = link.read_text(encoding="utf-8").strip()
        else:
            raise UsageError("no earlier run to resume", where=str(runs_dir))
    run_dir = runs_dir / run_id
    if not (run_dir / MANIFEST).is_file():
        raise UsageError(f"no run {run_id!r} (no {MANIFEST})", where=str(runs_dir))
    return run_dir
