"""Shared helpers of the workload tests: every script runs as a real subprocess from the repo root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CANONICAL = {name: f"src/medmodels/training/train_{name}.py"
             for name in ("als", "alzheimers", "brain_mri", "cardiovascular", "diabetes",
                          "parkinsons")}
QUICK = ("--epochs", "1", "--folds", "2")
# One thread per script: the scripts take their thread count from OMP_NUM_THREADS, and on a
# busy 2-core machine two OpenMP threads per process are several times slower than one.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run_script(script: str, *args: object, timeout: float = 180) -> subprocess.CompletedProcess:
    """`python SCRIPT ARGS` from the repository root, output captured as text."""
    return subprocess.run([sys.executable, str(REPO / script), *map(str, args)], cwd=REPO,
                          env=ENV, capture_output=True, text=True, timeout=timeout)


def read_metrics(directory: Path) -> dict:
    return json.loads((directory / "metrics.json").read_text(encoding="utf-8"))


def comparable(metrics: dict) -> dict:
    """metrics.json without the fields that legitimately differ between identical runs."""
    return {k: v for k, v in metrics.items()
            if k not in ("duration_s", "started_at", "finished_at")}
