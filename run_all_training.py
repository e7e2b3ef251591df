#!/usr/bin/env python3
"""Run every canonical training script in this repository: see TRAINING_USAGE.md."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "src"))

from runall.entry import main  # noqa: E402

raise SystemExit(main())
