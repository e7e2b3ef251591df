"""Experiment tracking: an observer of the run that records it in MLflow (an optional extra).

Importing this package does not import MLflow; only a tracked run does, on a background thread.
"""

from runall.tracking.config import INSTALL_COMMAND, TrackingConfig, add_arguments, resolve
from runall.tracking.observer import Tee, observe

__all__ = ["INSTALL_COMMAND", "Tee", "TrackingConfig", "add_arguments", "observe", "resolve"]
