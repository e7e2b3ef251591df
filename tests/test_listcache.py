"""The listing cache: a repeated `--list` is answered without planning, and never from a
listing that anything it was made from has outdated. Real processes, real files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
from conftest import ARGPARSE_SCRIPT, SHIM

Repo = Callable[[dict[str, str]], Path]
PLAIN = "print('hi')\n"


def age(root: Path, seconds: float = 60) -> None:
    """Every file and folder under `root` last modified `seconds` ago (inputs newer than two
    seconds are never trusted, so a fresh test tree would never be cached)."""
    past = time.time() - seconds
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            os.utime(os.path.join(folder, name), (past, past), follow_symlinks=False)
    os.utime(root, (past, past))


def listing(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, bool]:
    """`--list ARGS` in `root`: its output, and whether it was replayed (runall.cli not imported)."""
    done = subprocess.run([sys.executable, str(SHIM), "--list", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, **(env or {}), "PYTHONPROFILEIMPORTTIME": "1"}, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout, "| runall.cli\n" not in done.stderr


def cached(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Store a listing (aged inputs), check that the next one is replayed with the same text."""
    (root / ".runall-cache").mkdir(exist_ok=True)       # made by a first run, it would be news to the root
    age(root)
    first, replayed = listing(root, *args, env=env)
    again, replayed = listing(root, *args, env=env)
    assert replayed and again == first
    return first


@pytest.fixture
def repo(make_repo: Repo) -> Path:
    return make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT, "scripts/train_b.py": PLAIN,
                      "runall.yaml": "jobs:\n  - script: scripts/train_b.py\n    tags: [old]\n"})


def test_replays_until_a_script_is_added_or_its_flags_change(repo: Path) -> None:
    assert "a  " in cached(repo) and "train_c" not in cached(repo)
    (repo / "scripts" / "train_c.py").write_text(PLAIN)
    out, replayed = listing(repo)
    assert not replayed and "scripts/train_c.py" in out
    cached(repo)
    (repo / "scripts" / "train_b.py").write_text(ARGPARSE_SCRIPT)       # b gains --epochs, --output-dir
    out, replayed = listing(repo)
    assert not replayed and "b  " in out and out.count("epochs=--epochs") == 2


def test_configuration_gitignore_and_virtual_environments_count(repo: Path) -> None:
    (repo / "lab").mkdir()
    (repo / "lab" / "train_x.py").write_text(PLAIN)
    assert "lab/train_x.py" in cached(repo) and "old" in cached(repo)
    (repo / "runall.yaml").write_text("jobs:\n  - script: scripts/train_b.py\n    tags: [new]\n")
    out, replayed = listing(repo)
    assert not replayed and "new" in out and "old" not in out
    cached(repo)
    (repo / "lab" / ".gitignore").write_text("train_x.py\n")
    out, replayed = listing(repo)
    assert not replayed and "lab/train_x.py" not in out
    (repo / "lab" / ".gitignore").unlink()
    assert "lab/train_x.py" in cached(repo)
    (repo / "lab" / "pyvenv.cfg").write_text("home = /usr/bin\n")      # now a virtual environment: skipped
    out, replayed = listing(repo)
    assert not replayed and "lab/train_x.py" not in out
    cached(repo)
    (repo / "pyproject.toml").write_text('[tool.runall]\ninclude = ["train_a.py"]\n')
    out, replayed = listing(repo)
    assert not replayed and "scripts/train_a.py" in out and "scripts/train_b.py" in out and "1 job" not in out


def test_the_command_line_environment_and_opt_outs_count(repo: Path) -> None:
    text = cached(repo)
    out, replayed = listing(repo, "--format", "json")
    assert not replayed and out.startswith("{")
    assert listing(repo, env={"RUNALL_TEST_VARIABLE": "1"})[1] is False
    assert listing(repo, "--no-cache") == (text, False) and listing(repo, "--no-cache")[1] is False
    (repo / "pyproject.toml").write_text("[tool.runall]\ncache = false\n")
    age(repo)
    listing(repo)
    assert listing(repo)[1] is False


def test_fresh_inputs_and_warnings_are_never_cached(repo: Path) -> None:
    listing(repo)                                    # the tree was just written: not trusted
    assert listing(repo)[1] is False
    (repo / "scripts" / "train_gone.py").symlink_to(repo / "nowhere.py")   # discovery warns about it
    age(repo)
    listing(repo)
    assert listing(repo)[1] is False
