"""Locks between runall processes: one process works on a run directory at a time, and one
attempt at a time writes to an output directory.

Both are `flock` locks on small files, so the kernel releases them when their process
ends: a killed orchestrator leaves nothing to clean up. A lock file holds who took it
(pid, host, run), for the message the next taker sees.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from runall.errors import RecordError, UsageError

RUN_LOCK = ".lock"
OUTPUT_LOCKS = ".locks"      # under the runs directory


class Busy(Exception):
    """The lock is held by another process; the message says by whom."""


def _take(path: Path, note: str, *, unlinks: bool) -> int:
    """Lock `path` (created if missing) without waiting; returns its descriptor, Busy when held.

    Holders of locks that `unlinks` remove the file before releasing it, so a lock taken on
    a file that is no longer at `path` is taken again on the new one.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip()
            os.close(fd)
            raise Busy(holder or "another runall process") from None
        try:
            current = not unlinks or os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            current = False
        if current:
            try:                    # only for the message of the next taker; a full disk may refuse it
                os.ftruncate(fd, 0)
                os.pwrite(fd, note.encode(), 0)
            except OSError:
                pass
            return fd
        os.close(fd)


def _note(run_id: str) -> str:
    return f"run {run_id}, pid {os.getpid()} on {os.uname().nodename}"


class RunLock:
    """`runs/<run-id>/.lock`: held by the process that runs, resumes or updates a run."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, run_dir: Path, where: str) -> "RunLock":
        """The run's lock; UsageError naming its holder when another process has it,
        RecordError when the lock file cannot be created (read-only file system, full disk)."""
        try:
            return cls(_take(run_dir / RUN_LOCK, _note(run_dir.name), unlinks=False))
        except Busy as busy:
            raise UsageError(f"run {run_dir.name} is in use by another runall process ({busy})", where=where) from None
        except OSError as exc:
            raise RecordError(run_dir / RUN_LOCK, exc) from None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class OutputLocks:
    """One lock per output directory, under `runs/.locks/`, held while an attempt may write there:
    two runs never run the same job into the same folder at once."""

    def __init__(self, runs_dir: Path, run_id: str) -> None:
        self.folder = runs_dir / OUTPUT_LOCKS
        self.run_id = run_id
        self._held: dict[str, tuple[Path, int]] = {}     # job id -> (lock file, descriptor)

    def acquire(self, job_id: str, output_dir: Path) -> str | None:
        """Lock `output_dir` for `job_id`; None when taken, else who holds it. OSError when the
        lock file cannot be created."""
        digest = hashlib.sha1(str(output_dir.resolve()).encode()).hexdigest()[:20]
        path = self.folder / f"{digest}.lock"
        note = f"{_note(self.run_id)}: {output_dir}"
        try:
            fd = _take(path, note, unlinks=True)
        except FileNotFoundError:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = _take(path, note, unlinks=True)
        except Busy as busy:
            return str(busy)
        self._held[job_id] = (path, fd)
        return None

    def release(self, job_id: str) -> None:
        held = self._held.pop(job_id, None)
        if held is not None:
            path, fd = held
            try:
                path.unlink()
            except OSError:
                pass
            os.close(fd)

    def close(self) -> None:
        """Release every lock; remove the folder when no other run uses it."""
        for job_id in list(self._held):
            self.release(job_id)
        try:
            self.folder.rmdir()
        except OSError:
            pass
