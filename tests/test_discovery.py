"""Discovery: which files are training entry points, and the reason given for every file."""

import os
from pathlib import Path

import pytest

import runall.plan.discovery as discovery_module
from runall.config import Project, read_project, resolve_values
from runall.plan.discovery import discover
from runall.plan.flags.cache import ContentCache
from runall.plan.settings import Settings, settings_from

TRAIN = "print('hi')\n"          # module-level code: an entry point, training by its name only

TRAINS_IN_MAIN = '''\
import argparse
import torch


def train(epochs):
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(epochs):
        loss = model(torch.ones(2)).sum()
        loss.backward()
        optimizer.step()


def main():
    args = argparse.ArgumentParser().parse_args()
    train(3)


if __name__ == "__main__":
    main()
'''

SCRIPT_STYLE = '''\
import argparse
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
opt = parser.parse_args()
model = torch.nn.Linear(2, 1)
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(opt.epochs):
    optimizer.zero_grad()
    model(torch.ones(2)).sum().backward()
    optimizer.step()
'''

FIRE_FIT = '''\
import fire
from sklearn.linear_model import LogisticRegression


def main(c=1.0):
    LogisticRegression(C=c).fit([[0], [1]], [0, 1])


fire.Fire(main)
'''

CONFIG = '''\
"""Settings read by train.py."""
batch_size = 12
max_iters = 600_000
learning_rate = 6e-4 * 2
'''

MMENGINE_CONFIG = '''\
_base_ = ["../_base_/models/resnet50.py", "../_base_/default_runtime.py"]
model = dict(type="ImageClassifier", backbone=dict(depth=50))
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1))
optim_wrapper.update(clip_grad=None)
'''

HELPER = '''\
def train_one_epoch(model, loader, optimizer):
    model.train()
    for batch in loader:
        loss = model(batch)
        loss.backward()
        optimizer.step()
'''

EVALUATES = '''\
import argparse
import torch

if __name__ == "__main__":
    args = argparse.ArgumentParser().parse_args()
    model = torch.nn.Linear(2, 1)
    model.train(False)
    print(model(torch.ones(2)))
'''


def settings_for(root: Path, cli: dict | None = None, **table) -> Settings:
    """The settings of `root`: its pyproject's `[tool.runall]` with `table` keys added, then `cli`
    (option dests, as the command line gives them)."""
    project = read_project(root)
    project = Project(project.path, {**project.table, **table}, project.text)
    return settings_from(root.resolve(), resolve_values(cli or {}, project))


def found(root: Path, cli: dict | None = None, **table) -> list[str]:
    return discover(settings_for(root, cli, **table)).scripts


def reasons(root: Path, cli: dict | None = None, **table) -> dict[str, str]:
    return {d.path: d.reason for d in discover(settings_for(root, cli, **table)).decisions}


def test_finds_training_scripts_and_skips_noise(make_repo) -> None:
    root = make_repo({
        "src/pkg/training/train_a.py": TRAIN,
        "scripts/train_b.py": TRAIN,
        "mlops/pipelines/train_c.py": TRAIN,
        "build/lib/train_a.py": TRAIN,
        "dist/train_a.py": TRAIN,
        "node_modules/x/train_a.py": TRAIN,
        "src/pkg/__pycache__/train_a.py": TRAIN,
        "src/pkg.egg-info/train_a.py": TRAIN,
        "scripts/helper.py": TRAIN,                # module-level code, but neither a training name nor call
        "myenv/pyvenv.cfg": "home = /usr\n",
        "myenv/lib/site/train_x.py": TRAIN,        # a venv under any name
        ".git/train_a.py": TRAIN,
    })
    assert found(root) == ["mlops/pipelines/train_c.py", "scripts/train_b.py", "src/pkg/training/train_a.py"]
    why = reasons(root)
    assert why["myenv/"] == "virtual environment (pyvenv.cfg)"
    assert why["build/"] == "build or tool directory: build/"
    assert why["scripts/helper.py"] == "entry point (module-level code), no training call found"


def test_legacy_paths_are_a_setting_not_a_default(make_repo) -> None:
    root = make_repo({"training/train_a.py": TRAIN, "files/training/train_b.py": TRAIN})
    assert found(root) == ["files/training/train_b.py", "training/train_a.py"]
    (root / "pyproject.toml").write_text('[tool.runall]\nlegacy = ["training", "files/training"]\n')
    assert found(root) == []
    assert reasons(root)["training/"] == "excluded by [tool.runall] legacy = 'training'"


def test_entry_points_found_by_content_whatever_their_name(make_repo) -> None:
    root = make_repo({"main.py": TRAINS_IN_MAIN, "run.py": SCRIPT_STYLE, "cli.py": FIRE_FIT})
    assert found(root) == ["cli.py", "main.py", "run.py"]
    why = reasons(root)
    assert why["main.py"] == "entry point (__main__ block); trains: loss.backward() (line 10, through main)"
    assert why["run.py"].startswith("entry point (argparse at module level); trains: optimizer.zero_grad()")
    assert why["cli.py"].startswith("entry point (fire.Fire at module level); trains: LogisticRegression(")


def test_training_call_two_imports_away(make_repo) -> None:
    root = make_repo({
        "main.py": "from pkg.engine import run\n\nif __name__ == '__main__':\n    run()\n",
        "pkg/__init__.py": "",
        "pkg/engine.py": "from .loop import epoch\n\n\ndef run():\n    for _ in range(3):\n        epoch()\n",
        "pkg/loop.py": HELPER.replace("def train_one_epoch(model, loader, optimizer)", "def epoch(model=None, "
                                      "loader=(), optimizer=None)"),
    })
    assert found(root) == ["main.py"]
    assert "pkg/loop.py:" in reasons(root)["main.py"] and "through run" in reasons(root)["main.py"]
    # The cached verdict depended on pkg/loop.py: changing it changes the verdict.
    (root / "pkg/loop.py").write_text("def epoch(model=None, loader=(), optimizer=None):\n    return 0\n")
    assert found(root) == []
    assert reasons(root)["main.py"] == "entry point (__main__ block), no training call found"


def test_configuration_files_and_helpers_are_not_jobs(make_repo) -> None:
    root = make_repo({
        "train.py": TRAINS_IN_MAIN,
        "config/train_gpt2.py": CONFIG,
        "configs/resnet/resnet50_8xb32_in1k.py": MMENGINE_CONFIG,
        "utils/train_utils.py": HELPER,
        "engine.py": HELPER,
    })
    assert found(root) == ["train.py"]
    why = reasons(root)
    assert why["config/train_gpt2.py"] == "configuration file: assignments only"
    assert why["configs/resnet/resnet50_8xb32_in1k.py"] == "configuration file: assignments only"
    assert why["utils/train_utils.py"] == "no entry point"
    assert why["engine.py"] == "no entry point"


def test_tests_evaluation_scripts_and_launchers_are_not_jobs(make_repo) -> None:
    root = make_repo({
        "tests/train_tiny.py": TRAINS_IN_MAIN,
        "test_model.py": TRAINS_IN_MAIN,
        "conftest.py": TRAINS_IN_MAIN,
        "docs/conf.py": TRAINS_IN_MAIN,
        "evaluate.py": TRAINS_IN_MAIN,
        "predict_images.py": TRAINS_IN_MAIN,
        "score.py": EVALUATES,
        "setup.py": TRAINS_IN_MAIN,
        "submit.py": "import submitit\nfrom main import main\n\nif __name__ == '__main__':\n    main()\n",
        "main.py": TRAINS_IN_MAIN,
        "run_sweep.py": "import submitit\nfrom main import main\n\nif __name__ == '__main__':\n    main()\n",
    })
    assert found(root) == ["main.py"]
    why = reasons(root)
    assert why["tests/"] == "under tests/ (tests folder)"
    assert why["test_model.py"] == "test file: test_model.py"
    assert why["conftest.py"] == "test file: conftest.py"
    assert why["docs/"] == "under docs/ (docs folder)"
    assert why["evaluate.py"] == "evaluation script: name evaluate*"
    assert why["predict_images.py"] == "inference script: name predict*"
    assert why["score.py"] == "entry point (__main__ block), no training call found"
    assert why["setup.py"] == "packaging script: setup.py"
    assert why["submit.py"] == "launcher: name submit*"
    assert why["run_sweep.py"] == "launcher: submits jobs through submitit"


def test_configured_include_exclude_and_roots(make_repo) -> None:
    root = make_repo({
        "pyproject.toml": '[tool.runall]\nroots = ["models"]\ninclude = ["fit_*.py", "train_*.py"]\n'
                          'exclude = ["models/old"]\n',
        "models/fit_a.py": TRAIN,
        "models/train_b.py": TRAIN,
        "models/old/train_c.py": TRAIN,
        "other/train_d.py": TRAIN,
    })
    assert found(root) == ["models/fit_a.py", "models/train_b.py"]
    assert reasons(root)["models/old/"] == "excluded by [tool.runall] exclude = 'models/old'"


def test_include_takes_entry_points_by_name_and_exclude_path_wins(make_repo) -> None:
    root = make_repo({
        "tools/serve.py": EVALUATES,              # an entry point without a training call, named like inference
        "tools/helpers.py": HELPER,               # no entry point: never taken
        "tests/smoke_train.py": TRAINS_IN_MAIN,
        "train.py": TRAINS_IN_MAIN,
    })
    assert found(root) == ["train.py"]
    assert found(root, {"include_cli": ["tools/*.py", "tests/smoke_train.py"]}) == [
        "tests/smoke_train.py", "tools/serve.py", "train.py"]
    why = reasons(root, {"include_cli": ["tools/*.py"]})
    assert why["tools/serve.py"] == "matches --include = 'tools/*.py'; entry point (__main__ block)"
    assert why["tools/helpers.py"] == "no entry point"
    assert found(root, {"include_cli": ["tools/*.py"], "exclude_cli": ["tools/serve.py", "train.py"]}) == []
    assert reasons(root, {"exclude_cli": ["train.py"]})["train.py"] == "excluded by --exclude-path = 'train.py'"


def test_warm_run_reads_no_unchanged_file(make_repo, monkeypatch) -> None:
    root = make_repo({"main.py": TRAINS_IN_MAIN, "lib/util.py": HELPER, "config.py": CONFIG})
    for path in root.rglob("*.py"):        # old enough for the cache to trust its mtime
        os.utime(path, (1_000_000_000, 1_000_000_000))
    cold = reasons(root)

    def no_read(self, file, remember=True):
        raise AssertionError(f"read {file}")

    monkeypatch.setattr(ContentCache, "read", no_read)
    assert reasons(root) == cold
    monkeypatch.undo()
    (root / "config.py").write_text(TRAINS_IN_MAIN)
    assert reasons(root)["config.py"].startswith("entry point (__main__ block); trains:")


def test_disabled_cache_writes_nothing(make_repo) -> None:
    root = make_repo({"main.py": TRAINS_IN_MAIN})
    settings = settings_for(root, cache=False)
    assert discover(settings).scripts == ["main.py"]
    assert not (settings.cache_dir / "discovery.json").exists()
    assert discover(settings_for(root)).scripts == ["main.py"]
    assert (settings.cache_dir / "discovery.json").is_file()


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
    assert reasons(root)["exp/train_tmp.py"] == "ignored by .gitignore"
    assert "scratch/train_a.py" in found(root, respect_gitignore=False)


def test_gitignore_negation_is_honoured(make_repo) -> None:
    root = make_repo({".gitignore": "train_*.py\n!train_keep.py\n", "train_a.py": TRAIN, "train_keep.py": TRAIN})
    assert found(root) == ["train_keep.py"]


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


def test_syntax_error_is_a_reason_not_a_failure(make_repo) -> None:
    root = make_repo({"run_broken.py": "if __name__ == '__main__':\n    def (:\n", "main.py": TRAINS_IN_MAIN})
    assert found(root) == ["main.py"]
    assert reasons(root)["run_broken.py"] == "not valid Python (SyntaxError at line 2)"


def test_commonest_reasons_count_files(make_repo) -> None:
    root = make_repo({"a.py": CONFIG, "b.py": CONFIG, "c.py": HELPER, "tests/test_a.py": TRAIN})
    settings = settings_for(root)
    result = discover(settings)
    assert result.files_looked_at == 3
    assert result.commonest() == [("configuration file", 2), ("no entry point", 1)]
    assert discovery_module.Decision("tests/", False, "under tests/ (tests folder)", "under tests/") in result.decisions
