"""Forwarding for the deprecated training/train_*.py entry points."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import NoReturn

CANONICAL_DIR = Path(__file__).resolve().parent / "training"


def forward(legacy_script: str) -> NoReturn:
    """Warn on stderr, then replace this process with the canonical script of the same name,
    passing every argument on (same process id, so signals and the exit code pass through)."""
    name = Path(legacy_script).name
    canonical = CANONICAL_DIR / name
    with warnings.catch_warnings():
        warnings.simplefilter("always", DeprecationWarning)  # Python hides these by default
        warnings.warn(f"training/{name} is deprecated and will be removed; run "
                      f"src/medmodels/training/{name} instead (forwarding to it now)",
                      DeprecationWarning, stacklevel=2)
    sys.stderr.flush()
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, str(canonical), *sys.argv[1:]])
