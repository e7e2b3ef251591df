"""Tracking settings: `--mlflow`, `[tool.runall] tracking` and `[tool.runall.mlflow]`, resolved once.

Nothing here imports MLflow: whether it is installed is asked of the import system only.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from runall.errors import UsageError
from runall.plan.settings import key_line, read_pyproject

INSTALL_COMMAND = "pip install 'runall[mlflow]'"
TRACKERS = ("mlflow", "none")
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--mlflow`, `--no-mlflow` and `--mlflow-experiment`."""
    group = parser.add_argument_group("experiment tracking")
    group.add_argument("--mlflow", action=argparse.BooleanOptionalAction, default=None,
                       help="record the run in MLflow: a parent run, one child run per job "
                            "(default: [tool.runall] tracking; store: MLFLOW_TRACKING_URI, else "
                            "sqlite mlflow.db in the repository)")
    group.add_argument("--mlflow-experiment", metavar="NAME",
                       help="MLflow experiment (implies --mlflow; default: MLFLOW_EXPERIMENT_NAME, "
                            "[tool.runall.mlflow] experiment, else the repository folder name)")


def default_store_uri(root: Path) -> str:
    """The local store current MLflow recommends, inside the repository: a SQLite database."""
    return f"sqlite:///{(root / 'mlflow.db').as_posix()}"


def resolve(args: argparse.Namespace, root: Path, recorded: Mapping[str, Any] | None = None) -> TrackingConfig | None:
    """The tracking config, or None when tracking is off.

    On or off: `--mlflow`/`--no-mlflow` (`--mlflow-experiment` implies on), else on for a resumed
    run that was tracked (`recorded`), else `[tool.runall] tracking`. UsageError (exit 2) on bad
    config or, when on, when MLflow is not installed.
    """
    table, text = read_pyproject(root)
    pyproject = root / "pyproject.toml"
    wanted, where = args.mlflow, "--mlflow"
    if wanted is None and args.mlflow_experiment:
        wanted, where = True, "--mlflow-experiment"
    if wanted is None and recorded:
        wanted, where = True, "--resume (the run was tracked; --no-mlflow resumes without)"
    if "tracking" in table:
        configured = _where(pyproject, text, "tool.runall", "tracking")
        if table["tracking"] not in TRACKERS:
            raise UsageError(f"must be one of {', '.join(map(repr, TRACKERS))}, got {table['tracking']!r}",
                             where=configured)
        if wanted is None:
            wanted, where = table["tracking"] == "mlflow", configured
    if not wanted:
        return None
    if importlib.util.find_spec("mlflow") is None:
        raise UsageError(f"MLflow is not installed; install it with: {INSTALL_COMMAND}", where=where)
    options = _mlflow_table(table, text, pyproject)
    uri = os.environ.get("MLFLOW_TRACKING_URI") or options.get("tracking_uri")
    artifacts = None if uri else (root / "mlruns").as_uri()
    experiment = (args.mlflow_experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME")
                  or options.get("experiment") or root.name)
    return TrackingConfig(uri or default_store_uri(root), experiment, artifacts)


def _mlflow_table(table: Mapping[str, Any], text: str, pyproject: Path) -> dict[str, str]:
    """`[tool.runall.mlflow]`, checked: only known keys, string values."""
    options = table.get("mlflow", {})
    if not isinstance(options, dict):
        raise UsageError("must be a table", where=_where(pyproject, text, "tool.runall", "mlflow"))
    for key, value in options.items():
        where = _where(pyproject, text, "tool.runall.mlflow", key)
        if key not in MLFLOW_KEYS:
            raise UsageError(f"unknown key '{key}' (known: {', '.join(MLFLOW_KEYS)})", where=where)
        if not isinstance(value, str) or not value:
            raise UsageError(f"must be a non-empty string, got {value!r}", where=where)
    return options


def _where(pyproject: Path, text: str, table: str, key: str) -> str:
    line = key_line(text, table, key)
    return f"{pyproject}:{line}: [{table}] {key}" if line else f"{pyproject}: [{table}] {key}"
