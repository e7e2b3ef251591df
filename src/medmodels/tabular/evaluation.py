"""k-fold cross-validation of one pipeline factory over fixed splits."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from sklearn.pipeline import Pipeline

from ..data.dataset import Dataset
from ..metrics import CLASSIFICATION, classification_scores, regression_scores

Split = tuple[np.ndarray, np.ndarray]


def cross_validate(data: Dataset, make: Callable[[], Pipeline],
                   splits: Sequence[Split]) -> list[dict[str, float]]:
    """Fit a fresh pipeline on each training fold and score it on the held-out fold."""
    scores = []
    for train, test in splits:
        model = make().fit(data.features.iloc[train], data.target.iloc[train])
        held_out = data.features.iloc[test]
        truth = data.target.iloc[test].to_numpy()
        if data.task == CLASSIFICATION:
            scores.append(classification_scores(truth, model.predict_proba(held_out)))
        else:
            scores.append(regression_scores(truth, model.predict(held_out)))
    return scores
