"""The end-of-run summary: a pure function of the manifest (plus the failed jobs' log tails)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from runall.model import JobStatus
from runall.record.leaderboard import Board, grids, leaderboards, run_metrics

if TYPE_CHECKING:
    from runall.record.manifest import Manifest

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# C0 and C1 controls, DEL, and the noncharacters XML 1.0 forbids (plus lone surrogates)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
STATUSES = ("SUCCEEDED", "FAILED", "TIMEOUT", "PREEMPTED", "CANCELLED", "SKIPPED", "RUNNING", "PENDING")
_TAILED = (JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.PREEMPTED)
MAX_METRIC_COLUMNS = 6


def clean(text: str) -> str:
    """Text with control characters (colour codes, carriage returns, C1 controls, ...) made
    harmless: safe on a terminal and valid in XML 1.0."""
    if text.isprintable():      # the usual case, and a quick test: every character replaced below is unprintable
        return text
    return _CONTROL.sub("?", _ANSI.sub("", text.replace("\t", " ")))


def tail(path: Path, lines: int = 10, max_bytes: int = 65536) -> list[str]:
    """The last `lines` lines of a file, reading at most its last `max_bytes` bytes."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    frames = (row.rstrip("\r").rsplit("\r", 1)[-1] for row in data.split("\n"))   # progress bars: last frame
    rows = [row for row in frames if row.strip()]
    return [clean(row) for row in rows[-lines:]]


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def outcome(exit_code: int | None, signal: str | None, reason: str | None) -> str:
    """How an attempt ended in a few words: `exit 1`, `SIGKILL (timed out)`, a reason, or ""."""
    how = signal or (f"exit {exit_code}" if exit_code else "")
    return f"{how} ({reason})" if how and reason else how or reason or ""


def align(rows: Sequence[Sequence[Any]]) -> list[str]:
    """Rows of cells as lines: cells cleaned, every column but the last padded to its width."""
    cells = [[clean(str(cell)) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]) - 1)]
    return ["  ".join([*(c.ljust(w) for c, w in zip(row, widths)), row[-1]]).rstrip() for row in cells]


def render_summary(manifest: Manifest, run_dir: Path, tail_lines: int = 10) -> str:
    """A plain-text table of all jobs, the log tail of each failed or timed-out job, then the
    leaderboard of each task and the comparison of each grid's members."""
    records = manifest.records()
    table = [("ID", "STATUS", "ATTEMPTS", "DURATION", "")] + [
        (r.id, r.status.value, str(r.attempts), format_duration(r.duration), outcome(r.exit_code, r.signal, r.reason))
        for r in records]
    out = align(table)
    for r in records:
        if r.status in _TAILED and r.log:
            log = run_dir / r.log
            how = outcome(r.exit_code, r.signal, r.reason) or "no exit code"
            out += ["", f"{r.status.value} {clean(r.id)} ({how}), log {log}:"]
            out += [f"  | {line}" for line in tail(log, tail_lines)]
    out += render_metrics(manifest)
    counts = {s: n for s in STATUSES if (n := sum(r.status.value == s for r in records))}
    parts = ", ".join(f"{n} {status.lower()}" for status, n in counts.items())
    out += ["", f"{len(records)} jobs: {parts or 'none'}. Run {manifest.run_id}, manifest {run_dir / 'manifest.json'}"]
    return "\n".join(out)



def format_value(value: float | None) -> str:
    """A metric for a table: `0.8351`, `43.2100`, `1.235e+05`, or `-`."""
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"


def _direction(board: Board) -> str:
    if board.metric is None:
        return "no common metric"
    return f"by {board.metric}, {'higher' if board.higher else 'lower'} is better"


def _tie_lines(board: Board) -> list[str]:
    """`exact tie at =1: a, b (roc_auc 0.7395934871)` for each run of equal values."""
    places = {id(job): place for place, job in board.places()}
    return [f"exact tie at {places[id(run[0])]}: {', '.join(j.id for j in run)} "
            f"({board.metric} {run[0].values[board.metric]!r})" for run in board.ties()]


def render_leaderboard(board: Board) -> list[str]:
    """`Leaderboard: TASK on DATASET (by METRIC, ...)`, a table (rank, job, duration, the
    headline metrics) and a line per exact tie."""
    names = [board.metric] if board.metric else []
    for _, job in board.places():
        names += [n for n in job.values if n not in names]
    names = names[:MAX_METRIC_COLUMNS]
    rows = [("RANK", "JOB", "DURATION", *names)]
    for place, job in board.places():
        rows.append((place, job.id, format_duration(job.duration), *(format_value(job.values.get(n)) for n in names)))
    return [clean(f"Leaderboard: {board.title} ({_direction(board)})"),
            *("  " + line for line in align(rows)), *("  " + clean(line) for line in _tie_lines(board))]


def render_alone(boards: Sequence[Board]) -> list[str]:
    """The jobs that are alone on their task and dataset, with their primary metric, unranked."""
    rows = [("JOB", "TASK", "DATASET", "DURATION", "METRIC", "VALUE")]
    for board in boards:
        for _, job in board.places():
            rows.append((job.id, job.task or "-", job.dataset or "-", format_duration(job.duration),
                         job.primary or "-", format_value(job.values.get(job.primary or ""))))
    return ["Not ranked (no other job of this run has the same task and dataset):", *("  " + line for line in align(rows))]


def render_grid(board: Board) -> list[str]:
    """`Grid BASE (N members, by METRIC, ...): best ID (METRIC VALUE)` and the members by their grid values."""
    head = f"Grid {board.title} ({len(board.places())} members, {_direction(board)}): "
    best, metric = board.best, board.metric
    if best is None or metric is None:
        return [clean(head + "no member has metrics to compare")]
    keys = list(dict.fromkeys(k for _, job in board.places() for k in job.params))
    rows = [("RANK", *keys, metric, "STATUS")] + [
        (place, *(str(job.params.get(k, "-")) for k in keys), format_value(job.values.get(metric)), job.status)
        for place, job in board.places()]
    tied = next((run for run in board.ties() if run[0] is best), [best])
    names = ", ".join(j.id for j in tied) + (" (exact tie)" if len(tied) > 1 else "")
    return [clean(f"{head}best {names} ({metric} {format_value(best.values[metric])})"),
            *("  " + line for line in align(rows)), *("  " + clean(line) for line in _tie_lines(board))]


def render_metrics(manifest: Manifest) -> list[str]:
    """The leaderboards, the jobs alone on their task and dataset, then the grid comparisons, as
    plain lines (empty when no job has metrics)."""
    jobs = run_metrics(manifest)
    boards = leaderboards(jobs)
    shared = [b for b in boards if len(b.places()) > 1]
    alone = [b for b in boards if len(b.places()) == 1]
    out: list[str] = []
    for lines in [*map(render_leaderboard, shared), *([render_alone(alone)] if alone else []),
                  *map(render_grid, grids(jobs))]:
        out += ["", *lines]
    return out
