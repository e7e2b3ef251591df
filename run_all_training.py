#!/usr/bin/env python3
"""Run every canonical training script in this repository: see TRAINING_USAGE.md."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from runall.cli import main  # noqa: E402

raise SystemExit(main())
