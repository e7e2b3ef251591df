"""scikit-learn's bundled diabetes data (Efron et al. 2004), in the Efron file layout."""

from __future__ import annotations

from sklearn.datasets import load_diabetes

from .dataset import Dataset
from .layouts import EFRON_DIABETES


def diabetes_progression(_seed: int) -> Dataset:
    """442 patients, ten baseline measures in their original units, target one-year progression.

    The seed is unused: the data are fixed (it keeps the signature of the cohort generators).
    """
    bunch = load_diabetes(as_frame=True, scaled=False)
    features = bunch.data.rename(columns=str.upper)[list(EFRON_DIABETES.features)].astype(float)
    target = bunch.target.rename(EFRON_DIABETES.target).astype(float)
    return Dataset(features=features, target=target, task=EFRON_DIABETES.task, source="bundled",
                   layout=EFRON_DIABETES.name,
                   notes=("scikit-learn's bundled copy (sklearn.datasets.load_diabetes)",))
