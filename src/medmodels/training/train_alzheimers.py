#!/usr/bin/env python3
"""Alzheimer's disease: logistic baseline and gradient boosting predicting Diagnosis.

Without --data-path: a seeded synthetic cohort of 2,149 patients. With it: the Alzheimer's
Disease Dataset CSV (PatientID, Age ... Forgetfulness, Diagnosis, DoctorInCharge).
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

MODEL_ID = "alzheimers"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-path", type=Path,
                        help="alzheimers_disease_data.csv (default: synthetic cohort)")
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
