"""Metrics of finished jobs: headline values from each metrics.json, a leaderboard per task
and dataset, and the members of each grid compared, naming the best (summary.py renders them
as text).

Any metrics.json shape is read: `metrics: {name: number | {"mean": number, ...}}` (the
medmodels schema), else the numeric top-level values. `task`, `dataset` and `primary_metric`
are used when present; otherwise the primary metric is the first well-known one, else the
first. Scores are only comparable on the same task and data, so a leaderboard holds the jobs
that share `task` and `dataset`; jobs whose file names no dataset are compared only with jobs
of the same script (grid members, declared variants).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from runall.record.manifest import JobRecord, Manifest

PREFERRED = ("roc_auc", "r2", "balanced_accuracy", "f1", "accuracy", "mae", "rmse", "loss")
LOWER_IS_BETTER = frozenset({"mae", "mse", "rmse", "mape", "loss", "error", "err", "nll", "brier", "perplexity"})
NOT_METRICS = frozenset({"schema_version", "seed", "folds", "epochs", "duration_s", "n_samples", "n_features"})
STALE_SLACK = 2.0       # seconds: a metrics.json older than its job's start (minus this) is an earlier run's


@dataclass
class JobMetrics:
    """One job of a run and the headline metrics it wrote (empty when it wrote none)."""

    id: str
    status: str
    duration: float | None
    params: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    task: str | None = None
    dataset: str | None = None
    primary: str | None = None
    values: dict[str, float] = field(default_factory=dict)
    script: str = ""

    @property
    def comparable(self) -> tuple[str | None, str | None, str | None]:
        """Jobs whose scores may be ranked against each other share this key."""
        return self.task, self.dataset, self.primary


@dataclass
class Board:
    """Jobs ranked on one metric: a leaderboard (one task and dataset, or one script when no
    dataset is named) or a grid's members; unranked jobs last."""

    title: str
    metric: str | None
    higher: bool
    ranked: list[JobMetrics]
    unranked: list[JobMetrics]
    task: str | None = None
    dataset: str | None = None
    script: str | None = None      # set when the jobs named no dataset

    @property
    def best(self) -> JobMetrics | None:
        return self.ranked[0] if self.ranked else None

    def ties(self) -> list[list[JobMetrics]]:
        """Runs of ranked jobs with exactly the same value of the metric (two or more each)."""
        runs: list[list[JobMetrics]] = []
        for job in self.ranked:
            if runs and runs[-1][0].values[self.metric] == job.values[self.metric]:
                runs[-1].append(job)
            else:
                runs.append([job])
        return [run for run in runs if len(run) > 1]

    def places(self) -> list[tuple[str, JobMetrics]]:
        """(place, job) in display order: `1`, `2`, ...; `=2` for each job of an exact tie
        (the next place is then `4`); `-` for unranked jobs."""
        tied = {id(job) for run in self.ties() for job in run}
        out: list[tuple[str, JobMetrics]] = []
        place = 0
        for n, job in enumerate(self.ranked, 1):
            if n == 1 or self.ranked[n - 2].values[self.metric] != job.values[self.metric]:
                place = n
            out.append((f"={place}" if id(job) in tied else str(place), job))
        return out + [("-", j) for j in self.unranked]


def higher_is_better(metric: str) -> bool:
    """False for losses and errors (mae, rmse, val_loss, ...), True otherwise (scores)."""
    words = set(re.split(r"[^a-z0-9]+", metric.lower()))
    return "neg" in words or not words & LOWER_IS_BETTER


def headline(doc: Any) -> dict[str, float]:
    """The numeric (finite) metrics of a metrics.json document, by name."""
    if not isinstance(doc, dict):
        return {}
    source = doc.get("metrics") if isinstance(doc.get("metrics"), dict) else {
        k: v for k, v in doc.items() if k not in NOT_METRICS}
    values = {}
    for name, value in source.items():
        if isinstance(value, dict):
            value = value.get("mean")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            values[str(name)] = float(value)
    return values


def primary_metric(doc: dict[str, Any], values: dict[str, float]) -> str | None:
    """The document's `primary_metric` when it has a value, else the first preferred or first metric."""
    named = doc.get("primary_metric")
    if isinstance(named, str) and named in values:
        return named
    return next((m for m in PREFERRED if m in values), next(iter(values), None))


def job_metrics(record: JobRecord, root: Path) -> JobMetrics:
    """A manifest record with the metrics its job wrote in this run (none when stale or unreadable)."""
    job = JobMetrics(record.id, record.status.value, record.duration, dict(record.job.params),
                     script=record.job.script)
    if not record.metrics:
        return job
    job.path = root / record.metrics
    try:
        if job.path.stat().st_mtime < _epoch(record.start) - STALE_SLACK:
            return job
        doc = json.loads(job.path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return job
    job.values = headline(doc)
    if job.values:
        job.task = doc.get("task") if isinstance(doc.get("task"), str) else None
        job.dataset = doc.get("dataset") if isinstance(doc.get("dataset"), str) and doc["dataset"] else None
        job.primary = primary_metric(doc, job.values)
    return job


def run_metrics(manifest: Manifest) -> list[JobMetrics]:
    """Every job of a run with its metrics; paths are relative to the run's recorded root."""
    return [job_metrics(rec, manifest.root) for rec in manifest.records()]


def rank(title: str, jobs: Iterable[JobMetrics]) -> Board:
    """Rank the succeeded jobs that share the commonest task, dataset and primary metric on that
    metric (stable: exact ties keep their run order); the others stay unranked."""
    jobs = list(jobs)
    common = Counter(j.comparable for j in jobs if j.primary and j.status == "SUCCEEDED").most_common(1)
    if not common:
        return Board(title, None, True, [], jobs)
    key = common[0][0]
    metric = key[2]
    higher = higher_is_better(metric)
    ranked = sorted((j for j in jobs if j.comparable == key and j.status == "SUCCEEDED"),
                    key=lambda j: j.values[metric], reverse=higher)
    placed = {j.id for j in ranked}
    return Board(title, metric, higher, ranked, [j for j in jobs if j.id not in placed])


def leaderboards(jobs: Iterable[JobMetrics]) -> list[Board]:
    """One board per task and dataset (per task and script for jobs naming no dataset), in order
    of first appearance, over the succeeded jobs with metrics. A board may hold a single job."""
    groups: dict[tuple[str | None, str | None, str | None], list[JobMetrics]] = {}
    for job in jobs:
        if job.status == "SUCCEEDED" and job.values:
            groups.setdefault((job.task, job.dataset, None if job.dataset else job.script), []).append(job)
    boards = []
    for (task, dataset, script), members in groups.items():
        board = rank(board_title(task, dataset, script), members)
        board.task, board.dataset, board.script = task, dataset, script
        boards.append(board)
    return boards


def board_title(task: str | None, dataset: str | None, script: str | None) -> str:
    """`classification on alzheimers`; `classification, scripts/train_x.py` without a dataset."""
    what = task or "metrics"
    return f"{what} on {dataset}" if dataset else f"{what}, {script}"


def grid_base(job_id: str) -> str | None:
    """`base` of a grid member id `base@k=v,...`; None for other ids."""
    base, sep, _ = job_id.partition("@")
    return base if sep else None


def grids(jobs: Iterable[JobMetrics]) -> list[Board]:
    """One board per grid with two or more members in the run, members ranked on their metrics."""
    members: dict[str, list[JobMetrics]] = {}
    for job in jobs:
        if (base := grid_base(job.id)) is not None:
            members.setdefault(base, []).append(job)
    return [rank(base, group) for base, group in members.items() if len(group) > 1]


def _epoch(iso_time: str | None) -> float:
    try:
        return datetime.fromisoformat(iso_time).timestamp() if iso_time else 0.0
    except ValueError:
        return 0.0
