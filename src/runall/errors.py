"""Errors the CLI turns into one-line messages and distinct exit codes."""

from __future__ import annotations

import os

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_RECORD = 74          # runs/ cannot be written (EX_IOERR): disk full, read-only, quota
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad command line, configuration or selection: exit 2 with a one-line message."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class RecordError(Exception):
    """What a run records cannot be written (disk full, read-only file system, quota, I/O
    error): exit 74 with one line naming the path and the errno."""

    exit_code = EXIT_RECORD

    def __init__(self, path: os.PathLike[str] | str, error: OSError) -> None:
        self.path = str(path)
        self.error = error
        code = f"[Errno {error.errno}] " if error.errno is not None else ""
        super().__init__(f"cannot write {self.path}: {code}{error.strerror or error}")
