"""Every benchmark runs at a tiny size and reports well-formed results (no timing assertions)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import flags_real  # noqa: E402
from benchmarks.__main__ import BENCHMARKS  # noqa: E402
from benchmarks.flag_scoring import Counts  # noqa: E402
from benchmarks.gen_repo import generate  # noqa: E402


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, Any]], str]:
    """`python -m benchmarks --size tiny`, once: the sections by key, and the Markdown."""
    out = tmp_path_factory.mktemp("bench")
    work = REPO / "benchmarks" / ".work" / f"test-{uuid.uuid4().hex[:8]}"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--size", "tiny", "--out", str(out / "RESULTS.md"),
                           "--json", str(out / "results.json"), "--work", str(work)],
                          cwd=REPO, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr
    assert not work.exists()
    sections = {s["key"]: s for s in json.loads((out / "results.json").read_text(encoding="utf-8"))}
    return sections, (out / "RESULTS.md").read_text(encoding="utf-8")


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in _numbers(v)]
    return []


@pytest.mark.parametrize("key", [*BENCHMARKS, "flags_real"])
def test_section_is_well_formed(tiny_run: tuple[dict[str, dict[str, Any]], str], key: str) -> None:
    sections, markdown = tiny_run
    section = sections[key]
    assert section["title"] and section["headline"] and section["commands"]
    assert not section["title"].endswith("FAILED")
    assert section["met"] in (True, False, None) and bool(section["target"]) == (section["met"] is not None)
    for table in (section["table"], section["details"]):
        assert all(len(row) == len(table[0]) for row in table)
    assert len(section["table"]) >= 2
    assert all(math.isfinite(n) and n >= 0 for n in _numbers(section["raw"]) + list(section["load"]))
    assert f". {section['title']}\n" in markdown


def test_report_has_summary_and_machine_facts(tiny_run: tuple[dict[str, dict[str, Any]], str]) -> None:
    _, markdown = tiny_run
    assert "## Summary" in markdown and "## Machine" in markdown and "- CPU: " in markdown


def test_dispatch_compares_the_same_commands(tiny_run: tuple[dict[str, dict[str, Any]], str]) -> None:
    section = tiny_run[0]["dispatch"]
    tools = [row[0] for row in section["table"][1:]]
    assert tools[:2] == ["runall", "xargs -P 2"]
    assert "parallel -j2" in tools or any("not installed" in note for note in section["notes"])


def test_counts_score_a_wrong_spelling_both_ways() -> None:
    counts = Counts()
    counts.add("a.py", "--epochs", "--epochs")
    counts.add("b.py", "--epochs", "--num-epochs")
    counts.add("c.py", None, None)
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 1)
    assert counts.precision == counts.recall == 0.5


def test_generated_repository_has_the_requested_size(tmp_path: Path) -> None:
    generate(tmp_path / "repo", files=300, scripts=20, venv_files=60)
    files = [p for p in (tmp_path / "repo").rglob("*") if p.is_file()]
    assert len(files) == 300
    scripts = [p for p in files if p.name.startswith(("train_", "run_")) and p.suffix == ".py"
               and "venv-py311" not in p.parts]
    assert len(scripts) == 20 and sum(p.name.startswith("run_") for p in scripts) == 2
    assert len([p for p in files if "venv-py311" in p.parts]) == 60


def test_real_script_labels_match_stored_results() -> None:
    labels = json.loads(flags_real.LABELS.read_text(encoding="utf-8"))["scripts"]
    stored = json.loads(flags_real.RESULTS.read_text(encoding="utf-8"))
    assert [f["file"] for f in stored["files"]] == sorted(labels)
    for entry in labels.values():
        assert {"repo", "path", "commit", "sha256", "roles"} <= set(entry) and len(entry["commit"]) == 40


def test_discovery_corpus_labels_are_well_formed() -> None:
    from benchmarks.bench_discovery_real import LABELS
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    assert {"about", "rules", "repos"} <= set(labels)
    repos = labels["repos"]
    assert len(repos) >= 16 and sum(len(r["entry_points"]) for r in repos) >= 120
    for entry in repos:
        assert len(entry["commit"]) == 40 and entry["entry_points"] == sorted(set(entry["entry_points"]))
        for call in entry["borderline"]:
            assert call["why"] and call["taken"] == (call["path"] in entry["entry_points"]), call


def test_discovery_real_skips_with_a_note_when_no_snapshot_is_here(tmp_path: Path, monkeypatch) -> None:
    from benchmarks import bench_discovery_real
    monkeypatch.setenv("RUNALL_SNAPSHOTS", str(tmp_path / "none"))
    section = bench_discovery_real.run(True, tmp_path / "work")
    assert section.met is None and section.target == "" and section.headline.startswith("skipped")
    assert all(row[1] == "no snapshot" for row in section.table[1:]) and len(section.table) > 1
