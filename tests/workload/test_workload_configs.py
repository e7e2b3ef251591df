"""The YAML-driven entry points: configs, params, precedence, and their errors."""

from __future__ import annotations

import re

import pytest

from medmodels.errors import DataError
from medmodels.experiment_config import load_config
from medmodels.tabular.models import check_spec

from .support import QUICK, read_metrics, run_script

STRUCTURED = "scripts/train_alzheimers_structured.py"


def test_command_line_overrides_config(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text("model_id: small\nfolds: 3\nepochs: 2\nseed: 4\n"
                      "models:\n  tree:\n    kind: forest\n    params: {max_depth: 4}\n")
    proc = run_script(STRUCTURED, "--config", config, "--folds", "2", "--output-dir", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(tmp_path / "o")
    assert (metrics["model_id"], metrics["folds"], metrics["epochs"], metrics["seed"]) == \
        ("small", 2, 2, 4)
    assert metrics["models"]["tree"]["params"] == {"max_depth": 4}


@pytest.mark.parametrize("text, message", [
    ("models:\n  a: {kind: linear}\nfold: 3\n", "x.yaml: fold: unknown key"),
    ("models:\n  a: {kind: svm}\n", "x.yaml: models.a: unknown model kind 'svm'"),
    ("models:\n  a: {kind: forest, params: {depth: 3}}\n",
     "models.a: unknown parameter 'depth' for RandomForestClassifier"),
    ("models:\n  a: {kind: boosting, params: {max_iter: 9}}\n", "'max_iter' is set by epochs"),
    ("models: [\n", "x.yaml: line 2: invalid YAML"),
    ("folds: five\nmodels:\n  a: {kind: linear}\n", "x.yaml: folds: expected int, got 'five'"),
    ("folds: 1\nmodels:\n  a: {kind: linear}\n", "folds: must be at least 2"),
    ("models: {}\n", "models: needs at least one model"),
    ("", "x.yaml: file is empty"),
])
def test_config_errors_name_file_and_key(tmp_path, text, message):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(DataError, match=re.escape(message)):
        for spec in load_config(path).models.values():
            check_spec(spec, "classification")


def test_a_bad_config_exits_2_with_one_line(tmp_path):
    (tmp_path / "x.yaml").write_text("models:\n  a: {kind: svm}\n")
    proc = run_script(STRUCTURED, "--config", tmp_path / "x.yaml", *QUICK,
                      "--output-dir", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("unknown model kind 'svm'; expected one of dummy, "
                                        "linear, forest, boosting")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unknown_packaged_config_lists_the_known_ones():
    proc = run_script(STRUCTURED, "--config", "nope")
    assert proc.returncode == 2
    assert "alzheimers_baseline, alzheimers_ensemble" in proc.stderr


def test_mlops_params_drive_dataset_and_command_line_wins(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("dataset: diabetes\nrandom_state: 3\nn_splits: 4\n"
                      "train: {kind: forest, epochs: 1, params: {min_samples_leaf: 5}}\n")
    proc = run_script("mlops/pipelines/train_model.py", "--params", params, "--n-splits", "2",
                      "--model-dir", tmp_path / "m")
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(tmp_path / "m")
    assert (metrics["model_id"], metrics["folds"], metrics["seed"]) == ("diabetes_forest", 2, 3)
    assert metrics["task"] == "regression"
    params.write_text("dataset: heart\n")
    proc = run_script("mlops/pipelines/train_baseline_models.py", "--params", params,
                      "--model-dir", tmp_path / "b")
    assert proc.returncode == 2 and "dataset: 'heart' is not one of" in proc.stderr
