"""Brain MRI stops cleanly on SIGTERM, keeping a checkpoint, and a rerun resumes exactly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from medmodels.imaging import checkpoint

from .support import CANONICAL, ENV, REPO, read_metrics, run_script

# Small enough to be quick, long enough (3 fits x 20 epochs after the first checkpoint
# appears) to be interrupted mid-run.
ARGS = ("--epochs", "20", "--folds", "2", "--phantoms", "64", "--image-size", "32",
        "--batch-size", "8", "--seed", "2")


def test_sigterm_saves_a_checkpoint_and_the_rerun_resumes_exactly(tmp_path):
    interrupted = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, str(REPO / CANONICAL["brain_mri"]), *ARGS,
                             "--output-dir", str(interrupted)], cwd=REPO, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = interrupted / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "checkpoint saved" in out and "stopped by SIGTERM" in err
    assert checkpoint.exists() and not (interrupted / "metrics.json").exists()

    resumed = run_script(CANONICAL["brain_mri"], *ARGS, "--output-dir", interrupted)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout and not checkpoint.exists()
    metrics = read_metrics(interrupted)
    assert metrics["training"]["resumed_from"] is not None

    straight = run_script(CANONICAL["brain_mri"], *ARGS, "--output-dir", tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr
    reference = read_metrics(tmp_path / "straight")
    assert reference["training"]["resumed_from"] is None
    assert metrics["metrics"] == reference["metrics"]
    assert metrics["training"]["loss_history"] == reference["training"]["loss_history"]


def test_a_checkpoint_from_other_settings_is_ignored(tmp_path):
    checkpoint.save(tmp_path / "checkpoint.pt", checkpoint.Progress(fingerprint={"epochs": 99}))
    proc = run_script(CANONICAL["brain_mri"], "--folds", "2", "--phantoms", "32", "--epochs", "1",
                      "--image-size", "32", "--output-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ignoring checkpoint" in proc.stderr and "epochs" in proc.stderr
    assert read_metrics(tmp_path)["training"]["resumed_from"] is None
