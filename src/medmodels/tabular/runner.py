"""A tabular training run end to end: data, cross-validation, final fit, artifacts."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Mapping

import joblib

from ..artifacts import output_dir, write_json, write_run_config
from ..datasets import DATASETS, load_dataset
from ..metrics import best_model, summarise
from ..report import RunClock, dataset_id, metrics_document, summary_line
from ..runtime import cpu_threads
from ..splits import check_fold_count, make_splitter
from .evaluation import cross_validate
from .models import ModelSpec, build_pipeline, check_spec

MODEL_FILE = "model.joblib"


@dataclass(frozen=True)
class TabularRun:
    """Everything a tabular run needs, after command line and config are resolved."""

    model_id: str
    dataset: str
    models: Mapping[str, ModelSpec]
    data_path: Path | None
    output_dir: Path | None
    folds: int
    epochs: int
    seed: int


def default_models(dataset: str) -> dict[str, ModelSpec]:
    """The dataset's default linear baseline and tree ensemble, with default hyperparameters."""
    return {kind: ModelSpec(kind) for kind in DATASETS[dataset].models}


def run_tabular(run: TabularRun, script: str, args: argparse.Namespace) -> dict:
    """Train, cross-validate and save; returns the metrics document also written to disk."""
    clock = RunClock()
    data = load_dataset(run.dataset, run.data_path, run.seed)
    groups = None if data.groups is None else data.groups.to_numpy()
    check_fold_count(data.task, run.folds, data.target.to_numpy(), groups)
    for spec in run.models.values():
        check_spec(spec, data.task)
    out = output_dir(run.output_dir, run.model_id)
    threads = cpu_threads()
    write_run_config(out, run.model_id, script, args, {
        "dataset": run.dataset, "data_path": run.data_path, "output_dir": out,
        "folds": run.folds, "epochs": run.epochs, "seed": run.seed, "threads": threads,
        "models": {name: {"kind": s.kind, "params": dict(s.params)} for name, s in run.models.items()}})
    splitter = make_splitter(data.task, run.folds, run.seed, grouped=groups is not None)
    splits = list(splitter.split(data.features, data.target, groups))
    factories = {name: partial(build_pipeline, spec, data.task, epochs=run.epochs, seed=run.seed,
                               threads=threads, columns=list(data.features.columns),
                               categorical=data.categorical)
                 for name, spec in run.models.items()}
    results = {}
    for name, make in factories.items():
        estimator = make().named_steps["model"]
        results[name] = {"kind": run.models[name].kind, "estimator": type(estimator).__name__,
                         "params": dict(run.models[name].params),
                         "metrics": summarise(cross_validate(data, make, splits))}
    selected = best_model({name: r["metrics"] for name, r in results.items()}, data.task)
    joblib.dump(factories[selected]().fit(data.features, data.target), out / MODEL_FILE)
    document = metrics_document(
        model_id=run.model_id, dataset=dataset_id(run.dataset, data.path), task=data.task,
        source=data.source, data=data.describe(), folds=run.folds, cv=type(splitter).__name__,
        split="row" if groups is None else "subject", seed=run.seed, epochs=run.epochs,
        models=results, selected=selected,
        artifacts={"model": MODEL_FILE, "run_config": "run_config.json"}, clock=clock,
        extra={"environment": {"threads": threads}})
    write_json(out / "metrics.json", document)
    print(summary_line(run.model_id, data.task, results, selected))
    print(f"{run.model_id}: wrote {out / 'metrics.json'} and {out / MODEL_FILE}")
    return document


def run_canonical(dataset: str, script: str, args: argparse.Namespace) -> dict:
    """A canonical script's run: model id = dataset, its default models, options from `args`."""
    return run_tabular(TabularRun(model_id=dataset, dataset=dataset, models=default_models(dataset),
                                  data_path=args.data_path, output_dir=args.output_dir,
                                  folds=args.folds, epochs=args.epochs, seed=args.seed),
                       script, args)
