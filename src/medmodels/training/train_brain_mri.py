#!/usr/bin/env python3
"""Brain MRI: a small PyTorch CNN classifying 2-D slices, k-fold cross-validated.

Without --data-path: seeded phantom slices, half with lesion-like hyperintensities. With it:
a folder with one subfolder per class holding 2-D `.npy` slices (e.g. normal/ and lesion/),
or `<class>/<patient>/*.npy` to cross-validate by patient instead of by slice.
Uses CUDA when present and the thread count from OMP_NUM_THREADS (or SLURM_CPUS_PER_TASK).
Saves OUTPUT_DIR/checkpoint.pt every epoch and on SIGTERM; rerunning the same command on the
same output directory resumes from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import medmodels  # noqa: F401
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from medmodels.cli_types import fold_count, positive_float, positive_int
from medmodels.imaging.experiment import CnnRun, run_cnn
from medmodels.runtime import run_main

MODEL_ID = "brain_mri"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-path", type=Path,
                        help="folder of class subfolders of .npy slices, optionally in patient subfolders (default: phantoms)")
    parser.add_argument("--output-dir", type=Path, help=f"default: results/{MODEL_ID}")
    parser.add_argument("--folds", type=fold_count, default=3, help="cross-validation folds")
    parser.add_argument("--epochs", type=positive_int, default=5, help="epochs per fit")
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, folds and weights")
    parser.add_argument("--image-size", type=positive_int, default=64,
                        help="slices are resized to this many pixels square")
    parser.add_argument("--phantoms", type=positive_int, default=800,
                        help="number of phantom slices when no --data-path is given")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CUDA when available")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run = CnnRun(model_id=MODEL_ID, data_path=args.data_path, output_dir=args.output_dir,
                 folds=args.folds, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                 seed=args.seed, image_size=args.image_size, phantoms=args.phantoms,
                 device=args.device)
    return run_main(__file__, lambda: run_cnn(run, __file__, args))


if __name__ == "__main__":
    raise SystemExit(main())
