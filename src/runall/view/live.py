"""The live view on a terminal: a row per job (status, attempt, elapsed time, CPU and memory of
its process tree, last log line) under an overall progress bar whose ETA comes from earlier
runs' durations. rich redraws it about 4 times a second in its own thread; `on_event` only
records the new state, so the runner never waits for the display. Columns are sized to the
terminal: ids and log lines are shortened, never the status. When the run ends the table is
cleared and the summary printed in its place (the job table appears once).

Imported only when the live view is used (rich is not needed for `--list` or plain output).
"""

from __future__ import annotations

import atexit
import shlex
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import psutil
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from runall.model import JobStatus
from runall.run.events import JobEvent, RunResult
from runall.view.plain import PlainReporter
from runall.view.summary import clean, format_duration, outcome, tail

REFRESH_PER_SECOND = 4
SAMPLE_INTERVAL = 1.0      # seconds between CPU/memory samples of the running jobs
LOG_BYTES = 4096           # how much of a log's end is read for its last line
_STYLES = {JobStatus.PENDING: "dim", JobStatus.RUNNING: "cyan", JobStatus.SUCCEEDED: "green",
           JobStatus.FAILED: "bold red", JobStatus.TIMEOUT: "bold red", JobStatus.CANCELLED: "yellow",
           JobStatus.SKIPPED: "yellow", JobStatus.PREEMPTED: "bold red"}
COLUMNS = ("JOB", "STATUS", "ATTEMPT", "ELAPSED", "CPU", "MEM", "LAST LOG LINE")
GAP = 2                    # spaces between columns
MIN_JOB = 10               # the shortest the JOB column gets while the terminal allows
BAR_WIDTH = 30


@dataclass(frozen=True)
class Row:
    """What the view knows of one job, replaced whole by each of its events."""

    job_id: str
    status: JobStatus = JobStatus.PENDING
    attempt: int = 0
    max_attempts: int = 1
    changed: float = 0.0
    start: float | None = None
    duration: float | None = None
    pid: int | None = None
    log: Path | None = None
    note: str = ""             # how it ended, when it is retried, or why it is stopping
    retrying: bool = False     # a failed attempt with another one to come
    stopping: bool = False     # running, and asked to stop (interrupt, timeout, fail-fast)

    @property
    def final(self) -> bool:
        return self.status.final and not self.retrying

    @classmethod
    def from_event(cls, event: JobEvent, earlier: "Row") -> "Row":
        """The row after `event`; the log and start of the attempt are kept until the next one."""
        running = event.status is JobStatus.RUNNING
        note = (f"retry {event.attempt + 1}/{event.max_attempts} in {event.retry_in:g}s" if event.will_retry
                else outcome(event.exit_code, event.signal, event.reason))
        return cls(event.job_id, event.status, event.attempt, event.max_attempts, event.time,
                   event.start or (earlier.start if not running else None), event.duration,
                   event.pid if running else None, event.log_path or earlier.log, note, event.will_retry,
                   running and event.stopping)

    @property
    def label(self) -> str:
        """The STATUS cell: the status, or RETRY / STOPPING for those in-between states."""
        return "RETRY" if self.retrying else "STOPPING" if self.stopping else self.status.value


def remaining(rows: Iterable[Row], expected: Mapping[str, float], now: float, workers: int) -> float | None:
    """Seconds until all rows are final, or None when earlier runs do not support a guess.

    Each job left is expected to take its duration in earlier runs; the work left is spread
    over `workers`, and the answer is never below the longest running or waiting job's own
    remainder. None when a job left has no earlier duration, or a running one has already run
    past it (its end is then anyone's guess).
    """
    left = []
    for row in rows:
        if row.final:
            continue
        if row.job_id not in expected:
            return None
        running = row.status is JobStatus.RUNNING
        rest = expected[row.job_id] - (now - row.start if running and row.start else 0.0)
        if rest <= 0:
            return None
        left.append(rest)
    if not left:
        return 0.0
    return max(sum(left) / max(1, min(workers, len(left))), max(left))


def shorten(text: str, width: int, middle: bool = False) -> str:
    """`text` in at most `width` characters, with an ellipsis where it was cut: at the end, or
    in the middle (ids: grid members differ at the end, scripts at the start)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    if not middle:
        return text[:width - 1] + "…"
    head = width // 2                       # of the width - 1 characters kept, the start gets the extra one
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


def column_widths(cells: Sequence[Sequence[str]], width: int) -> list[int]:
    """Widths of COLUMNS for rows of `cells` on a `width`-column terminal: every column but JOB
    and LAST LOG LINE as wide as its widest cell (the status is never cut); JOB and the log
    share what is left: JOB up to half (at least MIN_JOB), the log the rest."""
    natural = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(COLUMNS)]
    fixed = sum(natural[1:-1]) + GAP * (len(COLUMNS) - 1)
    room = max(0, width - fixed)
    job = min(natural[0], max(MIN_JOB, room // 2), room)
    return [job, *natural[1:-1], max(0, room - job)]


def format_bytes(size: int) -> str:
    """`512M`, `1.5G`."""
    return f"{size / 2**30:.1f}G" if size >= 2**30 else f"{size / 2**20:.0f}M"


class TreeSampler:
    """CPU (percent of one core, summed) and resident memory of a process and its descendants.

    Keeps the psutil objects between samples (CPU percent is measured since the last call);
    processes that end meanwhile are skipped.
    """

    def __init__(self) -> None:
        self._trees: dict[int, dict[int, psutil.Process]] = {}

    def sample(self, pid: int) -> tuple[float, int] | None:
        known = self._trees.get(pid, {})
        try:
            leader = known.get(pid) or psutil.Process(pid)
            tree = {p.pid: known.get(p.pid, p) for p in [leader, *leader.children(recursive=True)]}
        except psutil.Error:
            self._trees.pop(pid, None)
            return None
        self._trees[pid] = tree
        cpu, rss = 0.0, 0
        for proc in tree.values():
            try:
                with proc.oneshot():
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
            except psutil.Error:
                continue
        return cpu, rss

    def keep(self, pids: Iterable[int]) -> None:
        """Forget the trees of every other process."""
        alive = set(pids)
        for pid in [p for p in self._trees if p not in alive]:
            del self._trees[pid]


class LiveReporter:
    """The rich live view; `on_finish` clears it and prints the plain summary in its place."""

    def __init__(self, job_ids: Sequence[str], *, console: Console | None = None,
                 expected: Mapping[str, float] | None = None, workers: int = 1,
                 commands: Mapping[str, Sequence[str]] | None = None) -> None:
        self.console = console or Console()
        self.expected = dict(expected or {})
        self.workers = workers
        self.commands = commands
        self._rows = {job_id: Row(job_id) for job_id in job_ids}
        self._done, self._total = 0, len(job_ids)
        self._lock = threading.Lock()           # guards _rows/_done/_total; never held during I/O
        self._began = time.time()
        self._live: Live | None = None
        # used by the refresh thread only:
        self._sampler = TreeSampler()
        self._usage: dict[str, tuple[float, int]] = {}
        self._sampled = 0.0
        self._lines: dict[str, tuple[float, str]] = {}     # job id -> (row change read at, last log line)

    # -- the reporter protocol (runner thread) -------------------------------------------

    def on_event(self, event: JobEvent) -> None:
        with self._lock:
            self._rows[event.job_id] = Row.from_event(event, self._rows.get(event.job_id, Row(event.job_id)))
            self._done, self._total = event.done, event.total
        if self._live is None:
            self._live = Live(console=self.console, refresh_per_second=REFRESH_PER_SECOND,
                              get_renderable=self.render, transient=True)
            self._live.start(refresh=True)
            atexit.register(self._stop)
        if (self.commands is not None and event.status is JobStatus.RUNNING and not event.stopping
                and event.job_id in self.commands):
            self._live.console.print(Text(f"{clean(event.job_id)}: $ {clean(shlex.join(self.commands[event.job_id]))}"))

    def on_finish(self, result: RunResult) -> None:
        self._stop()
        atexit.unregister(self._stop)
        PlainReporter(self.console.file).on_finish(result)

    def _stop(self) -> None:
        if self._live is not None:
            self._live.stop()

    # -- drawing (rich's refresh thread) --------------------------------------------------

    def render(self) -> RenderableType:
        """The progress line and the jobs table, as of now."""
        with self._lock:
            rows, done, total = list(self._rows.values()), self._done, self._total
        now = time.time()
        self._sample([r for r in rows if r.status is JobStatus.RUNNING and r.pid], now)
        width = self.console.size.width - 1                 # the last column stays free: no line wraps
        limit = max(3, self.console.size.height - 6)
        shown = self._visible(rows, limit)
        cells = [self._cells(row, now) for row in shown]
        widths = column_widths(cells, width)
        table = Table(box=None, pad_edge=False, padding=(0, GAP // 2), header_style="bold")
        for name, size in zip(COLUMNS, widths):
            table.add_column(shorten(name, size), width=size, no_wrap=True, overflow="crop",
                             justify="right" if name in ("ATTEMPT", "ELAPSED", "CPU", "MEM") else "left")
        for row, texts in zip(shown, cells):
            style = "yellow" if row.retrying or row.stopping else _STYLES[row.status]
            dim = "dim" if row.status is not JobStatus.RUNNING else ""
            table.add_row(shorten(texts[0], widths[0], middle=True), Text(texts[1], style=style), *texts[2:6],
                          Text(shorten(texts[6], widths[6]), style=dim))
        if len(shown) < len(rows):
            table.add_row(Text(f"... {len(rows) - len(shown)} more", style="dim"))
        return Group(self._header(rows, done, total, now, width), table, Text(""))   # keeps the cursor off full-width lines

    def _header(self, rows: list[Row], done: int, total: int, now: float, width: int) -> Table:
        running = sum(r.status is JobStatus.RUNNING for r in rows)
        failed = sum(r.final and r.status in (JobStatus.FAILED, JobStatus.TIMEOUT) for r in rows)
        stopping = sum(r.stopping for r in rows)
        eta = None if stopping else remaining(rows, self.expected, now, self.workers)
        words = [f"{done}/{total} jobs", f"{running} running", f"{failed} failed" if failed else "",
                 f"elapsed {format_duration(now - self._began)}",
                 f"ETA {format_duration(eta)}" if eta is not None and done < total else ""]
        text = Text("  ".join(w for w in words if w))
        if stopping:
            text.append(f"  stopping {stopping} {'job' if stopping == 1 else 'jobs'}", style="bold yellow")
        bar = min(BAR_WIDTH, width - len(text) - GAP)
        line = Table.grid(padding=(0, GAP))
        if bar >= 10:
            line.add_row(ProgressBar(total=max(total, 1), completed=done, width=bar), text)
        else:
            line.add_row(text)
        return line

    def _cells(self, row: Row, now: float) -> list[str]:
        """The row's cells as plain text, at full length (render() shortens the id and the log)."""
        running = row.status is JobStatus.RUNNING
        elapsed = now - row.start if running and row.start else row.duration
        cpu, rss = self._usage.get(row.job_id, (None, None)) if running else (None, None)
        line = self._last_line(row)
        note = row.note if row.stopping or (not running and row.status is not JobStatus.SUCCEEDED) else ""
        return [clean(row.job_id), row.label, f"{row.attempt}/{row.max_attempts}" if row.attempt else "-",
                format_duration(elapsed) if elapsed is not None else "-",
                f"{cpu:.0f}%" if cpu is not None else "-", format_bytes(rss) if rss is not None else "-",
                clean(" | ".join(p for p in (note, line) if p))]

    def _sample(self, running: list[Row], now: float) -> None:
        """CPU and memory of the running jobs' process trees, at most once per SAMPLE_INTERVAL."""
        if now - self._sampled < SAMPLE_INTERVAL:
            return
        self._sampled = now
        self._sampler.keep(r.pid for r in running if r.pid)
        self._usage = {r.job_id: usage for r in running if r.pid and (usage := self._sampler.sample(r.pid))}

    def _last_line(self, row: Row) -> str:
        """The log's last line: re-read every frame while the job runs, once after it changes otherwise."""
        if row.log is None:
            return ""
        read_at, line = self._lines.get(row.job_id, (-1.0, ""))
        if row.status is JobStatus.RUNNING or read_at < row.changed:
            line = next(iter(tail(row.log, 1, LOG_BYTES)), line)
            self._lines[row.job_id] = (row.changed, line)
        return line

    @staticmethod
    def _visible(rows: list[Row], limit: int) -> list[Row]:
        """All rows when they fit; else running and failed ones first, then the latest changed (in job order)."""
        if len(rows) <= limit:
            return rows
        urgent = {JobStatus.RUNNING: 0, JobStatus.FAILED: 1, JobStatus.TIMEOUT: 1}
        order = sorted(range(len(rows)), key=lambda i: (urgent.get(rows[i].status, 2), -rows[i].changed))
        keep = set(order[:limit - 1])
        return [row for i, row in enumerate(rows) if i in keep]
