"""Every benchmark runs at a tiny size and reports well-formed results (no timing assertions)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
pytestmark = pytest.mark.timeout(900)      # the tiny run includes a Slurm array (queued on a shared cluster)

from benchmarks import flags_corpus  # noqa: E402
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
                          cwd=REPO, capture_output=True, text=True, timeout=850)
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


@pytest.mark.parametrize("key", list(BENCHMARKS))
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


def test_update_reruns_only_the_named_sections(tiny_run: tuple[dict[str, dict[str, Any]], str],
                                              tmp_path: Path) -> None:
    """`--only KEY --update` measures KEY again into an existing RESULTS.md and keeps every other
    section (e.g. those that need repository snapshots this machine lacks) as it was."""
    sections, markdown = tiny_run
    out = tmp_path / "RESULTS.md"
    out.write_text(markdown, encoding="utf-8")
    work = REPO / "benchmarks" / ".work" / f"test-{uuid.uuid4().hex[:8]}"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--size", "tiny", "--only", "startup", "--update",
                           "--out", str(out), "--work", str(work)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    number = list(BENCHMARKS).index("startup") + 1

    def blocks(text: str) -> dict[str, str]:
        return {block.split("\n", 1)[0]: block for block in re.split(r"(?m)^(?=## )", text)}

    before, after = blocks(markdown), blocks(out.read_text(encoding="utf-8"))
    assert list(before) == list(after)
    kept = [head for head in before if head not in ("# Benchmark results", "## Summary")
            and not head.startswith(f"## {number}. ")]
    assert all(before[head] == after[head] for head in kept)
    rows = [[line for line in text.splitlines() if not line.startswith(f"| {number} |")]
            for text in (before["## Summary"], after["## Summary"])]
    assert rows[0] == rows[1]
    assert f"Section {number} measured again by " in after["# Benchmark results"]
    assert f"## {number}. {sections['startup']['title']}" in after


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


def test_corpus_labels_are_complete() -> None:
    labels = flags_corpus.load_labels()
    scripts, repos = labels["scripts"], labels["repos"]
    assert len(scripts) >= 90 and len({e["repo"] for e in scripts}) >= 32
    assert set(repos) == {e["repo"] for e in scripts}
    assert all(re.fullmatch(r"[0-9a-f]{40}", commit) for commit in repos.values())
    assert len({(e["repo"], e["path"]) for e in scripts}) == len(scripts)
    for entry in scripts:
        assert entry["why"] and entry["framework"]
        assert set(entry["aliases"]) <= {role for role, option in entry["roles"].items() if option}


def test_corpus_without_snapshots_is_a_skip_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNALL_SNAPSHOTS", str(tmp_path / "none-here"))
    labels = flags_corpus.load_labels()
    section = flags_corpus.measure(labels, work=tmp_path / "checkouts")
    assert section.title.endswith("skipped") and section.met is None and not section.target
    assert section.table[1][:2] == ["no snapshot", str(len(labels["repos"]))]
    assert f"{len(labels['repos'])} skipped" in section.notes[0]


def _git(*argv: str, cwd: Path | None = None) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(cwd or "/")}
    return subprocess.run(["git", *argv], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def _tiny_snapshots(tmp_path: Path) -> str:
    """Bare snapshots of one small repository of our own, as acme/tiny and acme/old; its commit."""
    src = tmp_path / "src"
    (src / "tools").mkdir(parents=True)
    (src / "train.py").write_text(textwrap.dedent("""\
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", type=int, default=1)
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--seed", type=int, default=0)
        args = parser.parse_args()
        """), encoding="utf-8")
    (src / "tools" / "fit.py").write_text(textwrap.dedent("""\
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--num-epochs", type=int, default=1)
        parser.add_argument("--out-dir", default="out")
        args = parser.parse_args()
        """), encoding="utf-8")
    (src / "plain.py").write_text("print('no options')\n", encoding="utf-8")
    _git("init", "-q", cwd=src)
    _git("add", ".", cwd=src)
    _git("commit", "-q", "-m", "tiny", cwd=src)
    for name in ("acme+tiny", "acme+old"):
        _git("clone", "-q", "--bare", str(src), str(tmp_path / "snapshots" / name / "repo"))
    return _git("rev-parse", "HEAD", cwd=src)


def test_corpus_scores_runall_inside_a_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit = _tiny_snapshots(tmp_path)
    monkeypatch.setenv("RUNALL_SNAPSHOTS", str(tmp_path / "snapshots"))
    none = dict.fromkeys(flags_corpus.ROLES)

    def entry(repo: str, path: str, aliases: dict[str, list[str]] | None = None, **roles: str) -> dict[str, Any]:
        return {"repo": repo, "path": path, "framework": "argparse", "roles": {**none, **roles},
                "aliases": aliases or {}, "why": "test"}

    labels = {"repos": {"acme/tiny": commit, "acme/gone": commit, "acme/old": "f" * 40}, "scripts": [
        # --random-seed is a deliberately wrong label: runall's --seed must count both ways
        entry("acme/tiny", "train.py", {"batch_size": ["--batch-size"]},
              epochs="--epochs", batch_size="--batch_size", seed="--random-seed"),
        entry("acme/tiny", "tools/fit.py", epochs="--num-epochs", output_dir="--out-dir"),
        entry("acme/tiny", "plain.py"),
        entry("acme/gone", "train.py", epochs="--epochs"),
        entry("acme/old", "train.py", epochs="--epochs")]}
    outcomes, skipped = flags_corpus.collect(labels, work=tmp_path / "checkouts")
    assert [o.path for o in outcomes] == ["train.py", "tools/fit.py", "plain.py"]
    assert skipped == [("acme/gone", "no snapshot"), ("acme/old", "commit ffffffffffff not in the snapshot")]

    ours, naive = flags_corpus.tally(outcomes, "runall"), flags_corpus.tally(outcomes, "naive")
    assert (ours["epochs"].tp, ours["epochs"].fp, ours["epochs"].fn) == (2, 0, 0)
    assert (ours["batch_size"].tp, ours["batch_size"].fp) == (1, 0)          # through the alias
    assert (ours["seed"].tp, ours["seed"].fp, ours["seed"].fn) == (0, 1, 1)  # the wrong label
    assert (ours["output_dir"].tp, ours["output_dir"].fn) == (1, 0)
    assert (naive["epochs"].tp, naive["epochs"].fn) == (1, 1)                # --num-epochs is not --epochs
    assert naive["output_dir"].fn == 1 and naive["output_dir"].tp == 0

    section = flags_corpus.section(outcomes, skipped, labels)
    assert section.met is False and section.target == flags_corpus.TARGET
    assert "3 public training scripts from 1 repositories" in section.title
    assert any("2 skipped" in note for note in section.notes)
    seed_row = next(row for row in section.table if row[0] == "seed")
    assert seed_row[2:5] == ["0%", "0%", "0.00"]
    train_row = next(row for row in section.details if row[1] == "train.py")
    assert train_row[5] == "wrong seed"


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


def test_scale_reports_every_size_against_xargs(tiny_run: tuple[dict[str, dict[str, Any]], str]) -> None:
    section = tiny_run[0]["scale"]
    assert [row[0] for row in section["table"][1:]] == ["20", "60"]
    for size in ("20", "60"):
        raw = section["raw"][size]
        assert len(raw["wall"]["runall"]) == len(raw["wall"]["xargs"]) == raw["reps"]
        assert all(cpu > 0 for cpu in raw["cpu"]["runall"]) and all(p > 0 for p in raw["peak_mib"])


def test_slurm_array_counts_its_sbatch_calls(tiny_run: tuple[dict[str, dict[str, Any]], str]) -> None:
    section = tiny_run[0]["slurm_array"]
    if section["met"] is None:
        assert section["headline"].startswith("skipped: ")
        return
    assert section["raw"]["sbatch_calls"] <= 5 and section["raw"]["succeeded"] == section["raw"]["jobs"] == 6
