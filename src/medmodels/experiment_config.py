"""YAML experiment configs of scripts/train_alzheimers_structured.py (see configs/*.yaml)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError
from .tabular.models import ModelSpec
from .tabular.runner import TabularRun
from .yamlconf import Section, read_yaml

CONFIG_DIR = Path(__file__).resolve().parent / "training" / "configs"
DEFAULTS = {"folds": 5, "epochs": 4, "seed": 0}


@dataclass(frozen=True)
class ExperimentConfig:
    """A parsed config; None means "not set here"."""

    model_id: str
    data_path: Path | None
    folds: int | None
    epochs: int | None
    seed: int | None
    models: dict[str, ModelSpec]


def resolve_config(value: str) -> Path:
    """A config file path, or the name of a packaged config (e.g. "alzheimers_ensemble")."""
    path = Path(value)
    if path.is_file():
        return path
    packaged = CONFIG_DIR / f"{value}.yaml"
    if packaged.is_file():
        return packaged
    names = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    raise DataError(f"--config {value}: no such file, nor a packaged config ({names})")


def load_config(path: Path) -> ExperimentConfig:
    """Parse and check a config file; every error names the file and the key."""
    top = Section(read_yaml(path), path,
                  ("model_id", "data_path", "folds", "epochs", "seed", "models"))
    names = top.get("models", dict)
    if not names:
        raise DataError(f"{top.locate('models')}: needs at least one model")
    listed, models = top.section("models", tuple(names)), {}
    for name in names:
        section = listed.section(name, ("kind", "params"))
        models[str(name)] = ModelSpec(kind=section.get("kind", str),
                                      params=section.get("params", dict, {}),
                                      origin=section.where)
    data_path = top.get("data_path", str, None)
    return ExperimentConfig(
        model_id=top.get("model_id", str, path.stem),
        data_path=Path(data_path) if data_path else None, folds=top.positive("folds", None, 2),
        epochs=top.positive("epochs", None), seed=top.get("seed", int, None), models=models)


def _first(*values: object) -> object:
    return next(value for value in values if value is not None)


def tabular_run(config: ExperimentConfig, args: argparse.Namespace, dataset: str) -> TabularRun:
    """The run: command line over config over DEFAULTS."""
    return TabularRun(
        model_id=config.model_id, dataset=dataset, models=config.models,
        data_path=args.data_path or config.data_path, output_dir=args.output_dir,
        folds=_first(args.folds, config.folds, DEFAULTS["folds"]),
        epochs=_first(args.epochs, config.epochs, DEFAULTS["epochs"]),
        seed=_first(args.seed, config.seed, DEFAULTS["seed"]))
