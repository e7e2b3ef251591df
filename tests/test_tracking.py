"""Experiment tracking with MLflow: runs recorded in a real local store, read back with MlflowClient.

The end-to-end tests need MLflow (`pip install 'runall[mlflow]'`); they skip without it, except
in CI (CI=true), where that is a failure. The missing-MLflow tests hide it from a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import SHIM, run_cli
from runall.model import Job
from runall.record.manifest import JobRecord
from runall.tracking.entries import argv_options, job_params, metric_series

IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")   # MLflow on SQLAlchemy 2.1

TRAIN = '''\
import argparse, json, os
p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--output-dir", default="out")
a = p.parse_args()
os.makedirs(a.output_dir, exist_ok=True)
folds = [0.5 + 0.1 * i for i in range(3)]
metric = {"mean": sum(folds) / 3, "std": 0.1, "folds": folds}
json.dump({"task": "classification", "primary_metric": "roc_auc", "epochs": a.epochs,
           "metrics": {"roc_auc": metric}, "models": {"forest": {"metrics": {"roc_auc": metric}}}},
          open(os.path.join(a.output_dir, "metrics.json"), "w"))
json.dump({"epochs": a.epochs, "lr": a.lr}, open(os.path.join(a.output_dir, "run_config.json"), "w"))
print("trained", a.epochs)
'''
BROKEN = 'raise SystemExit(3)\n'
FLAKY = """\
import os
if not os.path.exists("flaky-failed-once"):
    open("flaky-failed-once", "w").close()
    raise SystemExit("first try fails")
""" + TRAIN


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mlflow_client() -> Callable[[Path], Any]:
    """A factory: MlflowClient for the default store of a repository (skips without MLflow)."""
    try:
        from mlflow import MlflowClient
    except ImportError:
        if IN_CI:
            raise
        pytest.skip("MLflow is not installed: pip install 'runall[mlflow]'")
    return lambda root: MlflowClient(tracking_uri=f"sqlite:///{(root / 'mlflow.db').as_posix()}")


def _runs(client: Any, experiment: str) -> tuple[Any, list[Any]]:
    """(the one parent run, its child runs) of an experiment."""
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([found.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1, [r.info.run_name for r in parents]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(children) == len(runs) - 1
    return parents[0], children


def _manifest(root: Path) -> dict[str, Any]:
    return json.loads(((root / "runs" / "latest").resolve() / "manifest.json").read_text())


def _git_commit(root: Path) -> str:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(git + ["add", "-A"], cwd=root, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "init"], cwd=root, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()


# -- what gets recorded (pure functions) ---------------------------------------------------------

def test_argv_options() -> None:
    assert argv_options(["--epochs", "3", "--amp", "--layers", "2", "4", "--lr=0.1", "--shift", "-1"]) == {
        "epochs": "3", "amp": "true", "layers": "2 4", "lr": "0.1", "shift": "-1"}


def test_metric_series_schema_and_flat() -> None:
    metric = {"mean": 0.6, "std": 0.1, "folds": [0.5, 0.7]}
    document = {"task": "t", "folds": 2, "metrics": {"auc": metric}, "models": {"m": {"metrics": {"auc": metric}}}}
    assert metric_series(document) == [
        ("auc", 0.6, 0), ("auc.std", 0.1, 0), ("auc.folds", 0.5, 0), ("auc.folds", 0.7, 1),
        ("models.m.auc", 0.6, 0), ("models.m.auc.std", 0.1, 0),
        ("models.m.auc.folds", 0.5, 0), ("models.m.auc.folds", 0.7, 1)]
    assert metric_series({"accuracy": 0.9, "f1@0.5": 1, "ok": True, "name": "x"}) == [
        ("accuracy", 0.9, 0), ("f1_0.5", 1.0, 0)]


def test_job_params_grid_values_and_resources() -> None:
    job = Job("t", "train.py", ["python", "train.py", "--epochs", "2", "--lr", "0.01"],
              params={"lr": 0.01, "--depth": 3}, cpus=2, gpus=0, memory=None, timeout=60.0, retries=1)
    assert job_params(JobRecord(job)) == {"epochs": "2", "lr": "0.01", "depth": "3", "resources.cpus": "2",
                                  "resources.gpus": "0", "resources.timeout": "60.0", "resources.retries": "1"}


# -- end to end: python run_all_training.py --mlflow ---------------------------------------------

def test_parent_and_child_runs(make_repo: Callable[[dict[str, str]], Path],
                               mlflow_client: Callable[[Path], Any]) -> None:
    root = make_repo({"scripts/train_good.py": TRAIN, "scripts/train_broken.py": BROKEN})
    commit = _git_commit(root)
    done = run_cli("--mlflow", "--epochs", "2", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "warning" not in done.stderr, done.stderr
    client = mlflow_client(root)
    parent, children = _runs(client, root.name)
    manifest = _manifest(root)
    assert manifest["tracking"]["parent_run_id"] == parent.info.run_id
    assert parent.info.run_name == manifest["run_id"] and parent.info.status == "FAILED"
    tags = parent.data.tags
    assert tags["mlflow.source.git.commit"] == commit and tags["runall.git_dirty"] == "false"
    assert tags["runall.run_id"] == manifest["run_id"] and tags["runall.host"]
    assert "--mlflow --epochs 2" in tags["runall.command"]

    runs = {r.info.run_name: r for r in children}
    assert sorted(runs) == ["broken", "good"]
    good, broken = runs["good"], runs["broken"]
    assert good.info.status == "FINISHED" and broken.info.status == "FAILED"
    assert good.data.params["epochs"] == "2"
    assert good.data.params["resources.cpus"] == str(len(os.sched_getaffinity(0)))     # serial: every core
    assert good.data.metrics["roc_auc"] == pytest.approx(0.6)
    assert good.data.metrics["models.forest.roc_auc"] == pytest.approx(0.6)
    history = client.get_metric_history(good.info.run_id, "roc_auc.folds")
    assert sorted((m.step, round(m.value, 6)) for m in history) == [(0, 0.5), (1, 0.6), (2, 0.7)]
    script_hash = hashlib.sha256((root / "scripts/train_good.py").read_bytes()).hexdigest()
    assert good.data.tags["runall.script"] == "scripts/train_good.py"
    assert good.data.tags["runall.script_sha256"] == script_hash
    assert good.data.tags["runall.status"] == "SUCCEEDED" and good.data.tags["task"] == "classification"
    lineage = {rec["id"]: rec["lineage"] for rec in manifest["jobs"]}["good"]
    assert good.data.tags["runall.lineage_hash"] == lineage["hash"] and good.data.tags["runall.git_dirty"] == "false"
    assert good.data.tags["runall.package.scikit-learn"] == metadata.version("scikit-learn")
    assert good.data.tags["runall.freeze_sha256"] == manifest["environments"][lineage["environment"]]["freeze_sha256"]
    assert good.data.params["env.OMP_NUM_THREADS"] == lineage["settings"]["env"]["OMP_NUM_THREADS"]
    assert float(good.data.tags["runall.duration_s"]) >= 0
    assert broken.data.tags["runall.status"] == "FAILED" and broken.data.tags["runall.exit_code"] == "3"
    assert sorted(a.path for a in client.list_artifacts(good.info.run_id)) == [
        "logs", "metrics.json", "run_config.json"]
    assert [a.path for a in client.list_artifacts(good.info.run_id, "logs")] == ["logs/good.log"]
    log = Path(client.download_artifacts(good.info.run_id, "logs/good.log", str(root / "dl")))
    assert "trained 2" in log.read_text()
    assert (root / "mlruns").is_dir()     # artifacts stay inside the repository


def test_grid_members_carry_grid_values(make_repo: Callable[[dict[str, str]], Path],
                                        mlflow_client: Callable[[Path], Any]) -> None:
    root = make_repo({"scripts/train_good.py": TRAIN})
    done = run_cli("--mlflow-experiment", "grid", "--grid", "lr=0.1,0.01", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    _, children = _runs(mlflow_client(root), "grid")
    assert {r.info.run_name: r.data.params["lr"] for r in children} == {
        "good@lr=0.1": "0.1", "good@lr=0.01": "0.01"}


def test_resume_adds_to_the_same_parent(make_repo: Callable[[dict[str, str]], Path],
                                        mlflow_client: Callable[[Path], Any]) -> None:
    root = make_repo({"scripts/train_good.py": TRAIN, "scripts/train_flaky.py": FLAKY})
    assert run_cli("--mlflow", cwd=root).returncode == 1
    parent_id = _manifest(root)["tracking"]["parent_run_id"]
    again = run_cli("--resume", cwd=root)         # a tracked run stays tracked
    assert again.returncode == 0, again.stdout + again.stderr
    assert _manifest(root)["tracking"]["parent_run_id"] == parent_id
    parent, children = _runs(mlflow_client(root), root.name)
    assert parent.info.run_id == parent_id and parent.info.status == "FINISHED"
    assert parent.data.tags["runall.resumed"] == "1"
    assert sorted((r.info.run_name, r.data.tags["runall.status"]) for r in children) == [
        ("flaky", "FAILED"), ("flaky", "SUCCEEDED"), ("good", "SUCCEEDED")]
    flaky = next(r for r in children if r.data.tags["runall.status"] == "SUCCEEDED" and r.info.run_name == "flaky")
    client = mlflow_client(root)
    assert [a.path for a in client.list_artifacts(flaky.info.run_id, "logs")] == [
        "logs/flaky.attempt2.log", "logs/flaky.log"]


def test_pyproject_turns_tracking_on(make_repo: Callable[[dict[str, str]], Path],
                                     mlflow_client: Callable[[Path], Any]) -> None:
    root = make_repo({"scripts/train_good.py": TRAIN, "pyproject.toml":
                      '[tool.runall]\ntracking = "mlflow"\n[tool.runall.mlflow]\nexperiment = "team"\n'})
    done = run_cli(cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    _, children = _runs(mlflow_client(root), "team")
    assert [r.info.run_name for r in children] == ["good"]
    assert run_cli("--no-mlflow", "--run-id", "plain", cwd=root).returncode == 0
    assert "tracking" not in _manifest(root)


def test_unreachable_store_warns_once_and_the_run_goes_on(
        make_repo: Callable[[dict[str, str]], Path], mlflow_client: Callable[[Path], Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo({"scripts/train_a.py": TRAIN, "scripts/train_b.py": TRAIN})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    done = run_cli("--mlflow", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "127.0.0.1:9" in warnings[0], done.stderr
    assert [rec["status"] for rec in _manifest(root)["jobs"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert not (root / "mlflow.db").exists()


def test_bad_tracking_config_is_a_usage_error(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_good.py": TRAIN, "pyproject.toml": '[tool.runall]\ntracking = "wandb"\n'})
    done = run_cli(cwd=root)
    assert done.returncode == 2 and "pyproject.toml:2: [tool.runall] tracking" in done.stderr, done.stderr
    assert not (root / "runs").exists()


# -- without MLflow installed ----------------------------------------------------------------------

def _without_mlflow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess where `import mlflow` fails (a None entry in sys.modules)."""
    code = ("import sys; sys.modules['mlflow'] = None; sys.argv = sys.argv[1:]; "
            "import runpy; runpy.run_path(sys.argv[0], run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code, str(SHIM), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_mlflow_missing_exits_2_with_the_install_command(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_good.py": TRAIN})
    done = _without_mlflow("--mlflow", cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--mlflow: MLflow is not installed" in done.stderr and "pip install 'runall[mlflow]'" in done.stderr
    assert not (root / "runs").exists()
    listed = _without_mlflow("--list", "--mlflow", cwd=root)
    assert listed.returncode == 0 and "good" in listed.stdout, listed.stderr


def test_list_does_not_import_mlflow(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_good.py": TRAIN})
    code = ("import sys; from runall.cli import main; code = main(['--list', '--mlflow']); "
            "assert 'mlflow' not in sys.modules, 'mlflow imported'; raise SystemExit(code)")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
