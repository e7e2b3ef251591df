"""Experiment tracking: an observer of the run that records it in MLflow (an optional extra).

`config` resolves the tracking settings; `observer` hooks the tracker into a run as a
reporter; `mlflow_reporter` and `entries` do the recording. Importing this package does not
import MLflow; only a tracked run does, on a background thread.
"""
