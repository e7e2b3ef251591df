"""Headline metrics from metrics.json files, leaderboards per task, grid comparisons."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import as_manifest, run_cli
from runall.record.leaderboard import grids, headline, higher_is_better, job_metrics, leaderboards, primary_metric, run_metrics
from runall.record.reports import json_report
from runall.view.summary import render_summary

GRID_SCRIPT = '''\
import argparse, json, os
p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--output-dir")
a = p.parse_args()
os.makedirs(a.output_dir, exist_ok=True)
score = 0.5 + 0.1 * a.epochs - a.lr / 2
json.dump({"task": "classification", "primary_metric": "roc_auc",
           "metrics": {"roc_auc": {"mean": score, "std": 0.01, "folds": [score]}, "f1": {"mean": score / 2}}},
          open(os.path.join(a.output_dir, "metrics.json"), "w"))
'''


def record(job_id: str, status: str = "SUCCEEDED", metrics: str | None = None, **params: Any) -> dict[str, Any]:
    return {"id": job_id, "status": status, "attempts": 1, "duration": 2.0, "exit_code": 0, "signal": None,
            "reason": None, "log": None, "start": "2020-01-01T00:00:00.000+00:00", "metrics": metrics,
            "job": {"params": params}}


def write_metrics(root: Path, name: str, doc: Any) -> str:
    path = root / "results" / name / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path.relative_to(root).as_posix()


@pytest.mark.parametrize("doc, expected", [
    ({"metrics": {"roc_auc": {"mean": 0.8, "std": 0.1}, "f1": 0.5, "notes": "x", "odd": {"std": 1}}},
     {"roc_auc": 0.8, "f1": 0.5}),
    ({"accuracy": 0.9, "loss": 0.25, "epochs": 3, "seed": 1, "ok": True, "name": "m", "r2": float("nan")},
     {"accuracy": 0.9, "loss": 0.25}),
    ([1, 2], {}),
    ({"metrics": "broken", "mae": 4}, {"mae": 4.0}),
])
def test_headline_reads_any_shape(doc: Any, expected: dict[str, float]) -> None:
    assert headline(doc) == expected


def test_direction_and_primary_metric() -> None:
    assert all(map(higher_is_better, ["roc_auc", "r2", "balanced_accuracy", "f1", "accuracy", "neg_mean_squared_error"]))
    assert not any(map(higher_is_better, ["mae", "rmse", "loss", "val_loss", "error_rate", "log-loss"]))
    assert primary_metric({"primary_metric": "f1"}, {"roc_auc": 1.0, "f1": 0.5}) == "f1"
    assert primary_metric({"primary_metric": "gone"}, {"x": 1.0, "rmse": 2.0}) == "rmse"
    assert primary_metric({}, {"x": 1.0, "y": 2.0}) == "x"
    assert primary_metric({}, {}) is None


def test_stale_or_broken_metrics_are_ignored(tmp_path: Path) -> None:
    fresh = write_metrics(tmp_path, "fresh", {"r2": 0.5})
    stale = write_metrics(tmp_path, "stale", {"r2": 0.9})
    os.utime(tmp_path / stale, (0, 0))                       # written long before the job started
    (tmp_path / "results" / "broken").mkdir()
    (tmp_path / "results" / "broken" / "metrics.json").write_text("{not json")
    def metrics(rec: dict[str, Any]) -> dict[str, float]:
        return job_metrics(as_manifest(tmp_path, {"jobs": [rec]}).records()[0], tmp_path).values

    assert metrics(record("a", metrics=fresh)) == {"r2": 0.5}
    assert metrics(record("b", metrics=stale)) == {}
    assert metrics(record("c", metrics="results/broken/metrics.json")) == {}
    assert metrics(record("d", metrics="results/missing/metrics.json")) == {}


def test_leaderboards_rank_only_jobs_of_one_task_and_dataset(tmp_path: Path) -> None:
    def scored(job_id: str, dataset: str | None, auc: float, status: str = "SUCCEEDED") -> dict:
        doc = {"task": "classification", "primary_metric": "roc_auc", "metrics": {"roc_auc": {"mean": auc}},
               **({"dataset": dataset} if dataset else {})}
        return record(job_id, status, write_metrics(tmp_path, job_id, doc))

    manifest = as_manifest(tmp_path, {"run_id": "r", "root": str(tmp_path), "jobs": [
        scored("mri", "brain_mri", 0.98),                                # alone on its data: not ranked against alz
        scored("alz-low", "alzheimers", 0.6), scored("alz-high", "alzheimers", 0.9),
        scored("alz-failed", "alzheimers", 1.0, "FAILED"),
        scored("alz-file", "alzheimers:data/real.csv", 0.7),             # the same model on other data
        record("err-big", metrics=write_metrics(tmp_path, "big", {"mae": 9.0})),
        record("err-small", metrics=write_metrics(tmp_path, "small", {"mae": 1.0})),
        record("nothing"),
    ]})
    boards = leaderboards(run_metrics(manifest))
    assert [(b.title, b.metric, b.higher, [j.id for j in b.ranked]) for b in boards] == [
        ("classification on brain_mri", "roc_auc", True, ["mri"]),
        ("classification on alzheimers", "roc_auc", True, ["alz-high", "alz-low"]),
        ("classification on alzheimers:data/real.csv", "roc_auc", True, ["alz-file"]),
        ("metrics, err-big.py", "mae", False, ["err-big"]),              # no dataset named: per script
        ("metrics, err-small.py", "mae", False, ["err-small"])]
    text = render_summary(manifest, tmp_path)
    assert "Leaderboard: classification on alzheimers (by roc_auc, higher is better)" in text
    assert text.count("Leaderboard") == 1                               # the others have nothing to rank against
    alone = text[text.index("Not ranked (no other job of this run has the same task and dataset):"):].splitlines()
    assert alone[1].split() == ["JOB", "TASK", "DATASET", "DURATION", "METRIC", "VALUE"]
    assert alone[2].split() == ["mri", "classification", "brain_mri", "2.0s", "roc_auc", "0.9800"]
    assert [line.split()[0] for line in alone[3:6]] == ["alz-file", "err-big", "err-small"]


def test_exact_ties_share_a_place_and_are_noted(tmp_path: Path) -> None:
    def scored(job_id: str, r2: float) -> dict:
        return record(job_id, metrics=write_metrics(tmp_path, job_id, {"dataset": "d", "task": "regression",
                                                                       "metrics": {"r2": r2}}))

    manifest = as_manifest(tmp_path, {"run_id": "r", "root": str(tmp_path), "jobs": [
        scored("a", 0.5), scored("b", 0.7395934871), scored("c", 0.7395934871), scored("d", 0.73959348)]})
    (board,) = leaderboards(run_metrics(manifest))
    assert [(place, job.id) for place, job in board.places()] == [("=1", "b"), ("=1", "c"), ("3", "d"), ("4", "a")]
    assert [[j.id for j in run] for run in board.ties()] == [["b", "c"]]
    text = render_summary(manifest, tmp_path)
    assert "  exact tie at =1: b, c (r2 0.7395934871)" in text           # d shows as 0.7396 too, but is not tied
    assert "exact tie" not in text.replace("exact tie at =1: b, c", "")
    (entry,) = json_report(manifest)["leaderboards"]
    assert entry["task"] == "regression" and entry["dataset"] == "d" and entry["script"] is None
    assert entry["ranking"] == ["b", "c", "d", "a"] and entry["ties"] == [["b", "c"]]


def test_grid_members_are_compared_and_the_best_named(tmp_path: Path) -> None:
    def member(lr: str, score: float | None, status: str = "SUCCEEDED") -> dict[str, Any]:
        path = write_metrics(tmp_path, lr, {"loss": score}) if score is not None else None
        return record(f"fit@lr={lr}", status, path, lr=lr)

    manifest = as_manifest(tmp_path, {"run_id": "r", "root": str(tmp_path), "jobs": [
        member("0.1", 0.4), member("0.01", 0.2), member("1", None, "FAILED"), record("alone@x=1", x=1)]})
    (board,) = grids(run_metrics(manifest))
    assert board.title == "fit" and board.metric == "loss" and not board.higher
    assert board.best.id == "fit@lr=0.01" and [j.id for j in board.unranked] == ["fit@lr=1"]
    text = render_summary(manifest, tmp_path)
    assert "Grid fit (3 members, by loss, lower is better): best fit@lr=0.01 (loss 0.2000)" in text
    rows = text[text.index("Grid fit"):].splitlines()[1:5]
    assert [row.split() for row in rows] == [["RANK", "lr", "loss", "STATUS"], ["1", "0.01", "0.2000", "SUCCEEDED"],
                                             ["2", "0.1", "0.4000", "SUCCEEDED"], ["-", "1", "-", "FAILED"]]


def test_summary_without_metrics_has_no_leaderboard(tmp_path: Path) -> None:
    text = render_summary(as_manifest(tmp_path, {"run_id": "r", "root": str(tmp_path), "jobs": [record("a")]}), tmp_path)
    assert "Leaderboard" not in text and "Grid" not in text


def test_two_by_two_grid_end_to_end(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_fit.py": GRID_SCRIPT})
    done = run_cli("--grid", "epochs=1,2", "--grid", "lr=0.1,0.2", "--parallel", "--max-workers", "4", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    ids = ["fit@epochs=1,lr=0.1", "fit@epochs=1,lr=0.2", "fit@epochs=2,lr=0.1", "fit@epochs=2,lr=0.2"]
    assert sorted(p.name for p in (root / "results").iterdir()) == ids
    out = done.stdout
    assert "Grid fit (4 members, by roc_auc, higher is better): best fit@epochs=2,lr=0.1 (roc_auc 0.6500)" in out
    board = out[out.index("Leaderboard: classification, scripts/train_fit.py (by roc_auc, higher is better)"):].splitlines()
    assert board[1].split() == ["RANK", "JOB", "DURATION", "roc_auc", "f1"]
    assert [line.split()[1] for line in board[2:6]] == [ids[2], ids[3], ids[0], ids[1]]
    assert out.rstrip().splitlines()[-1].startswith("4 jobs: 4 succeeded.")
