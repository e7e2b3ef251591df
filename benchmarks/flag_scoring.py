"""Score role detection against hand labels: runall's static analysis and a naive text search.

For each script and role the truth is an option string or None. A prediction counts as a true
positive when it names exactly the labelled option, as a false positive when it names any other
option (or one where the truth is None), and a labelled option not predicted exactly is a false
negative; so a wrong spelling counts once each way, as it would break a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

CANONICAL = {"epochs": "--epochs", "folds": "--folds", "output_dir": "--output-dir",
             "batch_size": "--batch-size", "seed": "--seed", "data_path": "--data-path", "config": "--config"}

ROLES = tuple(CANONICAL)   # the seven roles, in runall.plan.flags.roles.ROLES order
Roles = Mapping[str, "str | None"]


def runall_roles(path: Path) -> dict[str, str | None]:
    """What runall passes each role through: `roles_for(sniff_file(path))` (imported here, so that scoring
    alone does not depend on the flag stage's internals)."""
    from runall.plan.flags.analyse import sniff_file
    from runall.plan.flags.roles import roles_for
    return roles_for(sniff_file(path))


def naive_roles(path: Path) -> dict[str, str | None]:
    """The naive rule: a role's canonical spelling anywhere in the source text means the script has it."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return {role: spelling if spelling in text else None for role, spelling in CANONICAL.items()}


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)   # "file: predicted X, truth Y"

    def add(self, name: str, predicted: str | None, truth: str | None) -> None:
        if predicted is not None and predicted == truth:
            self.tp += 1
            return
        if predicted is not None:
            self.fp += 1
        if truth is not None:
            self.fn += 1
        if predicted is not None or truth is not None:
            self.misses.append(f"{name}: predicted {predicted}, truth {truth}")

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """2 tp / (2 tp + fp + fn); None when the role was neither labelled nor predicted."""
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else None


def score(files: Mapping[str, Path], truth: Mapping[str, Roles]) -> dict[str, dict[str, Counts]]:
    """{"runall"|"naive": {role|"all": Counts}} over the labelled files."""
    result: dict[str, dict[str, Counts]] = {}
    for method, predict in (("runall", runall_roles), ("naive", naive_roles)):
        counts = {role: Counts() for role in (*ROLES, "all")}
        for name, path in files.items():
            predicted = predict(path)
            for role in ROLES:
                for key in (role, "all"):
                    counts[key].add(name, predicted.get(role), truth[name].get(role))
        result[method] = counts
    return result


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def score_table(scores: dict[str, dict[str, Counts]]) -> list[list[str]]:
    """Per role (and all roles together): support, then precision and recall of each method."""
    table = [["role", "labelled", "runall precision", "runall recall", "naive precision", "naive recall"]]
    for role in (*ROLES, "all"):
        ours, naive = scores["runall"][role], scores["naive"][role]
        table.append([role if role != "all" else "**all roles**", str(ours.tp + ours.fn),
                      pct(ours.precision), pct(ours.recall), pct(naive.precision), pct(naive.recall)])
    return table
