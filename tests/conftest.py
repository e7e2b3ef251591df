"""Shared fixtures: repository trees made on disk, and the CLI run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIM = REPO / "run_all_training.py"

ARGPARSE_SCRIPT = '''\
"""A training script. Mentions --epochs only in this docstring? No: it defines it."""
import argparse, json, os
p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--output-dir", default="out")
a = p.parse_args()
os.makedirs(a.output_dir, exist_ok=True)
json.dump({"epochs": a.epochs}, open(os.path.join(a.output_dir, "metrics.json"), "w"))
print("trained", a.epochs)
'''


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """runall's cache ($XDG_CACHE_HOME/runall) in a folder of the test session, not the user's."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create `files` (relative path -> text) under `root`; returns `root`."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """A factory for repository trees: `make_repo({"scripts/train_a.py": "..."})`."""
    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        (root / "pyproject.toml").exists() or (root / "pyproject.toml").write_text("")
        return write_tree(root, files)
    return make


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120,
            env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess:
    """`python run_all_training.py ARGS` in a real subprocess (`env` adds to the environment; None removes)."""
    merged = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    return subprocess.run([sys.executable, str(SHIM), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=merged)


def as_manifest(run_dir: Path, data: dict) -> "Manifest":
    """A Manifest from loose test data: run fields plus `jobs`, each a record's JSON fields, where a
    missing `job` (or a partial one) is filled in (`<id>.py`, params from `job.params`)."""
    from runall.model import Job
    from runall.record.manifest import JobRecord, Manifest

    records = []
    for rec in data.get("jobs", []):
        job = {"id": rec["id"], "script": f"{rec['id']}.py", "argv": ["python", f"{rec['id']}.py"],
               **rec.get("job", {})}
        records.append(JobRecord.from_dict({"attempts": 0, **rec, "job": Job.from_dict(job).to_dict()}))
    return Manifest(run_dir, {k: v for k, v in data.items() if k != "jobs"}, records)
