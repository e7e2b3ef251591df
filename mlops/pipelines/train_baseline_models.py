#!/usr/bin/env python3
"""mlops pipeline stage: cross-validate the baseline models named in the params file.

Trains the `baseline.models` (dummy and linear by default) on `dataset` and keeps the best
in --model-dir (metrics.json, model.joblib, run_config.json), so later stages have a floor
to beat.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import medmodels  # noqa: F401
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from medmodels.cli_types import fold_count
from medmodels.mlops_params import baseline_run, load_params
from medmodels.runtime import run_main
from medmodels.tabular.runner import run_tabular

DEFAULT_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS,
                        help="params YAML (default: mlops/params.yaml)")
    parser.add_argument("--model-dir", type=Path,
                        help="where to write the model and metrics (default: "
                             "results/<dataset>_baselines)")
    parser.add_argument("--n-splits", type=fold_count, help="CV folds (default: params n_splits)")
    parser.add_argument("--random-state", type=int, help="seed (default: params random_state)")
    return parser


def _train(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    run_tabular(baseline_run(params, args.model_dir, args.n_splits, args.random_state),
                __file__, args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main(__file__, lambda: _train(args))


if __name__ == "__main__":
    raise SystemExit(main())
