from pathlib import Path

import pytest

from runall.errors import UsageError
from runall.plan.jobfile import load_jobfile, parse_memory


def load(root: Path, text: str):
    (root / "runall.yaml").write_text(text)
    return load_jobfile(root / "runall.yaml", root)


@pytest.fixture
def root(make_repo) -> Path:
    return make_repo({"scripts/train_a.py": "x = 1\n", "other/fit.py": "x = 1\n"})


def test_valid_entries_are_converted(root: Path) -> None:
    entries = load(root, """\
jobs:
  - script: scripts/train_a.py
    args: {lr: 0.1, amp: true}
    env: {SEED_OFFSET: 3}
    cpus: 2
    memory: 1.5G
    timeout: 30
    retries: 1
    tags: fast
    required: false
    flags: {folds: --cv}
    grid: {epochs: [1, 2]}
  - script: ./other/../other/fit.py
    id: fit-custom
    after: [a]
""")
    first, second = entries
    assert first.script == "scripts/train_a.py" and first.line == 2
    assert first.fields["memory"] == int(1.5 * 1024**3)
    assert first.fields["env"] == {"SEED_OFFSET": "3"} and first.fields["tags"] == ["fast"]
    assert first.fields["flags"] == {"folds": "--cv"} and first.fields["grid"] == {"epochs": [1, 2]}
    assert second.script == "other/fit.py" and second.fields == {"id": "fit-custom", "after": ["a"]}


@pytest.mark.parametrize("text, line, message", [
    ("jobs:\n  - script: scripts/train_a.py\n    cpu: 2\n", 3, "jobs[0].cpu: unknown key 'cpu'"),
    ("jobs:\n  - script: scripts/train_a.py\n    cpus: two\n", 3, "jobs[0].cpus: must be an integer >= 1"),
    ("jobs:\n  - script: ../outside.py\n", 2, "outside the repository root"),
    ("jobs:\n  - script: scripts/missing.py\n", 2, "does not exist"),
    ("jobs:\n  - args: {}\n", 2, "missing required key 'script'"),
    ("job:\n  - script: scripts/train_a.py\n", 1, "unknown top-level key 'job'"),
    ("jobs:\n  - script: scripts/train_a.py\n    flags: {epoch: --e}\n", 3, "unknown role 'epoch'"),
    ("jobs:\n  - script: scripts/train_a.py\n    memory: lots\n", 3, "not a memory size"),
    ("jobs:\n  - script: scripts/train_a.py\n    grid: {lr: []}\n", 3, "non-empty list"),
    ("jobs:\n  - script: [x\n", 3, "invalid YAML"),
])
def test_errors_name_file_line_and_key(root: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(UsageError) as err:
        load(root, text)
    assert f"runall.yaml:{line}" in str(err.value)
    assert message in str(err.value)


def test_missing_or_empty_file_declares_nothing(root: Path) -> None:
    assert load_jobfile(root / "absent.yaml", root) == []
    assert load(root, "") == []


def test_yaml_tags_are_not_executed(root: Path) -> None:
    with pytest.raises(UsageError, match="invalid YAML"):
        load(root, "jobs: !!python/object/apply:os.system ['true']\n")


def test_parse_memory() -> None:
    assert parse_memory("512M") == 512 * 1024**2
    assert parse_memory("4GiB") == 4 * 1024**3
    assert parse_memory(1000) == 1000
    with pytest.raises(ValueError):
        parse_memory("-1G")


def test_positional_args_overrides_and_override_style_flags(root: Path) -> None:
    entry, = load(root, """\
jobs:
  - script: scripts/train_a.py
    args: [config/train_small.py, 3]
    overrides: ["trainer.max_epochs=3", "+model.depth=4"]
    flags: {epochs: trainer.max_epochs, output_dir: hydra.run.dir, seed: --seed}
""")
    assert entry.fields["args"] == ["config/train_small.py", 3]
    assert entry.fields["overrides"] == ["trainer.max_epochs=3", "+model.depth=4"]
    assert entry.fields["flags"] == {"epochs": "trainer.max_epochs", "output_dir": "hydra.run.dir", "seed": "--seed"}


@pytest.mark.parametrize("text, message", [
    ("    overrides: [trainer.max_epochs]\n", "'trainer.max_epochs' is not an override of the form key=value"),
    ("    overrides: {a: 1}\n", "must be a string or a list of strings"),
    ("    args: [[1, 2]]\n", "as a list (positional arguments), must hold strings or numbers"),
    ("    flags: {epochs: 'max epochs'}\n", "override key"),
])
def test_new_keys_are_checked(root: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        load(root, "jobs:\n  - script: scripts/train_a.py\n" + text)
    assert "runall.yaml:3" in str(err.value) and message in str(err.value)
