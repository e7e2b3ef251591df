#!/usr/bin/env python3
"""Deprecated: forwards to src/medmodels/training/train_als.py (see training/README.md)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from medmodels.legacy import forward  # noqa: E402

forward(__file__)
