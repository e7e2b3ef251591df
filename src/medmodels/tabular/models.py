"""scikit-learn pipelines by kind; all preprocessing sits inside the pipeline, so it is
fitted on each training fold only.

`--epochs` sizes the tree ensembles: each epoch is TREES_PER_EPOCH trees (forest) or
boosting iterations (boosting). Linear and dummy models ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..errors import DataError
from ..metrics import CLASSIFICATION

MODEL_KINDS = ("dummy", "linear", "forest", "boosting")
TREES_PER_EPOCH = 25
SIZE_PARAMETER = {"forest": "n_estimators", "boosting": "max_iter"}  # set by epochs


@dataclass(frozen=True)
class ModelSpec:
    """A model kind and hyperparameters for its estimator (checked by `check_spec`)."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    origin: str = "models"  # where it was defined, for error messages


def _estimator(kind: str, task: str, epochs: int, seed: int, threads: int) -> BaseEstimator:
    classify = task == CLASSIFICATION
    trees = TREES_PER_EPOCH * epochs
    if kind == "dummy":
        return DummyClassifier(strategy="prior") if classify else DummyRegressor(strategy="mean")
    if kind == "linear":
        return LogisticRegression(max_iter=2000) if classify else Ridge(alpha=1.0)
    if kind == "forest":
        forest = RandomForestClassifier if classify else RandomForestRegressor
        return forest(n_estimators=trees, n_jobs=threads, random_state=seed)
    if kind == "boosting":
        boosting = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return boosting(max_iter=trees, early_stopping=False, random_state=seed)
    raise DataError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")


def check_spec(spec: ModelSpec, task: str) -> None:
    """Raise DataError naming the spec's origin and the key when a kind or parameter is unknown."""
    where = spec.origin
    try:
        estimator = _estimator(spec.kind, task, epochs=1, seed=0, threads=1)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    allowed = set(estimator.get_params()) - {"random_state", "n_jobs"}
    for key in spec.params:
        if key == SIZE_PARAMETER.get(spec.kind):
            raise DataError(f"{where}: {key!r} is set by epochs ({TREES_PER_EPOCH} per epoch); "
                            "set epochs instead")
        if key not in allowed:
            raise DataError(f"{where}: unknown parameter {key!r} for {type(estimator).__name__}")


def _preprocessing(kind: str, columns: Sequence[str], categorical: Sequence[str]) -> BaseEstimator:
    impute = SimpleImputer(strategy="median", add_indicator=True)
    if kind != "linear":
        return impute  # trees and dummies need no scaling; category codes split fine
    numeric = [column for column in columns if column not in categorical]
    return ColumnTransformer([
        ("numeric", Pipeline([("impute", impute), ("scale", StandardScaler())]), numeric),
        ("categorical", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                  ("onehot", OneHotEncoder(handle_unknown="ignore"))]),
         list(categorical))])


def build_pipeline(spec: ModelSpec, task: str, *, epochs: int, seed: int, threads: int,
                   columns: Sequence[str], categorical: Sequence[str] = ()) -> Pipeline:
    """A fresh, unfitted pipeline: imputation (+ scaling and one-hot for linear) then the model."""
    estimator = _estimator(spec.kind, task, epochs, seed, threads).set_params(**spec.params)
    return Pipeline([("preprocess", _preprocessing(spec.kind, columns, categorical)),
                     ("model", estimator)])
