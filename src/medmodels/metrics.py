"""Fold scores for classification and regression, and their summary across folds."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from sklearn.metrics import (balanced_accuracy_score, f1_score, mean_absolute_error,
                             mean_squared_error, r2_score, roc_auc_score)

CLASSIFICATION = "classification"
REGRESSION = "regression"
PRIMARY_METRIC = {CLASSIFICATION: "roc_auc", REGRESSION: "r2"}  # higher is better for both


def classification_scores(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """ROC AUC, balanced accuracy and F1 from class probabilities (columns = classes 0..k-1).

    Binary tasks score the probability of class 1; more classes use one-vs-rest macro AUC
    and macro F1.
    """
    y_true = np.asarray(y_true)
    predicted = proba.argmax(axis=1)
    binary = proba.shape[1] == 2
    auc = (roc_auc_score(y_true, proba[:, 1]) if binary
           else roc_auc_score(y_true, proba, multi_class="ovr", labels=np.arange(proba.shape[1])))
    return {"roc_auc": float(auc),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, predicted)),
            "f1": float(f1_score(y_true, predicted, average="binary" if binary else "macro",
                                 zero_division=0))}


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """R², mean absolute error and root mean squared error."""
    return {"r2": float(r2_score(y_true, y_pred)),
            "mae": float(mean_absolute_error(y_true, y_pred)),
            "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred)))}


def summarise(fold_scores: Sequence[Mapping[str, float]]) -> dict[str, dict]:
    """{metric: {"mean", "std", "folds"}}; std is the population std (ddof=0) across folds."""
    names = list(fold_scores[0]) if fold_scores else []
    summary = {}
    for name in names:
        values = [float(scores[name]) for scores in fold_scores]
        summary[name] = {"mean": float(np.mean(values)), "std": float(np.std(values)),
                         "folds": values}
    return summary


def best_model(summaries: Mapping[str, Mapping[str, dict]], task: str) -> str:
    """The model name with the highest mean primary metric (first listed wins a tie)."""
    metric = PRIMARY_METRIC[task]
    return max(summaries, key=lambda name: summaries[name][metric]["mean"])
