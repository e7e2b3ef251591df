"""The flag cache: results reused while every file they were read from is unchanged."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import runall.plan.flags.analyse as analyse_module
import runall.plan.flags.cache as flag_cache
from runall.plan.flags.analyse import sniff_file
from runall.plan.flags.cache import FlagCache

SCRIPT = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--epochs')\n"
OTHER = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--folds')\n"
IMPORTING = "from helpers import get_parser\nargs = get_parser().parse_args()\n"
HELPER = "import argparse\ndef get_parser():\n    p = argparse.ArgumentParser()\n    p.add_argument('--{}')\n    return p\n"


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """Records every real analysis the cache asks for."""
    seen: list[str] = []
    real = analyse_module.analyse

    def counting(script, sources):
        seen.append(str(script))
        return real(script, sources)

    monkeypatch.setattr(analyse_module, "analyse", counting)
    return seen


def write(path: Path, text: str, age: float = 60.0) -> Path:
    """Write a file whose mtime lies `age` seconds in the past."""
    path.write_text(text)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def strings(flags) -> list[str]:
    return [s for o in flags.options for s in o.strings]


def test_disabled_cache_just_analyses(tmp_path, calls):
    cache = FlagCache(None, tmp_path)
    script = write(tmp_path / "s.py", SCRIPT)
    assert cache.sniff(script) == sniff_file(script)
    cache.save()
    assert list(tmp_path.iterdir()) == [script]


def test_warm_run_neither_parses_nor_reads(tmp_path, calls, monkeypatch):
    store = tmp_path / ".runall-cache" / "flags.json"
    script = write(tmp_path / "s.py", SCRIPT)
    cold = FlagCache(store, tmp_path)
    first = cold.sniff(script)
    cold.save()
    assert calls == [str(script)] and store.exists()

    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self}"))
    warm = FlagCache(store, tmp_path)
    assert warm.sniff(script) == first
    assert calls == [str(script)]
    stamp = store.stat().st_mtime_ns
    warm.save()  # nothing changed: not rewritten
    assert store.stat().st_mtime_ns == stamp and warm.warnings == []


def test_a_change_to_an_imported_module_invalidates(tmp_path, calls):
    store = tmp_path / "flags.json"
    script = write(tmp_path / "train.py", IMPORTING)
    helper = write(tmp_path / "helpers.py", HELPER.format("epochs"))
    cache = FlagCache(store, tmp_path)
    assert strings(cache.sniff(script)) == ["--epochs"]
    cache.save()
    assert strings(FlagCache(store, tmp_path).sniff(script)) == ["--epochs"] and len(calls) == 1
    write(helper, HELPER.format("folds"), age=30)     # same size, other content
    cache = FlagCache(store, tmp_path)
    assert strings(cache.sniff(script)) == ["--folds"] and len(calls) == 2


def test_a_change_to_an_installed_source_file_invalidates(tmp_path, calls, monkeypatch):
    outside = write(tmp_path / "site.py", "x = 1\n")
    (tmp_path / "repo").mkdir()
    script = write(tmp_path / "repo" / "s.py", SCRIPT)
    store = tmp_path / "flags.json"
    cache = FlagCache(store, tmp_path / "repo")
    real = cache._analyse

    def with_dependency(path):
        result = real(path)
        result.files[str(outside)] = flag_cache.hashlib.sha256(outside.read_bytes()).hexdigest()
        return result

    monkeypatch.setattr(cache, "_analyse", with_dependency)
    cache.sniff(script)
    cache.save()
    assert FlagCache(store, tmp_path / "repo").sniff(script) and len(calls) == 1
    write(outside, "x = 2\n", age=30)
    FlagCache(store, tmp_path / "repo").sniff(script)
    assert len(calls) == 2


def test_content_change_invalidates_and_prunes(tmp_path, calls):
    store = tmp_path / "flags.json"
    script = write(tmp_path / "s.py", SCRIPT)
    cache = FlagCache(store, tmp_path)
    assert strings(cache.sniff(script)) == ["--epochs"]
    cache.save()
    write(script, OTHER, age=30)  # same size, different content and mtime
    cache = FlagCache(store, tmp_path)
    assert strings(cache.sniff(script)) == ["--folds"]
    cache.save()
    assert len(calls) == 2
    assert len(json.loads(store.read_text())["entries"]) == 1


def test_fresh_files_are_always_rehashed(tmp_path, calls):
    store = tmp_path / "flags.json"
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)  # mtime is now: within the racy window
    cache = FlagCache(store, tmp_path)
    cache.sniff(script)
    cache.save()
    assert json.loads(store.read_text())["stats"] == {}
    script.write_text(OTHER)  # same size, possibly the same mtime tick
    assert strings(FlagCache(store, tmp_path).sniff(script)) == ["--folds"]


@pytest.mark.parametrize("content", [
    "{not json",
    "[]",
    '{"version": "%s", "entries": [], "stats": {}}' % flag_cache.VERSION,
    '{"version": "%s", "entries": {"static:x": {"cli": 3}}, "stats": {"x": [1, 2]}}' % flag_cache.VERSION,
])
def test_corrupt_cache_is_tolerated(tmp_path, calls, content):
    store = tmp_path / "flags.json"
    store.write_text(content)
    script = write(tmp_path / "s.py", SCRIPT)
    cache = FlagCache(store, tmp_path)
    assert strings(cache.sniff(script)) == ["--epochs"]
    cache.save()
    assert json.loads(store.read_text())["version"] == flag_cache.VERSION


def test_corrupt_entry_is_reanalysed(tmp_path, calls):
    store = tmp_path / "flags.json"
    script = write(tmp_path / "s.py", SCRIPT)
    cache = FlagCache(store, tmp_path)
    cache.sniff(script)
    cache.save()
    data = json.loads(store.read_text())
    for entry in data["entries"].values():
        entry["result"]["options"] = "garbage"
    store.write_text(json.dumps(data))
    assert strings(FlagCache(store, tmp_path).sniff(script)) == ["--epochs"]
    assert len(calls) == 2


def test_version_bump_invalidates(tmp_path, calls, monkeypatch):
    store = tmp_path / "flags.json"
    script = write(tmp_path / "s.py", SCRIPT)
    cache = FlagCache(store, tmp_path)
    cache.sniff(script)
    cache.save()
    monkeypatch.setattr(flag_cache, "VERSION", flag_cache.VERSION + "-next")
    FlagCache(store, tmp_path).sniff(script)
    assert len(calls) == 2


def test_unwritable_cache_is_reported_not_raised(tmp_path, calls):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = FlagCache(blocker / "sub" / "flags.json", tmp_path)
    script = write(tmp_path / "s.py", SCRIPT)
    assert strings(cache.sniff(script)) == ["--epochs"]
    cache.save()
    assert any("not written" in w for w in cache.warnings)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, calls, monkeypatch):
    store = tmp_path / "c" / "flags.json"
    cache = FlagCache(store, tmp_path)
    cache.sniff(write(tmp_path / "s.py", SCRIPT))

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(flag_cache.os, "replace", failing_replace)
    cache.save()
    assert not store.exists() and list(store.parent.iterdir()) == [] and cache.warnings
    monkeypatch.undo()
    cache.save()
    assert [p.name for p in store.parent.iterdir()] == ["flags.json"]


def test_unreadable_script_is_not_cached(tmp_path, calls):
    cache = FlagCache(tmp_path / "flags.json", tmp_path)
    result = cache.sniff(tmp_path / "missing.py")
    assert result.cli == "unknown"
    cache.save()
    assert not (tmp_path / "flags.json").exists()
