"""Discovery on whole public repositories: precision and recall of `--list` against hand labels.

Each repository of `discovery_corpus/labels.json` is checked out from its local snapshot
(`snapshots.py`) and listed with default settings, as a new user would:

    python run_all_training.py --root CHECKOUT --list --format json

The scripts of the listed jobs are compared with the labelled training entry points.
Repositories whose snapshot is absent (as in CI) are skipped with a note.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import RUNALL, Section, load1, shown
from .snapshots import checkout

LABELS = Path(__file__).resolve().parent / "discovery_corpus" / "labels.json"
PRECISION_TARGET, RECALL_TARGET = 0.95, 0.90
TINY_REPOS = 3


@dataclass
class Score:
    """One repository's outcome."""

    repo: str
    commit: str
    truth: set[str]
    held_out: bool = False
    found: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def hits(self) -> int:
        return len(self.truth & self.found)

    def precision(self) -> float | None:
        return self.hits / len(self.found) if self.found else None

    def recall(self) -> float | None:
        return self.hits / len(self.truth) if self.truth else None


def listed_scripts(root: Path) -> tuple[set[str], float]:
    """The scripts `--list --format json` reports for `root` with empty caches (a fresh
    `XDG_CACHE_HOME`), and the seconds taken."""
    command = [*RUNALL, "--root", str(root), "--list", "--format", "json"]
    with tempfile.TemporaryDirectory(prefix="runall-cache-") as cache:
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "XDG_CACHE_HOME": cache})
        seconds = time.perf_counter() - started
    if done.returncode not in (0, 2) or not done.stdout.strip():
        raise RuntimeError(f"{shown(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return {job["script"] for job in json.loads(done.stdout)["jobs"]}, seconds


def _pooled(scores: list[Score]) -> tuple[int, int, int, float | None, float | None]:
    """Labelled, listed and correct files over `scores`, with precision and recall (None when undefined)."""
    truth = sum(len(s.truth) for s in scores)
    found = sum(len(s.found) for s in scores)
    hits = sum(s.hits for s in scores)
    return truth, found, hits, (hits / found if found else None), (hits / truth if truth else None)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _reasons(entry: dict[str, Any]) -> dict[str, str]:
    return {item["path"]: item["why"] for item in entry.get("borderline", ())}


def run(tiny: bool, work: Path) -> Section:
    """Score every labelled repository whose snapshot is here (the first few when `tiny`)."""
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    entries = labels["repos"][:TINY_REPOS] if tiny else labels["repos"]
    start_load = load1()
    scores: list[Score] = []
    skipped: list[str] = []
    details = [["repository", "kind", "path", "labelled reason (borderline calls only)"]]
    for entry in entries:
        root = checkout(entry["repo"], entry["commit"])
        if root is None:
            skipped.append(entry["repo"])
            continue
        score = Score(entry["repo"], entry["commit"], set(entry["entry_points"]), entry.get("held_out", False))
        score.found, score.seconds = listed_scripts(root)
        scores.append(score)
        reasons = _reasons(entry)
        for kind, paths in (("false positive", score.found - score.truth),
                            ("false negative", score.truth - score.found)):
            details += [[score.repo, kind, path, reasons.get(path, "")] for path in sorted(paths)]
    end_load = load1()
    table = [["repository", "commit", "labelled", "listed", "correct", "precision", "recall", "seconds"]]
    for s in scores:
        table.append([s.repo, s.commit[:12], str(len(s.truth)), str(len(s.found)), str(s.hits),
                      _pct(s.precision()), _pct(s.recall()), f"{s.seconds:.2f}"])
    truth, found, hits, precision, recall = _pooled(scores)
    notes = [f"Labels, labelling rules and every borderline call: {LABELS.relative_to(LABELS.parents[2])}. "
             "Overall figures pool every repository's files (micro average). The held-out repositories "
             "were labelled after the rules were tuned on the others, before runall was first run on them.",
             "Each checkout holds the commit's text source files only; each listing starts with empty caches "
             "(its own XDG_CACHE_HOME), so every repository is read cold."]
    if skipped:
        notes.append(f"Skipped (no snapshot here, as in CI): {', '.join(skipped)}.")
    if not scores:
        return Section(key="discovery_real", title="Discovery on public repositories: skipped", target="",
                       met=None, headline="skipped: no repository snapshot here",
                       commands=[shown([*RUNALL, "--root", "CHECKOUT", "--list", "--format", "json"])],
                       table=[["repository", "status"]] + [[r, "no snapshot"] for r in skipped],
                       notes=notes, load=(start_load, end_load))
    for label, group in (("held-out repositories", [s for s in scores if s.held_out]),
                         ("tuning repositories", [s for s in scores if not s.held_out])):
        if group and len(group) < len(scores):
            g_truth, g_found, g_hits, g_precision, g_recall = _pooled(group)
            table.append([label, "", str(g_truth), str(g_found), str(g_hits), _pct(g_precision), _pct(g_recall),
                          f"{sum(s.seconds for s in group):.2f}"])
    table.append(["all", "", str(truth), str(found), str(hits), _pct(precision), _pct(recall),
                  f"{sum(s.seconds for s in scores):.2f}"])
    met = (precision or 0) >= PRECISION_TARGET and (recall or 0) >= RECALL_TARGET
    return Section(
        key="discovery_real",
        title=f"Discovery on public repositories: {len(scores)} repositories, {truth} labelled training entry points",
        target=f"precision >= {PRECISION_TARGET:g} and recall >= {RECALL_TARGET:g} overall", met=met,
        headline=f"precision {_pct(precision)}, recall {_pct(recall)} ({hits} of {truth} found, {found} listed)",
        commands=[shown([*RUNALL, "--root", "CHECKOUT", "--list", "--format", "json"]) + "   # per repository"],
        table=table, details=details if len(details) > 1 else [], notes=notes, load=(start_load, end_load),
        raw={"precision": precision or 0.0, "recall": recall or 0.0, "labelled": truth, "listed": found,
             "correct": hits, "skipped": len(skipped)})
