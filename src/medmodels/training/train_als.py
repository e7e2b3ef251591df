#!/usr/bin/env python3
"""ALS: Ridge baseline and gradient boosting predicting the ALSFRS progression slope.

Regression of ALSFRS_slope (points per month). Without --data-path: a seeded synthetic
PRO-ACT-style cohort (1,800 patients). With it: a CSV with one row per patient, the PRO-ACT
summary columns listed in TRAINING_USAGE.md and the target ALSFRS_slope.
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

MODEL_ID = "als"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-path", type=Path,
                        help="PRO-ACT-style CSV with ALSFRS_slope (default: synthetic cohort)")
    parser.add_argument("--output-dir", type=Path, help=f"default: results/{MODEL_ID}")
    parser.add_argument("--folds", type=fold_count, default=5, help="cross-validation folds")
    parser.add_argument("--epochs", type=positive_int, default=4,
                        help="boosting size in units of 25 iterations (default 4 = 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of folds and models")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main(__file__, lambda: run_canonical(MODEL_ID, __file__, args))


if __name__ == "__main__":
    raise SystemExit(main())
