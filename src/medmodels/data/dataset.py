"""The in-memory form every tabular model trains on."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..metrics import CLASSIFICATION


@dataclass(frozen=True)
class Dataset:
    """Features, target and provenance of one table, validated and ready for cross-validation."""

    features: pd.DataFrame          # numeric columns only; NaN marks a missing value
    target: pd.Series
    task: str                       # "classification" or "regression"
    source: str                     # "file", "synthetic" or "bundled"
    layout: str                     # name of the TableLayout the columns follow
    path: str | None = None         # the file read, when source == "file"
    groups: pd.Series | None = None  # subject of each row, when rows share subjects
    categorical: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> dict:
        """The `data` section of metrics.json."""
        counts = None
        if self.task == CLASSIFICATION:
            counts = {str(k): int(v) for k, v in self.target.value_counts().sort_index().items()}
        return {"path": self.path, "layout": self.layout, "target": str(self.target.name),
                "n_samples": int(len(self.features)), "n_features": int(self.features.shape[1]),
                "features": [str(c) for c in self.features.columns], "class_counts": counts,
                "n_groups": None if self.groups is None else int(self.groups.nunique()),
                "ignored_columns": list(self.ignored_columns), "notes": list(self.notes)}
