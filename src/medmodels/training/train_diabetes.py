#!/usr/bin/env python3
"""Diabetes: Ridge/logistic baseline and a random forest, k-fold cross-validated.

Without --data-path: scikit-learn's bundled diabetes data (442 patients, regression of
one-year disease progression). With it: the Pima Indians Diabetes CSV (columns Pregnancies
... Age, target Outcome: classification) or Efron's diabetes.tab.txt (AGE ... S6, target Y:
regression); the layout is recognised from the header.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import medmodels  # noqa: F401
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from medmodels.cli_types import fold_count, positive_int
from medmodels.runtime import run_main
from medmodels.tabular.runner import run_canonical

MODEL_ID = "diabetes"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-path", type=Path,
                        help="Pima diabetes.csv or Efron diabetes.tab.txt (default: bundled data)")
    parser.add_argument("--output-dir", type=Path, help=f"default: results/{MODEL_ID}")
    parser.add_argument("--folds", type=fold_count, default=5, help="cross-validation folds")
    parser.add_argument("--epochs", type=positive_int, default=4,
                        help="forest size in units of 25 trees (default 4 = 100 trees)")
    parser.add_argument("--seed", type=int, default=0, help="seed of folds and models")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main(__file__, lambda: run_canonical(MODEL_ID, __file__, args))


if __name__ == "__main__":
    raise SystemExit(main())
