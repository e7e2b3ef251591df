"""The run manifest: `runs/<run-id>/manifest.json`, rewritten atomically after every change.

It records the run (settings, git state, host, Python) and each job (argv, status,
attempts, exit code or signal, times, log, outputs); `--resume` and `history` read it back.
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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from runall.errors import UsageError
from runall.model import Job

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


def job_record(job: Job) -> dict[str, Any]:
    """A fresh PENDING record for one job; `job` keeps the full Job for `Job.from_dict`."""
    return {
        "id": job.id, "status": "PENDING", "attempts": 0, "argv": list(job.argv),
        "exit_code": None, "signal": None, "reason": None,
        "start": None, "end": None, "duration": None, "pid": None, "gpu_ids": None,
        "log": None, "output_dir": job.output_dir, "peak_rss": None, "metrics": None,
        "backend_ref": None, "history": [], "job": job.to_dict(),
    }


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


class Manifest:
    """One run's manifest: JSON-ready data plus the file it is saved to.

    Change it only through `set`, `update` and `add_attempt`, so `save` re-encodes just what
    changed. The file holds one line per job, which keeps rewriting it cheap for big runs.
    """

    def __init__(self, run_dir: Path, data: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.data = data
        self._records: dict[str, dict[str, Any]] = {rec["id"]: rec for rec in data["jobs"]}
        self._index = {rec["id"]: i for i, rec in enumerate(data["jobs"])}
        self._lines: list[str] = [_job_line(rec) for rec in data["jobs"]]    # one JSON line per job
        self._stale: set[str] = set()            # jobs whose line must be encoded again
        self._head: str | None = None            # everything but the jobs, while unchanged
        self._changed = True                     # since the last save
        self._writer = _Writer(self.path)

    @property
    def path(self) -> Path:
        return self.run_dir / MANIFEST

    @property
    def run_id(self) -> str:
        return str(self.data["run_id"])

    @classmethod
    def create(cls, run_dir: Path, jobs: Iterable[Job], *, root: Path, settings: dict[str, Any],
               options: dict[str, Any], extra: dict[str, Any] | None = None) -> "Manifest":
        """Start a new run directory and write its first manifest (all jobs PENDING)."""
        run_dir.mkdir(parents=True, exist_ok=False)
        (run_dir / "logs").mkdir()
        data = {
            "format": FORMAT_VERSION, "run_id": run_dir.name, "status": "running", "exit_code": None,
            "created": iso(time.time()), "finished": None, "resumed": [],
            "root": str(root), "settings": settings, "options": options,
            **environment_info(root), **(extra or {}),
            "jobs": [job_record(job) for job in jobs],
        }
        manifest = cls(run_dir, data)
        manifest.save()
        return manifest

    @classmethod
    def load(cls, run_dir: Path) -> "Manifest":
        """Read a run's manifest; UsageError when it is missing or unreadable."""
        path = run_dir / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(run_dir, data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"cannot read run manifest: {exc}", where=str(path)) from None

    def record(self, job_id: str) -> dict[str, Any]:
        """One job's record (read it; change it with `update`)."""
        return self._records[job_id]

    def records(self) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = self.data["jobs"]
        return jobs

    def set(self, **fields: Any) -> None:
        """Change run-level fields."""
        self.data.update(fields)
        self._head = None
        self._changed = True

    def update(self, job_id: str, **fields: Any) -> None:
        """Change fields of one job's record."""
        self._records[job_id].update(fields)
        self._stale.add(job_id)
        self._changed = True

    def add_attempt(self, job_id: str, attempt: dict[str, Any]) -> None:
        """Append to a job's attempt history."""
        self._records[job_id]["history"].append(attempt)
        self._stale.add(job_id)
        self._changed = True

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
            head = json.dumps({k: v for k, v in self.data.items() if k != "jobs"}, indent=1, default=str)
            self._head = head[:-2] + ',\n "jobs": [\n' if len(self.data) > 1 else '{\n "jobs": [\n'
        for job_id in self._stale:
            self._lines[self._index[job_id]] = _job_line(self._records[job_id])
        self._stale.clear()
        return self._head + ",\n".join(self._lines) + "\n ]\n}\n"


def _job_line(record: dict[str, Any]) -> str:
    return "  " + json.dumps(record, separators=(", ", ": "), default=str)


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
