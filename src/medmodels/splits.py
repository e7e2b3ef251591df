"""The cross-validation splitter for a task: stratified for classes, grouped for subjects."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.model_selection import (BaseCrossValidator, GroupKFold, KFold, StratifiedGroupKFold,
                                     StratifiedKFold)

from .errors import DataError
from .metrics import CLASSIFICATION


def make_splitter(task: str, folds: int, seed: int, grouped: bool) -> BaseCrossValidator:
    """Shuffled, seeded k-fold; stratified for classification; grouped when rows share a subject."""
    if task == CLASSIFICATION:
        if grouped:
            return StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    if grouped:
        return GroupKFold(n_splits=folds)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)


def check_fold_count(task: str, folds: int, y: np.ndarray, groups: np.ndarray | None,
                     unit: str = "subjects", classes: Sequence[str] = ()) -> None:
    """Raise DataError when the data cannot be split into `folds` folds (`unit`: what a group
    is; `classes`: the names of labels 0, 1, ... when they have names)."""
    if task == CLASSIFICATION:
        labels, counts = np.unique(y, return_counts=True)
        if len(labels) < 2:
            raise DataError(f"the target has a single class ({labels[0]!r}); need at least 2")
        if counts.min() < folds:
            raise DataError(f"{folds} folds need at least {folds} samples of every class; "
                            f"class {labels[counts.argmin()].item()!r} has {counts.min()}")
    if len(y) < folds:
        raise DataError(f"{folds} folds need at least {folds} samples; the data has {len(y)}")
    if groups is None:
        return
    if len(np.unique(groups)) < folds:
        raise DataError(f"{folds} folds need at least {folds} {unit}; "
                        f"the data has {len(np.unique(groups))}")
    if task == CLASSIFICATION:  # else a test fold lacks the class and ROC AUC is undefined
        for label in np.unique(y):
            owners = len(np.unique(groups[y == label]))
            if owners < folds:
                raise DataError(f"{folds} folds need {unit} of every class in each fold; "
                                f"class {(classes[label] if classes else label.item())!r} "
                                f"comes from {owners} {unit}")
