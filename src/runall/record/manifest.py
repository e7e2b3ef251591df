"""The run manifest: `runs/<run-id>/manifest.json` and its journal, `manifest.journal`.

It records the run (settings, git state, host, Python) and one typed `JobRecord` per job
(argv, status, attempts, exit code or signal, times, log, outputs, every attempt's outcome).
Records change only through the `Manifest` transitions (`begin_attempt`, `launched`,
`end_attempt`, `requeued`, `mark`, `reset_for_resume`, `record_lineage`), and the run's result
through `verdict`/`finish`: one place for every state change. `--resume`, `--status` and `history` read it back.

Persistence costs O(changed records), whatever the run's size: each change is appended to
the journal as one numbered JSON line (written by a background thread, batched every
`_Writer.SPACING` s, and fsynced at most `_Writer.SYNC_EVERY` s after it was written: a
dead orchestrator loses nothing written, a power cut at most that much), and the journal
is folded into manifest.json, a complete JSON file replaced atomically, at least every `COMPACT_EVERY` seconds (less often when folding
takes long) and by every `save()`. `Manifest.load` reads both: the lines numbered above the
manifest's `journal_seq`, up to a torn last line. A write that fails (disk full, read-only
file system) stops further writes and leaves both files as they were (`write_error`); the
next `save()` tries again.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from runall.errors import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK, EXIT_RECORD, RecordError, UsageError
from runall.model import Job, JobStatus

MANIFEST = "manifest.json"
JOURNAL = "manifest.journal"
LATEST = "latest"
FORMAT_VERSION = 1
COMPACT_EVERY = 1.0         # seconds between foldings of the journal into manifest.json, at least
COMPACT_SHARE = 100         # ... and at least this many times as long as the last folding took (folding: <= 1% of a run)
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG})


def new_run_id(now: float | None = None) -> str:
    """A sortable UTC timestamp plus a short random suffix, e.g. `20250101-120000-3fa9c1`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{stamp}-{os.urandom(3).hex()}"


def iso(ts: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC string (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def write_text_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write a text (or its pieces, in order) to a temporary file, fsync it, then rename it
    over `path`; no temporary file is left when a step fails."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines([text] if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise


def environment_info(root: Path) -> dict[str, Any]:
    """Git commit and dirty flag of `root`, host and Python: where and what was run."""
    uname = os.uname()
    return {
        "git": _git_info(root),
        "host": {"hostname": uname.nodename, "platform": f"{uname.sysname}-{uname.release}-{uname.machine}"},
        "python": {"version": ".".join(map(str, sys.version_info[:3])), "executable": sys.executable},
    }


def _git_info(root: Path) -> dict[str, Any]:
    """Commit and dirty flag, both asked of git at once (each is a process start)."""
    commands = (["git", "rev-parse", "HEAD"], ["git", "status", "--porcelain", "--untracked-files=no"])
    procs: list[subprocess.Popen[str] | None] = []
    for argv in commands:
        try:
            procs.append(subprocess.Popen(argv, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, text=True))
        except OSError:
            procs.append(None)
    outputs: list[str | None] = []
    for proc in procs:
        if proc is None:
            outputs.append(None)
            continue
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            out = None
        outputs.append(out if proc.returncode == 0 else None)
    commit, status = outputs
    return {"commit": commit.strip() if commit else None, "dirty": bool(status.strip()) if status is not None else None}


class _Writer:
    """Writes a manifest's journal lines and foldings in a background thread, in the order they
    were handed over, so the run loop never waits for the disk.

    Lines arriving while a write is under way are written together (one write); writes are at
    least `SPACING` s apart unless someone waits, and written lines are fsynced at most
    `SYNC_EVERY` s later (an fsync per batch made the run's file creations, the jobs' logs
    among them, wait for the disk: 2,000 trivial jobs 1.39x of xargs, against 1.31x this
    way). A folding (`compact`) makes
    the journal lines handed over before it unnecessary: they are dropped, and the journal
    file is removed once the new manifest.json is in place. The first failed write stops
    all writing (`error`) until `retry`. The thread ends after `IDLE` s without work.
    """

    SPACING = 0.1
    SYNC_EVERY = 1.0
    IDLE = 1.0

    def __init__(self, manifest_path: Path, journal_path: Path) -> None:
        self.manifest_path = manifest_path
        self.journal_path = journal_path
        self.error: RecordError | None = None
        self.compaction_seconds = 0.0            # how long the last folding took
        self._cond = threading.Condition()
        self._build: Callable[[], Iterable[str]] | None = None
        self._lines: list[str] = []
        self._busy = False
        self._idle = False                       # the thread waits for work (else it is writing, or spacing writes)
        self._waiters = 0
        self._thread: threading.Thread | None = None
        self._fd: int | None = None              # the journal, open for appending
        self._size = 0                           # its length after the last complete write
        self._unsynced: float | None = None      # when the journal was first written since its last fsync

    def append(self, text: str) -> None:
        with self._cond:
            if self.error is None:
                self._lines.append(text)
                self._wake()

    def compact(self, build: Callable[[], Iterable[str]]) -> None:
        """Replace manifest.json with the pieces `build()` gives (they cover every line handed
        over so far)."""
        with self._cond:
            if self.error is None:
                self._build, self._lines = build, []
                self._wake()

    def retry(self) -> None:
        """Write again after a failure."""
        with self._cond:
            self.error = None

    def wait(self) -> None:
        """Block until everything handed over is on disk; RecordError when a write failed."""
        with self._cond:
            self._waiters += 1
            self._cond.notify_all()
            try:
                while self._build is not None or self._lines or self._busy:
                    self._cond.wait()
            finally:
                self._waiters -= 1
            if self.error is not None:
                raise self.error

    def _wake(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="manifest-writer", daemon=True)
            self._thread.start()
        elif self._idle:                         # while it spaces writes, lines wait for the next write
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._build is None and not self._lines:
                    self._idle = True
                    self._cond.wait(self.IDLE if self._unsynced is None else
                                    max(0.0, self._unsynced + self.SYNC_EVERY - time.monotonic()))
                    self._idle = False
                build, lines = self._build, self._lines
                if build is None and not lines and self._unsynced is None:
                    self._close()
                    self._thread = None
                    return
                self._build, self._lines, self._busy = None, [], True
            error = None
            try:
                if build is not None:
                    self._fold(build)
                if lines:
                    self._append("".join(lines))
                if self._unsynced is not None and (not lines or time.monotonic() >= self._unsynced + self.SYNC_EVERY):
                    self._sync()
            except RecordError as exc:
                error = exc
            with self._cond:
                self._busy = False
                if error is not None:
                    self.error, self._build, self._lines = error, None, []
                self._cond.notify_all()
                spaced = time.monotonic() + self.SPACING
                while not self._waiters and time.monotonic() < spaced:
                    self._cond.wait(spaced - time.monotonic())

    def _fold(self, build: Callable[[], Iterable[str]]) -> None:
        began = time.monotonic()
        try:
            write_text_atomic(self.manifest_path, build())
        except OSError as exc:
            raise RecordError(self.manifest_path, exc) from None
        self._close()
        self._unsynced = None                    # what the journal held is in the new manifest.json
        try:
            self.journal_path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise RecordError(self.journal_path, exc) from None
        self.compaction_seconds = time.monotonic() - began

    def _append(self, text: str) -> None:
        data = text.encode("utf-8")
        try:
            if self._fd is None:
                self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                self._size = os.fstat(self._fd).st_size
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            if self._fd is not None:            # drop a torn line, so later lines stay readable
                try:
                    os.ftruncate(self._fd, self._size)
                except OSError:
                    pass
            raise RecordError(self.journal_path, exc) from None
        self._size += len(data)
        if self._unsynced is None:
            self._unsynced = time.monotonic()

    def _sync(self) -> None:
        """fsync what was appended to the journal."""
        try:
            if self._fd is not None:
                os.fsync(self._fd)
        except OSError as exc:
            raise RecordError(self.journal_path, exc) from None
        self._unsynced = None

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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
    lineage: dict[str, Any] | None = None    # what the model comes from (`record.lineage`)
    history: list[Attempt] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def required(self) -> bool:
        return self.job.required

    def state(self) -> dict[str, Any]:
        """What changes during a run, as JSON-ready data: a journal line holds this."""
        return {"id": self.job.id, "status": self.status.value, "attempts": self.attempts,
                "exit_code": self.exit_code, "signal": self.signal, "reason": self.reason, "start": self.start,
                "end": self.end, "duration": self.duration, "pid": self.pid, "cpus": self.cpus,
                "gpu_ids": self.gpu_ids, "log": self.log, "peak_rss": self.peak_rss, "metrics": self.metrics,
                "backend_ref": self.backend_ref, "lineage": self.lineage,
                "history": [a.to_dict() for a in self.history]}

    def fixed(self, copy: bool = True) -> dict[str, Any]:
        """What a run never changes: the job, and its argv and output directory at the top level
        (the job's own lists and dicts with `copy=False`, for text encoded at once)."""
        return {"argv": self.job.argv, "output_dir": self.job.output_dir, "job": self.job.to_dict(copy)}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: one line of manifest.json."""
        return {**self.state(), **self.fixed()}

    def apply(self, state: Mapping[str, Any]) -> None:
        """Take the fields of a `state()` (a journal line) as this record's own."""
        self.status = JobStatus(state["status"])
        self.attempts = int(state.get("attempts") or 0)
        for name in _RECORD_SCALARS:
            setattr(self, name, state.get(name))
        self.history = [Attempt.from_dict(a) for a in state.get("history") or []]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "JobRecord":
        record = cls(Job.from_dict(data["job"]))
        record.apply(data)
        return record


_RECORD_SCALARS = ("exit_code", "signal", "reason", "start", "end", "duration", "pid", "cpus", "gpu_ids", "log",
                   "peak_rss", "metrics", "backend_ref", "lineage")


class Manifest:
    """One run's manifest: run-level fields (`meta`), one `JobRecord` per job, and the files.

    Every change goes through a method here (the transitions below, or `set_meta`), which
    marks what changed; `save(wait=False)` encodes only those records, as journal lines,
    and folds the journal into manifest.json now and then; `save()` folds it at once and
    waits. Each record's unchanging part (the job) is encoded once.
    """

    def __init__(self, run_dir: Path, meta: dict[str, Any], records: Iterable[JobRecord],
                 journal_seq: int = 0) -> None:
        self.run_dir = run_dir
        self.meta = meta
        self._records: dict[str, JobRecord] = {rec.id: rec for rec in records}
        self._index = {job_id: i for i, job_id in enumerate(self._records)}
        self._states: list[str] | None = None    # per job: its state() as JSON, encoded at the first save
        self._fixed: list[str] | None = None     # per job: ', "argv": ..., "job": {...}}' (never changes)
        self._stale: dict[str, None] = {}        # jobs whose state changed since the last save, in order
        self._lineage: dict[str, tuple[Any, str]] = {}   # per job: its lineage entry, and its JSON member
        self._meta_changes: dict[str, Any] = {}  # run fields changed since the last save
        self._seq = journal_seq                  # number of the last journal line
        self._folded = -1                        # journal line number manifest.json includes (-1: none yet)
        self._next_fold = 0.0
        self._writer = _Writer(self.path, run_dir / JOURNAL)

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

    @property
    def write_error(self) -> RecordError | None:
        """The failure that stopped writing (disk full, read-only, ...); None while writes succeed."""
        return self._writer.error

    def __len__(self) -> int:
        return len(self._records)

    @classmethod
    def create(cls, run_dir: Path, jobs: Iterable[Job], *, root: Path, meta: Mapping[str, Any]) -> "Manifest":
        """Start a run directory (new, or made empty by the caller) and write its first manifest
        (all jobs PENDING); RecordError when it cannot be written."""
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "logs").mkdir(exist_ok=True)
        except OSError as exc:
            raise RecordError(run_dir, exc) from None
        head = {"format": FORMAT_VERSION, "run_id": run_dir.name, "token": f"{run_dir.name}.{os.urandom(4).hex()}",
                "status": "running", "exit_code": None,
                "created": iso(time.time()), "finished": None, "resumed": [], "root": str(root),
                **environment_info(root), **meta}
        manifest = cls(run_dir, head, (JobRecord(job) for job in jobs))
        manifest.save()
        return manifest

    @classmethod
    def load(cls, run_dir: Path) -> "Manifest":
        """Read a run's manifest and the journal lines it does not include yet; UsageError when
        it is missing or unreadable."""
        path = run_dir / MANIFEST
        try:
            try:                                  # opened first: a folding meanwhile leaves it complete
                journal = open(run_dir / JOURNAL, "rb")
            except FileNotFoundError:
                journal = None
            with journal or open(os.devnull, "rb") as lines:
                data = json.loads(path.read_text(encoding="utf-8"))
                seq = int(data.pop("journal_seq", 0))
                records = {rec["id"]: JobRecord.from_dict(rec) for rec in data.pop("jobs")}
                for entry in journal_entries(lines, after=seq):
                    seq = entry["seq"]
                    if "meta" in entry:
                        data.update(entry["meta"])
                    else:
                        records[entry["id"]].apply(entry)
            return cls(run_dir, data, records.values(), journal_seq=seq)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"cannot read run manifest: {exc}", where=str(path)) from None

    @staticmethod
    def outcomes(run_dir: Path) -> dict[str, tuple[str, float | None]]:
        """Each job's status and last duration, journal included, read one job line at a time and
        without building records (what the history of earlier runs needs, for any run size);
        UsageError when unreadable."""
        path = run_dir / MANIFEST
        try:
            try:
                journal = open(run_dir / JOURNAL, "rb")
            except FileNotFoundError:
                journal = None
            with journal or open(os.devnull, "rb") as lines, open(path, encoding="utf-8") as text:
                head, jobs = [], {}
                for line in text:
                    if line.startswith('  {"id": '):   # a job line, as this module writes them
                        rec = json.loads(line.rstrip().rstrip(","))
                        jobs[rec["id"]] = (rec["status"], rec.get("duration"))
                    elif not jobs:
                        head.append(line)
                if not jobs:                           # another layout: read it whole
                    data = json.loads("".join(head))
                    jobs = {rec["id"]: (rec["status"], rec.get("duration")) for rec in data.pop("jobs")}
                    head = [json.dumps(data)]
                seq = _head_seq("".join(head))
                for entry in journal_entries(lines, after=seq):
                    if "id" in entry:
                        jobs[entry["id"]] = (entry["status"], entry.get("duration"))
            return jobs
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

    def requeued(self, job_id: str, number: int, log: str, *, end: float, reason: str | None,
                 backend_ref: dict[str, Any] | None) -> None:
        """RUNNING -> RUNNING: the backend queued the attempt again (a cluster's requeue). It joins
        the history as PREEMPTED; attempt `number` goes on under the same backend job."""
        self.end_attempt(job_id, JobStatus.PREEMPTED, end=end, retry=True, reason=reason)
        self.begin_attempt(job_id, number, log, end, self._records[job_id].gpu_ids or ())
        self.launched(job_id, None, backend_ref)

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

    def record_lineage(self, environment_id: str, environment: dict[str, Any],
                       entries: Mapping[str, dict[str, Any]]) -> None:
        """What the jobs about to run come from: the run's environment (kept with those of earlier
        starts, by id) and one entry per job, replacing an earlier run's entry for that job."""
        self.set_meta(environments={**(self.meta.get("environments") or {}), environment_id: environment})
        for job_id, entry in entries.items():
            self._change(job_id, lineage=entry)

    def verdict(self, interrupted: bool = False, write_failed: bool = False) -> tuple[str, int]:
        """The run's state and exit code: interrupted (130; 74 when the run stopped because it could
        not write its records), else succeeded (0) when every required job succeeded, else failed (1)."""
        if write_failed:
            return "interrupted", EXIT_RECORD
        if interrupted:
            return "interrupted", EXIT_INTERRUPTED
        if all(rec.status is JobStatus.SUCCEEDED or not rec.required for rec in self._records.values()):
            return "succeeded", EXIT_OK
        return "failed", EXIT_JOB_FAILED

    def finish(self, interrupted: bool = False, write_failed: bool = False) -> int:
        """Record the verdict and the end time; returns the exit code."""
        state, code = self.verdict(interrupted, write_failed)
        self.set_meta(status=state, exit_code=code, finished=iso(time.time()))
        return code

    def set_meta(self, **values: Any) -> None:
        """Change run-level fields."""
        self.meta.update(values)
        self._meta_changes.update(values)

    def _change(self, job_id: str, **values: Any) -> None:
        record = self._records[job_id]
        for name, value in values.items():
            setattr(record, name, value)
        self._stale[job_id] = None

    # -- persistence ---------------------------------------------------------------------------

    def save(self, wait: bool = True) -> None:
        """Write what changed: at once and completely with `wait` (manifest.json rewritten,
        journal folded in; RecordError when it cannot be written), else in the background as
        journal lines, folded into manifest.json at most every COMPACT_EVERY s (never raises:
        a failure shows in `write_error`)."""
        if wait:
            self._writer.retry()
            self._fold()
            self._writer.wait()
            return
        if self._states is None or time.monotonic() >= self._next_fold:
            if self._stale or self._meta_changes or self._folded != self._seq:
                self._fold()
            return
        lines = []
        for job_id in self._stale:
            self._seq += 1
            state = self._encode_state(job_id)
            lines.append(f'{{"seq": {self._seq}, {state[1:-1]}{self._lineage_member(self._records[job_id])}}}\n')
        self._stale.clear()
        if self._meta_changes:
            self._seq += 1
            lines.append(json.dumps({"seq": self._seq, "meta": self._meta_changes}, default=str) + "\n")
            self._meta_changes = {}
        if lines:
            self._writer.append("".join(lines))

    def encode(self) -> str:
        """The manifest as JSON text: run fields indented, then one line per job."""
        self._encode_changes()
        return "".join(_manifest_text(self._head(), self._states or [], self._lineage_members(), self._fixed or []))

    def _fold(self) -> None:
        """Hand the writer the whole manifest as of now (the build runs in its thread)."""
        self._encode_changes()
        self._folded = self._seq
        self._writer.compact(partial(_manifest_text, self._head(), list(self._states or []), self._lineage_members(),
                                     list(self._fixed or [])))
        self._next_fold = time.monotonic() + max(COMPACT_EVERY, COMPACT_SHARE * self._writer.compaction_seconds)

    def _head(self) -> str:
        head = json.dumps({**self.meta, "journal_seq": self._seq}, indent=1, default=str)
        return head[:-2] + ',\n "jobs": [\n'

    def _encode_changes(self) -> None:
        if self._states is None:
            records = self._records.values()
            self._states = [_state_json(rec) for rec in records]
            self._fixed = [_fixed_json(rec) for rec in records]
        else:
            for job_id in self._stale:
                self._encode_state(job_id)
        self._stale.clear()
        self._meta_changes = {}

    def _encode_state(self, job_id: str) -> str:
        assert self._states is not None
        state = self._states[self._index[job_id]] = _state_json(self._records[job_id])
        return state

    def _lineage_member(self, record: JobRecord) -> str:
        """`, "lineage": {...}` for a record with a lineage entry, else "". The entry, set once per
        run start and often the largest part of a job's line, is encoded once and kept apart from
        the job's state (which is encoded at every change), so its text is held once."""
        entry = record.lineage
        if entry is None:
            return ""
        known = self._lineage.get(record.id)
        if known is None or known[0] is not entry:
            text = json.dumps(entry, separators=(", ", ": "), default=str)
            known = self._lineage[record.id] = (entry, f', "lineage": {text}')
        return known[1]

    def _lineage_members(self) -> list[str]:
        """`_lineage_member` of every job, in order."""
        return [self._lineage_member(rec) for rec in self._records.values()]


def _state_json(record: JobRecord) -> str:
    """A record's state as JSON, without its lineage (`Manifest._lineage_member`)."""
    state = record.state()
    del state["lineage"]
    return json.dumps(state, separators=(", ", ": "), default=str)


def _fixed_json(record: JobRecord) -> str:
    return ", " + json.dumps(record.fixed(copy=False), separators=(", ", ": "), default=str)[1:]


def _manifest_text(head: str, states: Sequence[str], lineages: Sequence[str], fixed: Sequence[str]) -> Iterator[str]:
    """manifest.json in pieces: the run fields, then one line per job (its state, lineage, then
    its fixed part), so that writing it never holds the whole text."""
    yield head
    last = len(states) - 1
    for i, (state, lineage, rest) in enumerate(zip(states, lineages, fixed)):
        yield f"  {state[:-1]}{lineage}{rest}{',' if i < last else ''}\n"
    yield " ]\n}\n"


def _head_seq(head: str) -> int:
    """`journal_seq` of a manifest's run fields (the text before its job lines)."""
    found = re.search(r'^ "journal_seq": (\d+)', head, re.MULTILINE) or re.search(r'"journal_seq": (\d+)', head)
    return int(found.group(1)) if found else 0


def journal_entries(lines: Iterable[bytes], after: int = 0) -> Iterator[dict[str, Any]]:
    """The journal's entries numbered above `after`, in order, up to a torn or unreadable line."""
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            return
        if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int):
            return
        if entry["seq"] > after:
            yield entry


def _epoch(iso_time: str) -> float:
    return datetime.fromisoformat(iso_time).timestamp()


def update_latest(runs_dir: Path, run_id: str) -> None:
    """Point `runs/latest` at a run: a relative symlink, or a text file where symlinks fail;
    RecordError when neither can be written."""
    link = runs_dir / LATEST
    tmp = runs_dir / f".{LATEST}.{os.getpid()}.tmp"
    if link.is_dir() and not link.is_symlink():
        raise UsageError("is a directory, expected a link to the latest run", where=str(link))
    try:
        tmp.unlink(missing_ok=True)
        try:
            os.symlink(run_id, tmp)
        except OSError as exc:
            if exc.errno in DISK_ERRNOS:
                raise
            tmp.write_text(run_id + "\n", encoding="utf-8")
        os.replace(tmp, link)
    except OSError as exc:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise RecordError(link, exc) from None


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
