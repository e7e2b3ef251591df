"""Exceptions that map to exit codes, so every script fails the same way."""

from __future__ import annotations

import signal

EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad data, bad configuration or bad options: the user can fix it


class DataError(Exception):
    """Input data or configuration the user can fix; reported in one line, exit 2."""


class Terminated(Exception):
    """The process received SIGTERM or SIGINT and stopped cleanly."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + signal number, as a shell reports a process killed by that signal."""
        return 128 + self.signum
