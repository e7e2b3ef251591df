from pathlib import Path

import pytest

from runall.cli import parse
from runall.config import key_line
from runall.errors import UsageError


def load_settings(root: Path, *argv: str):
    return parse(["--root", str(root), *argv]).settings


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.include == () and settings.legacy == () and settings.exclude == ()
    assert settings.output_base == tmp_path.resolve() / "results"


def test_command_line_patterns_add_to_pyproject_ones(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.runall]\ninclude = ["fit_*.py"]\nexclude = ["old"]\n')
    settings = load_settings(tmp_path, "--include", "run_*.py", "--include", "x.py", "--exclude-path", "tmp")
    assert settings.include == ("fit_*.py",) and settings.include_cli == ("run_*.py", "x.py")
    assert settings.exclude == ("old",) and settings.exclude_cli == ("tmp",)


def test_pyproject_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.runall]\ninclude = ["fit_*.py"]\noutput_base = "out"\nexclude = "tests"\n')
    settings = load_settings(tmp_path, "--output-base", "elsewhere")
    assert settings.include == ("fit_*.py",)
    assert settings.exclude == ("tests",)
    assert settings.output_base == Path.cwd() / "elsewhere" and settings.runs_dir == tmp_path.resolve() / "runs"


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.runall]\nroots = ["."]\nincldue = ["a"]\n')
    with pytest.raises(UsageError) as err:
        load_settings(tmp_path)
    assert "pyproject.toml:6" in str(err.value) and "incldue" in str(err.value)


def test_wrong_type_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.runall]\nroots = 3\n")
    with pytest.raises(UsageError, match="roots.*list of strings"):
        load_settings(tmp_path)


def test_discovery_roots_must_stay_inside_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.runall]\nroots = ["../elsewhere"]\n')
    with pytest.raises(UsageError, match=r"pyproject.toml:2: \[tool.runall\] roots: path '../elsewhere' is outside"):
        load_settings(tmp_path)


def test_output_paths_may_be_anywhere_relative_to_where_they_are_written(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.runall]\noutput_base = "../scratch/out"\nruns_dir = "~/runs"\n')
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    settings = load_settings(root)
    assert settings.output_base == tmp_path / "scratch" / "out"         # pyproject: from the root
    assert settings.runs_dir == tmp_path / "home" / "runs"              # ~ expanded
    settings = load_settings(root, "--output-base", "here", "--runs-dir", "/abs/runs")
    assert settings.output_base == tmp_path / "here"                    # command line: from the current folder
    assert settings.runs_dir == Path("/abs/runs")


def test_invalid_toml_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.runall\n")
    with pytest.raises(UsageError, match="invalid TOML"):
        load_settings(tmp_path)


def test_key_line_finds_the_key_in_its_table() -> None:
    text = "[a]\nroots = 1\n[tool.runall]\n\nroots = 2\n"
    assert key_line(text, "tool.runall", "roots") == 5
    assert key_line(text, "tool.runall", "legacy") is None
