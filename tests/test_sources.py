"""Import resolution inside a repository, as Python would find the modules."""

from __future__ import annotations

from pathlib import Path

from runall.plan.sources import Sources


def make(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_absolute_imports_search_script_folder_then_folders_above_then_src(tmp_path: Path) -> None:
    make(tmp_path, {"tools/train.py": "", "tools/helpers.py": "", "utils/__init__.py": "", "utils/args.py": "",
                    "src/pkg/__init__.py": "", "src/pkg/opts.py": ""})
    sources = Sources(tmp_path)
    script = tmp_path / "tools/train.py"
    assert sources.resolve(script, "helpers") == tmp_path / "tools/helpers.py"
    assert sources.resolve(script, "utils.args") == tmp_path / "utils/args.py"
    assert sources.resolve(script, "utils") == tmp_path / "utils/__init__.py"
    assert sources.resolve(script, "pkg.opts") == tmp_path / "src/pkg/opts.py"
    assert sources.resolve(script, "argparse") is None      # not the repository's


def test_relative_imports_and_members(tmp_path: Path) -> None:
    make(tmp_path, {"app/__init__.py": "", "app/cli/__init__.py": "", "app/cli/main.py": "", "app/config.py": "",
                    "ns/mod.py": ""})
    sources = Sources(tmp_path)
    main = tmp_path / "app/cli/main.py"
    assert sources.resolve(main, "config", level=2) == tmp_path / "app/config.py"
    assert sources.resolve_member(main, None, "config", level=2) == tmp_path / "app/config.py"
    assert sources.resolve(main, None, level=3) is None     # above the root
    assert sources.resolve_member(tmp_path / "x.py", "ns", "mod") == tmp_path / "ns/mod.py"   # namespace package


def test_modules_are_parsed_once_and_every_read_is_hashed(tmp_path: Path) -> None:
    make(tmp_path, {"a.py": "x = 1\n", "bad.py": "def (:\n"})
    sources = Sources(tmp_path)
    first = sources.module(tmp_path / "a.py")
    assert first is not None and first is sources.module(tmp_path / "a.py")
    assert sources.module(tmp_path / "bad.py") is None
    assert set(sources.digests) == {"a.py", "bad.py"}


def test_files_outside_the_root_are_not_read(tmp_path: Path) -> None:
    make(tmp_path, {"repo/a.py": "", "outside.py": "x = 1\n"})
    (tmp_path / "repo/link.py").symlink_to(tmp_path / "outside.py")
    sources = Sources(tmp_path / "repo")
    assert sources.module(tmp_path / "repo/link.py") is None
    assert sources.resolve(tmp_path / "repo/a.py", "link") is None
