"""The params YAML of the mlops pipelines (mlops/params.yaml), DVC style.

One file drives both pipelines: `baseline` for train_baseline_models.py, `train` for
train_model.py; `dataset`, `data_path`, `random_state` and `n_splits` are shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .datasets import DATASETS
from .errors import DataError
from .tabular.models import MODEL_KINDS, ModelSpec
from .tabular.runner import TabularRun
from .yamlconf import Section, read_yaml

BASELINE_KINDS = ("dummy", "linear")


@dataclass(frozen=True)
class MlopsParams:
    dataset: str
    data_path: Path | None
    random_state: int
    n_splits: int
    baselines: dict[str, ModelSpec]
    model: ModelSpec
    epochs: int


def _choice(section: Section, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = section.get(key, str) if default is None else section.get(key, str, default)
    if value not in choices:
        raise DataError(f"{section.locate(key)}: {value!r} is not one of {', '.join(choices)}")
    return value


def load_params(path: Path) -> MlopsParams:
    """Parse and check the params file; every error names the file and the key."""
    top = Section(read_yaml(path), path,
                  ("dataset", "data_path", "random_state", "n_splits", "baseline", "train"))
    baseline = top.section("baseline", ("models",))
    kinds = baseline.get("models", list, list(BASELINE_KINDS))
    for kind in kinds:
        if kind not in BASELINE_KINDS:
            raise DataError(f"{baseline.locate('models')}: {kind!r} is not a baseline; "
                            f"expected {' or '.join(BASELINE_KINDS)}")
    train = top.section("train", ("kind", "epochs", "params"))
    data_path = top.get("data_path", str, None)
    return MlopsParams(
        dataset=_choice(top, "dataset", tuple(DATASETS)),
        data_path=Path(data_path) if data_path else None,
        random_state=top.get("random_state", int, 0), n_splits=top.positive("n_splits", 5, 2),
        baselines={kind: ModelSpec(kind, origin=baseline.locate("models")) for kind in kinds},
        model=ModelSpec(_choice(train, "kind", MODEL_KINDS, "boosting"),
                        train.get("params", dict, {}), origin=train.locate("params")),
        epochs=train.positive("epochs", 4))


def baseline_run(params: MlopsParams, model_dir: Path | None, n_splits: int | None,
                 random_state: int | None) -> TabularRun:
    """train_baseline_models.py: the baselines of `params`, command line over params."""
    return TabularRun(model_id=f"{params.dataset}_baselines", dataset=params.dataset,
                      models=params.baselines, data_path=params.data_path, output_dir=model_dir,
                      folds=n_splits or params.n_splits, epochs=params.epochs,
                      seed=params.random_state if random_state is None else random_state)


def model_run(params: MlopsParams, model_dir: Path | None, n_splits: int | None,
              random_state: int | None) -> TabularRun:
    """train_model.py: the `train` model of `params`, command line over params."""
    return TabularRun(model_id=f"{params.dataset}_{params.model.kind}", dataset=params.dataset,
                      models={params.model.kind: params.model}, data_path=params.data_path,
                      output_dir=model_dir, folds=n_splits or params.n_splits,
                      epochs=params.epochs,
                      seed=params.random_state if random_state is None else random_state)
