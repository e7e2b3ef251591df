"""The tabular datasets by model id: accepted file layouts, built-in data, default models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .data.bundled import diabetes_progression
from .data.cohorts import alzheimers_cohort, als_cohort, cardiovascular_cohort, parkinsons_cohort
from .data.csv_loader import load_csv
from .data.dataset import Dataset
from .data.layouts import (ALZHEIMERS_2149, CARDIO_TRAIN, EFRON_DIABETES, PIMA, PROACT_ALS,
                           UCI_PARKINSONS, TableLayout)


@dataclass(frozen=True)
class DatasetSpec:
    """One disease's data: the layouts `--data-path` may follow and the data used without it."""

    layouts: tuple[TableLayout, ...]
    builtin: Callable[[int], Dataset]  # seed -> synthetic cohort or bundled data
    models: tuple[str, ...]            # default model kinds: a linear baseline and an ensemble


DATASETS: dict[str, DatasetSpec] = {
    "als": DatasetSpec((PROACT_ALS,), als_cohort, ("linear", "boosting")),
    "alzheimers": DatasetSpec((ALZHEIMERS_2149,), alzheimers_cohort, ("linear", "boosting")),
    "cardiovascular": DatasetSpec((CARDIO_TRAIN,), cardiovascular_cohort, ("linear", "boosting")),
    "diabetes": DatasetSpec((PIMA, EFRON_DIABETES), diabetes_progression, ("linear", "forest")),
    "parkinsons": DatasetSpec((UCI_PARKINSONS,), parkinsons_cohort, ("linear", "forest")),
}


def load_dataset(name: str, path: Path | None, seed: int) -> Dataset:
    """The user's file at `path` when given, else the dataset's built-in data for `seed`."""
    spec = DATASETS[name]
    return load_csv(path, spec.layouts) if path is not None else spec.builtin(seed)
