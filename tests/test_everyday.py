"""Everyday use (issue 14), through the real CLI: outputs anywhere, a clean repository, resume
that does what it says, exit codes CI can trust, one precedence rule."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import ARGPARSE_SCRIPT, run_cli


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=root,
                          capture_output=True, text=True, check=True).stdout


# -- item 1: outputs anywhere ------------------------------------------------------------------------

def test_outputs_runs_and_job_file_may_live_outside_the_repository(make_repo, tmp_path: Path) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "alt.yaml").write_text("jobs:\n  - script: scripts/train_a.py\n    tags: [alt]\n")
    done = run_cli("--root", str(root), "--output-base", str(scratch / "out"), "--runs-dir", "../scratch/runs",
                   "--config", str(scratch / "alt.yaml"), "--tag", "alt", "--epochs", "2", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((scratch / "out" / "a" / "metrics.json").read_text()) == {"epochs": 2}
    manifest = json.loads((scratch / "runs" / "latest" / "manifest.json").read_text())
    assert manifest["jobs"][0]["output_dir"] == str(scratch / "out" / "a")
    assert not (root / "results").exists() and not (root / "runs").exists()


def test_a_results_folder_that_links_to_a_scratch_disk(make_repo, tmp_path: Path) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    (tmp_path / "disk").mkdir()
    (root / "results").symlink_to(tmp_path / "disk")
    done = run_cli("--root", str(root), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "disk" / "a" / "metrics.json").is_file()


def test_home_relative_paths_are_expanded(make_repo, tmp_path: Path) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    done = run_cli("--root", str(root), "--dry-run", "--output-base", "~/out", cwd=root, env={"HOME": str(tmp_path)})
    assert f"--output-dir {tmp_path}/out/a" in done.stdout


# -- item 7: the user's repository stays clean -----------------------------------------------------------

def test_listing_leaves_the_repository_clean(make_repo, tmp_path: Path) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "x")
    done = run_cli("--root", str(root), "--list", cwd=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert done.returncode == 0, done.stderr
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    (cache,) = (tmp_path / "xdg" / "runall").iterdir()
    assert cache.name.startswith("repo-") and (cache / "flags.json").is_file()
