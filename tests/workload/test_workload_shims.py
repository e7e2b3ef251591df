"""training/train_*.py warn and forward to the canonical scripts."""

from __future__ import annotations

import pytest

from .support import CANONICAL, QUICK, read_metrics, run_script


@pytest.mark.parametrize("name", sorted(CANONICAL))
def test_shim_warns_and_shows_the_canonical_help(name):
    proc = run_script(f"training/train_{name}.py", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "DeprecationWarning" in proc.stderr and CANONICAL[name] in proc.stderr
    assert proc.stdout.startswith(f"usage: train_{name}.py")
    assert "--output-dir" in proc.stdout and "--epochs" in proc.stdout


def test_shim_forwards_arguments_and_exit_code(tmp_path):
    proc = run_script("training/train_diabetes.py", *QUICK, "--seed", "5",
                      "--output-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(tmp_path)
    assert (metrics["folds"], metrics["epochs"], metrics["seed"]) == (2, 1, 5)
    failed = run_script("training/train_diabetes.py", "--data-path", tmp_path / "absent.csv")
    assert failed.returncode == 2 and "absent.csv: no such file" in failed.stderr
