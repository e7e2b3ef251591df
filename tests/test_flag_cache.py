"""Tests of the content-hash cache of sniff results."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from runall.plan.flags.analyser import sniff_file
import runall.plan.flags.cache as flag_cache
from runall.plan.flags.cache import FlagCache

SCRIPT = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--epochs')\n"
OTHER = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--folds')\n"


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """Records every real analysis the cache asks for."""
    seen: list[str] = []
    real = flag_cache.sniff_source

    def counting(source, path="<string>"):
        seen.append(path)
        return real(source, path)

    monkeypatch.setattr(flag_cache, "sniff_source", counting)
    return seen


def write(path: Path, text: str, age: float = 60.0) -> Path:
    """Write a script whose mtime lies `age` seconds in the past."""
    path.write_text(text)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def test_disabled_cache_just_sniffs(tmp_path, calls):
    cache = FlagCache(None)
    script = write(tmp_path / "s.py", SCRIPT)
    assert cache.sniff(script) == sniff_file(script)
    cache.save()
    assert list(tmp_path.iterdir()) == [script]


def test_warm_run_neither_parses_nor_reads(tmp_path, calls, monkeypatch):
    store = tmp_path / ".runall-cache" / "flags.json"
    script = write(tmp_path / "s.py", SCRIPT)
    cold = FlagCache(store)
    first = cold.sniff(script)
    cold.save()
    assert calls == [str(script)] and store.exists()

    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self}"))
    warm = FlagCache(store)
    assert warm.sniff(script) == first
    assert calls == [str(script)]
    stamp = store.stat().st_mtime_ns
    warm.save()  # nothing changed: not rewritten
    assert store.stat().st_mtime_ns == stamp and warm.warnings == []


def test_same_content_elsewhere_is_a_hit_with_its_own_path(tmp_path, calls):
    cache = FlagCache(tmp_path / "flags.json")
    a = write(tmp_path / "a.py", SCRIPT)
    b = write(tmp_path / "b.py", SCRIPT)
    assert cache.sniff(a).path == str(a)
    assert cache.sniff(b).path == str(b)
    assert calls == [str(a)]


def test_content_change_invalidates(tmp_path, calls):
    store = tmp_path / "flags.json"
    script = write(tmp_path / "s.py", SCRIPT)
    cache = FlagCache(store)
    assert cache.sniff(script).option_strings == ["--epochs"]
    cache.save()
    write(script, OTHER, age=30)  # same size, different content and mtime
    cache = FlagCache(store)
    assert cache.sniff(script).option_strings == ["--folds"]
    cache.save()
    assert len(calls) == 2
    assert len(json.loads(store.read_text())["entries"]) == 1  # the stale entry is pruned


def test_fresh_files_are_always_rehashed(tmp_path, calls):
    store = tmp_path / "flags.json"
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)  # mtime is now: within the racy window
    cache = FlagCache(store)
    cache.sniff(script)
    cache.save()
    assert json.loads(store.read_text())["stats"] == {}
    script.write_text(OTHER)  # same size, possibly the same mtime tick
    assert FlagCache(store).sniff(script).option_strings == ["--folds"]


@pytest.mark.parametrize("content", [
    "{not json",
    "[]",
    '{"version": "%s", "entries": [], "stats": {}}' % flag_cache.VERSION,
    '{"version": "%s", "entries": {"%s": {"cli": 3}}, "stats": {"x": [1, 2]}}' % (flag_cache.VERSION, "0" * 64),
])
def test_corrupt_cache_is_tolerated(tmp_path, calls, content):
    store = tmp_path / "flags.json"
    store.write_text(content)
    script = write(tmp_path / "s.py", SCRIPT)
    cache = FlagCache(store)
    assert cache.sniff(script).option_strings == ["--epochs"]
    cache.save()
    assert json.loads(store.read_text())["version"] == flag_cache.VERSION


def test_corrupt_entry_for_known_hash_is_reanalysed(tmp_path, calls):
    store = tmp_path / "flags.json"
    script = write(tmp_path / "s.py", SCRIPT)
    cache = FlagCache(store)
    cache.sniff(script)
    cache.save()
    data = json.loads(store.read_text())
    for entry in data["entries"].values():
        entry["options"] = "garbage"
    store.write_text(json.dumps(data))
    assert FlagCache(store).sniff(script).option_strings == ["--epochs"]
    assert len(calls) == 2


def test_version_bump_invalidates(tmp_path, calls, monkeypatch):
    store = tmp_path / "flags.json"
    script = write(tmp_path / "s.py", SCRIPT)
    cache = FlagCache(store)
    cache.sniff(script)
    cache.save()
    monkeypatch.setattr(flag_cache, "VERSION", flag_cache.VERSION + "-next")
    FlagCache(store).sniff(script)
    assert len(calls) == 2


def test_unwritable_cache_is_reported_not_raised(tmp_path, calls):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = FlagCache(blocker / "sub" / "flags.json")
    script = write(tmp_path / "s.py", SCRIPT)
    assert cache.sniff(script).option_strings == ["--epochs"]
    cache.save()
    assert any("not written" in w for w in cache.warnings)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, calls, monkeypatch):
    store = tmp_path / "c" / "flags.json"
    cache = FlagCache(store)
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
    cache = FlagCache(tmp_path / "flags.json")
    result = cache.sniff(tmp_path / "missing.py")
    assert result.cli == "unknown" and calls == []
    cache.save()
    assert not (tmp_path / "flags.json").exists()
