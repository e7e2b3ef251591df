"""Output that may vanish mid-run: a closed terminal (SIGHUP, `tmux kill-session`), or a reader
that went away (`runall ... | head -1`).

`Guarded` wraps the run's reporter: the first write error points stdout and stderr at
/dev/null, and the run goes on silently to its real end; the manifest, the logs and the exit
code still tell everything.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runall.run.events import JobEvent, Reporter, RunResult


class Guarded:
    """A Reporter that survives its output going away."""

    def __init__(self, inner: Reporter) -> None:
        self.inner = inner
        self.lost = False

    def on_event(self, event: JobEvent) -> None:
        if not self.lost:
            try:
                self.inner.on_event(event)
            except OSError:
                self._lose()

    def on_finish(self, result: RunResult) -> None:
        if not self.lost:
            try:
                self.inner.on_finish(result)
            except OSError:
                self._lose()

    def _lose(self) -> None:
        self.lost = True
        discard_output()


def discard_output() -> None:
    """Point stdout and stderr at /dev/null (their readers are gone), so later writes succeed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):
            pass
    os.close(devnull)
