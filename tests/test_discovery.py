import os
from pathlib import Path

import pytest

from runall.config import Project, read_project, resolve_values
from runall.plan.discovery import discover
from runall.plan.settings import Settings, settings_from

TRAIN = "print('hi')\n"


def settings_for(root: Path, **table) -> Settings:
    """The settings of `root`, with `[tool.runall]` keys added to (or replacing) its pyproject's."""
    project = read_project(root)
    project = Project(project.path, {**project.table, **table}, project.text)
    return settings_from(root.resolve(), resolve_values({}, project))


def found(root: Path, **table) -> list[str]:
    return discover(settings_for(root, **table)).scripts


def test_finds_canonical_scripts_and_skips_legacy_and_noise(make_repo) -> None:
    root = make_repo({
        "src/pkg/training/train_a.py": TRAIN,
        "scripts/train_b.py": TRAIN,
        "mlops/pipelines/train_c.py": TRAIN,
        "training/train_a.py": TRAIN,              # legacy
        "files/training/train_a.py": TRAIN,        # legacy
        "build/lib/train_a.py": TRAIN,
        "dist/train_a.py": TRAIN,
        "node_modules/x/train_a.py": TRAIN,
        "src/pkg/__pycache__/train_a.py": TRAIN,
        "src/pkg.egg-info/train_a.py": TRAIN,
        "scripts/helper.py": TRAIN,                # not train_*
        "myenv/pyvenv.cfg": "home = /usr\n",
        "myenv/lib/site/train_x.py": TRAIN,        # a venv under any name
        ".git/train_a.py": TRAIN,
    })
    assert found(root) == ["mlops/pipelines/train_c.py", "scripts/train_b.py", "src/pkg/training/train_a.py"]


def test_gitignore_is_respected_including_nested(make_repo) -> None:
    root = make_repo({
        ".gitignore": "scratch/\n*_old.py\n",
        "scratch/train_a.py": TRAIN,
        "scripts/train_b_old.py": TRAIN,
        "scripts/train_b.py": TRAIN,
        "exp/.gitignore": "train_tmp.py\n",
        "exp/train_tmp.py": TRAIN,
        "exp/train_keep.py": TRAIN,
    })
    assert found(root) == ["exp/train_keep.py", "scripts/train_b.py"]
    assert "scratch/train_a.py" in found(root, respect_gitignore=False)


def test_configured_include_exclude_and_roots(make_repo) -> None:
    root = make_repo({
        "pyproject.toml": '[tool.runall]\nroots = ["models"]\ninclude = ["fit_*.py", "train_*.py"]\nexclude = ["models/old"]\n',
        "models/fit_a.py": TRAIN,
        "models/train_b.py": TRAIN,
        "models/old/train_c.py": TRAIN,
        "other/train_d.py": TRAIN,
    })
    assert found(root) == ["models/fit_a.py", "models/train_b.py"]


def test_symlink_loop_and_unreadable_dir_are_reported_not_fatal(make_repo) -> None:
    root = make_repo({"a/train_x.py": TRAIN, "locked/train_y.py": TRAIN})
    os.symlink(root / "a", root / "a" / "loop")
    os.symlink(root / "missing", root / "a" / "train_broken.py")
    settings = settings_for(root)
    (root / "locked").chmod(0)
    try:
        result = discover(settings)
    finally:
        (root / "locked").chmod(0o755)
    assert result.scripts[0] == "a/train_x.py"
    text = "\n".join(result.problems)
    assert "symlink loop" in text and "broken symlink" in text
    if os.geteuid() != 0:  # root can read anything
        assert "locked: unreadable directory" in text


def test_non_utf8_file_name_is_reported(make_repo) -> None:
    root = make_repo({"a/train_ok.py": TRAIN})
    try:
        with open(os.path.join(os.fsencode(root / "a"), b"train_\xff.py"), "wb") as handle:
            handle.write(b"x = 1\n")
    except OSError:
        pytest.skip("file system refuses non-UTF-8 names")
    settings = settings_for(root)
    result = discover(settings)
    assert result.scripts == ["a/train_ok.py"]
    assert any("not valid UTF-8" in p for p in result.problems)
