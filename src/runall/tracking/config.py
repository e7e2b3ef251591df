"""Tracking settings: `--mlflow`, `[tool.runall] tracking` and `[tool.runall.mlflow]`, resolved once.

Nothing here imports MLflow: whether it is installed is asked of the import system only.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from runall.config import Project, Sourced
from runall.errors import UsageError

INSTALL_COMMAND = "pip install 'runall[mlflow]'"
MLFLOW_KEYS = ("experiment", "tracking_uri")


@dataclass(frozen=True)
class TrackingConfig:
    """Where a run is recorded: an MLflow tracking URI and experiment name."""

    tracking_uri: str
    experiment: str
    artifact_location: str | None = None    # set for the default store inside the repository

    def matches(self, recorded: Mapping[str, Any]) -> bool:
        """True when a manifest's `tracking` entry names this store and experiment."""
        return (recorded.get("tracking_uri"), recorded.get("experiment")) == (self.tracking_uri, self.experiment)


def default_store_uri(root: Path) -> str:
    """The local store current MLflow recommends, inside the repository: a SQLite database."""
    return f"sqlite:///{(root / 'mlflow.db').as_posix()}"


def resolve(values: Mapping[str, Sourced], project: Project, root: Path,
            recorded: Mapping[str, Any] | None = None) -> TrackingConfig | None:
    """The tracking config, or None when tracking is off.

    On or off: `--mlflow`/`--no-mlflow` (`--mlflow-experiment` implies on), else on for a resumed
    run that was tracked (`recorded`), else `[tool.runall] tracking`. UsageError (exit 2) on bad
    config or, when on, when MLflow is not installed.
    """
    wanted, where = values["mlflow"].value, values["mlflow"].source
    experiment = values["mlflow_experiment"].value
    if wanted is None and experiment:
        wanted, where = True, values["mlflow_experiment"].source
    if wanted is None and recorded:
        wanted, where = True, "--resume (the run was tracked; --no-mlflow resumes without)"
    if wanted is None:
        wanted, where = values["tracking"].value == "mlflow", values["tracking"].source
    if not wanted:
        return None
    if importlib.util.find_spec("mlflow") is None:
        raise UsageError(f"MLflow is not installed; install it with: {INSTALL_COMMAND}", where=where)
    options = _mlflow_table(values["mlflow_table"].value or {}, project)
    uri = os.environ.get("MLFLOW_TRACKING_URI") or options.get("tracking_uri")
    artifacts = None if uri else (root / "mlruns").as_uri()
    experiment = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or options.get("experiment") or root.name
    return TrackingConfig(uri or default_store_uri(root), experiment, artifacts)


def _mlflow_table(options: Mapping[str, Any], project: Project) -> Mapping[str, Any]:
    """`[tool.runall.mlflow]`, checked: only known keys, string values."""
    for key, value in options.items():
        where = project.where(key, "tool.runall.mlflow")
        if key not in MLFLOW_KEYS:
            raise UsageError(f"unknown key '{key}' (known: {', '.join(MLFLOW_KEYS)})", where=where)
        if not isinstance(value, str) or not value:
            raise UsageError(f"must be a non-empty string, got {value!r}", where=where)
    return options
