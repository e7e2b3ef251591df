"""PlainReporter: one line per state change, no control characters, then the summary."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Mapping, Sequence, TextIO

from runall.model import JobStatus
from runall.run.events import JobEvent, RunResult
from runall.view.summary import clean, format_duration, outcome, render_summary


class PlainReporter:
    """Writes lines such as `[ 3/8] SUCCEEDED  diabetes  12.3s` or `[ 3/8] STOPPING   brain_mri
    interrupted` (fit for CI logs and pipes).

    `events=False` (`-q`) writes only the summary; `commands` (`-v`) maps job ids to the argv
    echoed when each job starts.
    """

    def __init__(self, stream: TextIO | None = None, summary: bool = True, *, events: bool = True,
                 commands: Mapping[str, Sequence[str]] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.summary = summary
        self.events = events
        self.commands = commands or {}
        self._cwd = Path.cwd()
        self._below = os.path.join(str(self._cwd), "")     # the working directory's prefix, with a separator

    def on_event(self, event: JobEvent) -> None:
        if not self.events:
            return
        width = max(2, len(str(event.total)))
        parts = [f"{'STOPPING' if event.stopping else event.status.value:<9}", event.job_id]
        if event.stopping:
            parts.append(event.reason or "")
        elif event.status is JobStatus.RUNNING:
            if event.attempt > 1:
                parts.append(f"attempt {event.attempt}/{event.max_attempts}")
            parts += [f"pid {event.pid}" if event.pid else "", self._shown(event.log_path)]
        else:
            if event.duration is not None:
                parts.append(format_duration(event.duration))
            parts.append(outcome(event.exit_code, event.signal, event.reason))
            if event.will_retry:
                parts.append(f"retry {event.attempt + 1}/{event.max_attempts} in {event.retry_in:g}s")
            elif event.status in (JobStatus.FAILED, JobStatus.TIMEOUT):
                parts.append(self._shown(event.log_path))
        self._write(f"[{event.done:>{width}}/{event.total}] " + "  ".join(clean(p) for p in parts if p))
        if event.status is JobStatus.RUNNING and not event.stopping and event.job_id in self.commands:
            self._write(f"{'':{2 * width + 4}}$ {clean(shlex.join(self.commands[event.job_id]))}")

    def on_finish(self, result: RunResult) -> None:
        if self.summary:
            self._write("\n" + render_summary(result.manifest, self._relative(result.run_dir)))

    def _relative(self, path: Path) -> Path:
        """`path` relative to the working directory when it lies below it (shorter lines)."""
        try:
            return path.relative_to(self._cwd)
        except ValueError:
            return path

    def _shown(self, path: Path | None) -> str:
        """`_relative(path)` as text (a prefix test: this runs for every event)."""
        if not path:
            return ""
        text = str(path)
        return text[len(self._below):] if text.startswith(self._below) else text

    def _write(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
