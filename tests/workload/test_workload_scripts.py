"""Every training entry point end to end, with quick settings, in a real subprocess."""

from __future__ import annotations

import math

import joblib
import pandas as pd
import pytest
import torch

from .support import CANONICAL, QUICK, read_metrics

# script, arguments, output option, primary metric, the least it must reach on its synthetic data
ENTRY_POINTS = {
    "als": (CANONICAL["als"], QUICK, "--output-dir", "r2", 0.3),
    "alzheimers": (CANONICAL["alzheimers"], QUICK, "--output-dir", "roc_auc", 0.7),
    "brain_mri": (CANONICAL["brain_mri"], QUICK, "--output-dir", "roc_auc", 0.7),
    "cardiovascular": (CANONICAL["cardiovascular"], QUICK, "--output-dir", "roc_auc", 0.7),
    "diabetes": (CANONICAL["diabetes"], QUICK, "--output-dir", "r2", 0.3),
    "parkinsons": (CANONICAL["parkinsons"], QUICK, "--output-dir", "roc_auc", 0.7),
    "structured_baseline": ("scripts/train_alzheimers_structured.py", QUICK, "--output-dir",
                            "roc_auc", 0.7),
    "structured_ensemble": ("scripts/train_alzheimers_structured.py",
                            ("--config", "alzheimers_ensemble", *QUICK), "--output-dir",
                            "roc_auc", 0.7),
    "mlops_baselines": ("mlops/pipelines/train_baseline_models.py", ("--n-splits", "2"),
                        "--model-dir", "roc_auc", 0.7),
    "mlops_model": ("mlops/pipelines/train_model.py", ("--n-splits", "2"), "--model-dir",
                    "roc_auc", 0.7),
}
SCHEMA_KEYS = {"schema_version", "model_id", "dataset", "task", "source", "data", "folds", "cv", "split", "seed",
               "epochs", "primary_metric", "selected_model", "metrics", "models", "artifacts",
               "duration_s", "started_at", "finished_at", "versions", "environment"}


@pytest.fixture(params=sorted(ENTRY_POINTS))
def entry(request, quick_run):
    script, args, out_flag, metric, floor = ENTRY_POINTS[request.param]
    out, proc = quick_run(script, *args, out_flag=out_flag)
    assert proc.returncode == 0, proc.stderr
    return request.param, out, read_metrics(out), metric, floor


def test_metrics_follow_the_schema(entry):
    name, _, metrics, metric, _ = entry
    assert SCHEMA_KEYS <= set(metrics)
    assert metrics["folds"] == 2 and metrics["primary_metric"] == metric
    assert metrics["selected_model"] in metrics["models"]
    assert metrics["metrics"] == metrics["models"][metrics["selected_model"]]["metrics"]
    assert {"python", "numpy", "scikit-learn"} <= set(metrics["versions"])
    assert metrics["duration_s"] > 0
    assert metrics["environment"]["threads"] == 1  # from OMP_NUM_THREADS, set by the tests
    if name != "diabetes":
        assert metrics["source"] == "synthetic"
    assert metrics["split"] == {"parkinsons": "subject", "brain_mri": "slice"}.get(name, "row")
    assert metrics["dataset"] == {"structured_baseline": "alzheimers", "structured_ensemble": "alzheimers",
                                  "mlops_baselines": "cardiovascular", "mlops_model": "cardiovascular"}.get(name, name)


def test_every_metric_has_mean_std_and_one_value_per_fold(entry):
    _, _, metrics, _, _ = entry
    expected = {"roc_auc", "balanced_accuracy", "f1"} if metrics["task"] == "classification" \
        else {"r2", "mae", "rmse"}
    for model in metrics["models"].values():
        assert set(model["metrics"]) == expected
        for name, summary in model["metrics"].items():
            folds = summary["folds"]
            assert len(folds) == 2 and all(math.isfinite(v) for v in folds)
            assert summary["mean"] == pytest.approx(sum(folds) / 2)
            assert summary["std"] == pytest.approx(abs(folds[0] - folds[1]) / 2)
            if name in ("roc_auc", "balanced_accuracy", "f1"):
                assert all(0 <= v <= 1 for v in folds)


def test_the_synthetic_signal_is_learnt(entry):
    _, _, metrics, metric, floor = entry
    assert metrics["metrics"][metric]["mean"] > floor


def test_run_config_and_model_are_written(entry):
    name, out, metrics, _, _ = entry
    config = (out / "run_config.json").read_text()
    assert '"resolved"' in config and str(out) in config
    artifact = out / metrics["artifacts"]["model"]
    if name == "brain_mri":
        state = torch.load(artifact, weights_only=True)
        assert any(key.startswith("head.") for key in state)
        assert not (out / "checkpoint.pt").exists()  # removed once the run is complete
    else:
        model = joblib.load(artifact)
        features = list(model.feature_names_in_)
        assert features == metrics["data"]["features"]
        row = pd.DataFrame([[1.0] * len(features)], columns=features)
        assert model.predict(row).shape == (1,)


def test_diabetes_linear_r2_at_five_folds(quick_run):
    out, proc = quick_run(CANONICAL["diabetes"], "--folds", "5")
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(out)
    assert metrics["source"] == "bundled" and metrics["data"]["n_samples"] == 442
    assert 0.45 <= metrics["models"]["linear"]["metrics"]["r2"]["mean"] <= 0.50


def test_parkinsons_folds_are_grouped_by_subject(quick_run):
    out, _ = quick_run(CANONICAL["parkinsons"], *QUICK)
    metrics = read_metrics(out)
    assert metrics["cv"] == "StratifiedGroupKFold" and metrics["data"]["n_groups"] == 31
