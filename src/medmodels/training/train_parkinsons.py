#!/usr/bin/env python3
"""Parkinson's disease: logistic baseline and a random forest over voice measures.

Predicts status (1 = Parkinson's) with folds grouped by subject, since each subject has
several recordings. Without --data-path: a seeded synthetic cohort of 195 recordings from
31 subjects. With it: the UCI parkinsons.data CSV (name, MDVP:Fo(Hz) ... PPE, status).
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

MODEL_ID = "parkinsons"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-path", type=Path,
                        help="UCI parkinsons.data (default: synthetic cohort)")
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
