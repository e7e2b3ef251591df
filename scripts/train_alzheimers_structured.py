#!/usr/bin/env python3
"""Alzheimer's structured-data experiments driven by a YAML config.

The config (src/medmodels/training/configs/*.yaml) names the models and their
hyperparameters; the packaged variants are alzheimers_baseline (logistic regression) and
alzheimers_ensemble (forest and gradient boosting beside the baseline). Options given on the
command line override the config's folds, epochs, seed and data_path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import medmodels  # noqa: F401
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from medmodels.cli_types import fold_count, positive_int
from medmodels.experiment_config import load_config, resolve_config, tabular_run
from medmodels.runtime import run_main
from medmodels.tabular.runner import run_tabular

DATASET = "alzheimers"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="alzheimers_baseline",
                        help="config file, or a packaged config's name (default: %(default)s)")
    parser.add_argument("--data-path", type=Path,
                        help="alzheimers_disease_data.csv (default: config, else synthetic)")
    parser.add_argument("--output-dir", type=Path, help="default: results/<config model_id>")
    parser.add_argument("--folds", type=fold_count, help="default: config, else 5")
    parser.add_argument("--epochs", type=positive_int,
                        help="ensemble size in units of 25 trees (default: config, else 4)")
    parser.add_argument("--seed", type=int, help="default: config, else 0")
    return parser


def _train(args: argparse.Namespace) -> None:
    config = load_config(resolve_config(args.config))
    run_tabular(tabular_run(config, args, DATASET), __file__, args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main(__file__, lambda: _train(args))


if __name__ == "__main__":
    raise SystemExit(main())
