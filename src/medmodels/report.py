"""metrics.json: one schema for every model (see TRAINING_USAGE.md, "metrics.json")."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .artifacts import library_versions
from .metrics import PRIMARY_METRIC

SCHEMA_VERSION = 1


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunClock:
    """Wall-clock start of a run; `duration_s` and timestamps for the report."""

    started: float = field(default_factory=time.time)
    counter: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.counter


def dataset_id(name: str, path: str | None) -> str:
    """What metrics.json calls the data: `name` for the built-in data, `name:PATH` for a file
    or folder given with --data-path (scores on different data are not comparable)."""
    return name if path is None else f"{name}:{path}"


def metrics_document(*, model_id: str, dataset: str, task: str, source: str, data: dict[str, Any],
                     folds: int, cv: str, split: str, seed: int, epochs: int,
                     models: dict[str, dict[str, Any]], selected: str,
                     artifacts: dict[str, str], clock: RunClock,
                     extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble metrics.json; `models[name]["metrics"]` is {metric: {mean, std, folds}}.

    `dataset` names the data the metrics were measured on (runall ranks only jobs that share
    it); `split` is what each fold keeps together: "row", "subject", "slice" or "patient".
    """
    duration = clock.elapsed()
    document = {
        "schema_version": SCHEMA_VERSION, "model_id": model_id, "dataset": dataset, "task": task,
        "source": source, "data": data, "folds": folds, "cv": cv, "split": split, "seed": seed,
        "epochs": epochs,
        "primary_metric": PRIMARY_METRIC[task], "selected_model": selected,
        "metrics": models[selected]["metrics"], "models": models, "artifacts": artifacts,
        "duration_s": round(duration, 3), "started_at": _iso(clock.started),
        "finished_at": _iso(clock.started + duration), "versions": library_versions()}
    document.update(extra or {})
    return document


def summary_line(model_id: str, task: str, models: dict[str, dict[str, Any]], selected: str) -> str:
    """One line for the log: each model's mean ± std of the primary metric, and the winner."""
    metric = PRIMARY_METRIC[task]
    parts = [f"{name} {metric} {m['metrics'][metric]['mean']:.3f} ± {m['metrics'][metric]['std']:.3f}"
             for name, m in models.items()]
    return f"{model_id}: " + "; ".join(parts) + f" -> selected {selected}"
