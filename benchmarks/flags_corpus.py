"""Flag roles on public training scripts, each scored inside its whole repository.

    python -m benchmarks.flags_corpus [--labels FILE] [--json FILE]

`flags_corpus/labels.json` names public repositories, each with the commit labelled, and for
every training script in them the option a user types to pass each of the seven roles (or
null). For each repository this checks that commit out from its local snapshot
(benchmarks/snapshots.py), runs runall's own command line on it, once for all its scripts,

    python run_all_training.py --root CHECKOUT --inspect PATH... --format json

and scores the `roles` each script gets against the labels, beside the naive rule "the
canonical spelling (`--epochs`, `--output-dir`, ...) occurs in the script's text". A
prediction equal to the label or one of its aliases is a true positive; any other option is
a false positive and, when the role is labelled, also a false negative. Repositories whose
snapshot or commit is not on this machine (as in CI) are skipped and counted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import mean
from typing import Any, Iterable

from . import snapshots
from .common import RUNALL, Section, load1, shown
from .flag_scoring import ROLES, Counts, naive_roles, pct

LABELS = Path(__file__).resolve().parent / "flags_corpus" / "labels.json"
TARGET = "macro F1 >= 0.90 with precision >= 0.95 per role"
TINY_REPOSITORIES = 2          # --size tiny: the first repositories whose snapshots are here
METHODS = ("runall", "naive")


@dataclass
class Outcome:
    """One labelled script and what each method found in it."""

    repo: str
    path: str
    framework: str
    truth: dict[str, str | None]
    aliases: dict[str, list[str]]
    runall: dict[str, str | None]
    naive: dict[str, str | None]

    def predicted(self, method: str) -> dict[str, str | None]:
        return self.runall if method == "runall" else self.naive

    def accepts(self, role: str, option: str | None) -> bool:
        """Whether `option` is the labelled spelling for `role` or one of its aliases."""
        return option is not None and (option == self.truth[role] or option in self.aliases.get(role, ()))


def load_labels(path: Path = LABELS) -> dict[str, Any]:
    """The labels file, checked for the fields the scorer reads."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["scripts"]:
        if entry["repo"] not in data["repos"]:
            raise ValueError(f"{path}: {entry['repo']}:{entry['path']} names a repository missing from 'repos'")
        if set(entry["roles"]) != set(ROLES):
            raise ValueError(f"{path}: {entry['repo']}:{entry['path']} must label exactly the roles {', '.join(ROLES)}")
    return data


def inspect_command(root: Path, paths: list[str]) -> list[str]:
    """runall's own command line for the scripts `paths` of the checkout `root`."""
    return [*RUNALL, "--root", str(root), "--inspect", *paths, "--format", "json"]


def inspect_roles(root: Path, paths: list[str]) -> list[dict[str, str | None]]:
    """The roles runall's `--inspect --format json` reports for each of `paths`, in order.

    Run from inside the checkout, so that the paths mean the same whether runall reads them
    against the working directory or against --root.
    """
    done = subprocess.run(inspect_command(root, paths), cwd=root, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"runall --inspect exited {done.returncode} in {root.name}: {done.stderr[-2000:]}")
    reported = json.loads(done.stdout)["scripts"]
    if len(reported) != len(paths):
        raise RuntimeError(f"runall --inspect reported {len(reported)} scripts for {len(paths)} paths in {root.name}")
    return [{role: script["roles"].get(role) for role in ROLES} for script in reported]


def collect(labels: dict[str, Any], repositories: int | None = None,
            work: Path = snapshots.WORK) -> tuple[list[Outcome], list[tuple[str, str]]]:
    """Every labelled script of the repositories whose snapshot is here, and (what, why) for the rest.

    Checkouts go under `work`. With `repositories`, only that many available repositories are
    scored (the others are not skipped, just not reached).
    """
    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in labels["scripts"]:
        by_repo[entry["repo"]].append(entry)
    outcomes: list[Outcome] = []
    skipped: list[tuple[str, str]] = []
    scored = 0
    for repo, entries in by_repo.items():
        if repositories is not None and scored >= repositories:
            break
        commit = labels["repos"][repo]
        if snapshots.git_dir(repo) is None:
            skipped.append((repo, "no snapshot"))
            continue
        root = snapshots.checkout(repo, commit, work)
        if root is None:
            skipped.append((repo, f"commit {commit[:12]} not in the snapshot"))
            continue
        present = [e for e in entries if (root / e["path"]).is_file()]
        skipped += [(f"{repo}:{e['path']}", "file not in the checkout") for e in entries if e not in present]
        if not present:
            continue
        scored += 1
        found = inspect_roles(root, [e["path"] for e in present])
        outcomes += [Outcome(repo=repo, path=e["path"], framework=e["framework"], truth=dict(e["roles"]),
                             aliases=e.get("aliases", {}), runall=roles, naive=naive_roles(root / e["path"]))
                     for e, roles in zip(present, found)]
    return outcomes, skipped


def tally(outcomes: Iterable[Outcome], method: str) -> dict[str, Counts]:
    """{role | "all": Counts} of one method; an accepted alias counts as the label itself."""
    counts = {role: Counts() for role in (*ROLES, "all")}
    for o in outcomes:
        found = o.predicted(method)
        for role in ROLES:
            predicted = o.truth[role] if o.accepts(role, found[role]) else found[role]
            for key in (role, "all"):
                counts[key].add(f"{o.repo}:{o.path}", predicted, o.truth[role])
    return counts


def macro_f1(counts: dict[str, Counts]) -> float | None:
    """Mean F1 over the roles that were labelled or predicted at least once."""
    scores = [counts[role].f1 for role in ROLES if counts[role].f1 is not None]
    return mean(scores) if scores else None


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def role_table(counts: dict[str, dict[str, Counts]]) -> list[list[str]]:
    """Per role: labelled count, then precision, recall and F1 of each method; micro and macro rows."""
    header = ["role", "labelled"] + [f"{m} {x}" for m in METHODS for x in ("precision", "recall", "F1")]
    rows = [[role if role != "all" else "**all roles (micro)**", str(counts["runall"][role].tp + counts["runall"][role].fn)]
            + [cell for m in METHODS for cell in (pct(counts[m][role].precision), pct(counts[m][role].recall),
                                                  _num(counts[m][role].f1))]
            for role in (*ROLES, "all")]
    macro = ["**macro F1**", ""] + [cell for m in METHODS for cell in ("", "", _num(macro_f1(counts[m])))]
    return [header, *rows, macro]


def framework_table(outcomes: list[Outcome]) -> list[list[str]]:
    """Per framework: scripts, labelled roles, and each method's micro precision/recall and macro F1."""
    header = ["framework", "scripts", "labelled"] + [f"{m} {x}" for m in METHODS
                                                      for x in ("precision", "recall", "macro F1")]
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.framework].append(o)
    rows = []
    for framework, group in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        counts = {m: tally(group, m) for m in METHODS}
        rows.append([framework, str(len(group)), str(counts["runall"]["all"].tp + counts["runall"]["all"].fn)]
                    + [cell for m in METHODS for cell in (pct(counts[m]["all"].precision), pct(counts[m]["all"].recall),
                                                          _num(macro_f1(counts[m])))])
    return [header, *rows]


def _found(roles: dict[str, str | None]) -> str:
    return " ".join(f"{role}={option}" for role, option in roles.items() if option) or "-"


def errors(o: Outcome, method: str = "runall") -> str:
    """The roles a method got wrong in one script: `missed: a, b; wrong: c`."""
    found = o.predicted(method)
    missed = [r for r in ROLES if o.truth[r] and found[r] is None]
    wrong = [r for r in ROLES if found[r] is not None and not o.accepts(r, found[r])]
    parts = ([f"missed {', '.join(missed)}"] if missed else []) + ([f"wrong {', '.join(wrong)}"] if wrong else [])
    return "; ".join(parts) or "-"


def detail_table(outcomes: list[Outcome]) -> list[list[str]]:
    header = ["repository", "path", "framework", "labelled", "runall", "runall errors", "naive"]
    return [header] + [[o.repo, o.path, o.framework, _found(o.truth), _found(o.runall), errors(o), _found(o.naive)]
                       for o in outcomes]


def _skip_rows(skipped: list[tuple[str, str]]) -> list[list[str]]:
    reasons: dict[str, list[str]] = defaultdict(list)
    for what, why in skipped:
        reasons[why].append(what)
    return [[why, str(len(whats)), ", ".join(whats)] for why, whats in sorted(reasons.items())]


def section(outcomes: list[Outcome], skipped: list[tuple[str, str]], labels: dict[str, Any],
            load: tuple[float, float] = (0.0, 0.0)) -> Section:
    """The RESULTS.md section: the figures, or a skip note when no repository could be scored."""
    commands = ["python -m benchmarks.flags_corpus   # snapshots from $RUNALL_SNAPSHOTS (default /work/.mirror)",
                shown(inspect_command(Path("CHECKOUT"), ["PATH..."])) + "   # once per repository, run inside it"]
    total = len(labels["repos"])
    where = f"$RUNALL_SNAPSHOTS ({snapshots.snapshots_dir()})"
    skip_note = (f"{len(skipped)} skipped ({'; '.join(f'{row[1]} {row[0]}' for row in _skip_rows(skipped))}): "
                 f"snapshots are bare git directories read from {where}/<owner>+<name>/repo; CI has none.") if skipped else ""
    raw_skipped = [{"what": what, "why": why} for what, why in skipped]
    if not outcomes:
        return Section(key="flags_real", title="Flag roles on public training scripts: skipped", target="", met=None,
                       headline=f"skipped: none of the {total} repositories' snapshots is on this machine",
                       commands=commands, table=[["skipped because", "count", "what"], *_skip_rows(skipped)],
                       notes=[skip_note, f"Target when measured: {TARGET}.", "Labels and rules: "
                              "benchmarks/flags_corpus/labels.json."], load=load, raw={"skipped": raw_skipped})
    counts = {m: tally(outcomes, m) for m in METHODS}
    ours, naive = macro_f1(counts["runall"]), macro_f1(counts["naive"])
    precisions = [counts["runall"][role].precision for role in ROLES]
    met = ours is not None and ours >= 0.90 and all(p is None or p >= 0.95 for p in precisions)
    repos = len({o.repo for o in outcomes})
    lowest = min((p for p in precisions if p is not None), default=None)
    return Section(
        key="flags_real",
        title=f"Flag roles on {len(outcomes)} public training scripts from {repos} repositories, "
              "scored inside each repository",
        target=TARGET, met=met,
        headline=f"macro F1: runall {_num(ours)} (lowest precision {pct(lowest)}), naive {_num(naive)}",
        commands=commands, table=role_table(counts), details=detail_table(outcomes),
        extra_tables=[framework_table(outcomes)],
        notes=[f"Scored {len(outcomes)} of {len(labels['scripts'])} labelled scripts in {repos} of {total} "
               "repositories, each at the commit labelled, with runall's own `--inspect --format json`.",
               *([skip_note] if skip_note else []),
               "A prediction equal to the label or one of its aliases is a true positive; any other option is a "
               "false positive and, when the role is labelled, also a false negative. Macro F1 is the mean over "
               "the seven roles (per framework: over the roles labelled or predicted there).",
               "Naive: the canonical spelling (--epochs, --folds, --output-dir, --batch-size, --seed, --data-path, "
               "--config) occurs in the script's text.",
               "Labels, rules and the reason for every borderline call: benchmarks/flags_corpus/labels.json "
               "(repository, commit and path only; no code is copied)."],
        load=load,
        raw={"counts": {m: {role: {"tp": c.tp, "fp": c.fp, "fn": c.fn} for role, c in counts[m].items()}
                        for m in METHODS},
             "scripts": [asdict(o) for o in outcomes], "skipped": raw_skipped})


def measure(labels: dict[str, Any], repositories: int | None = None, work: Path = snapshots.WORK) -> Section:
    """Score the corpus (or its first `repositories` available repositories), checkouts under `work`."""
    before = load1()
    outcomes, skipped = collect(labels, repositories, work)
    return section(outcomes, skipped, labels, (before, load1()))


def run(tiny: bool, work: Path) -> Section:
    """`python -m benchmarks` entry: the whole corpus, or two repositories at the tiny size."""
    del work                    # checkouts are cached under benchmarks/.work/snapshots, shared by runs
    return measure(load_labels(), TINY_REPOSITORIES if tiny else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS, help="labels file (default: flags_corpus/labels.json)")
    parser.add_argument("--json", type=Path, help="also write the section, every script's roles included")
    args = parser.parse_args(argv)
    result = measure(load_labels(args.labels))
    print(result.headline)
    for table in (result.table, *result.extra_tables):
        print()
        for row in table:
            print("  ".join(f"{cell:>18}" for cell in row))
    if args.json:
        args.json.write_text(json.dumps(result.to_dict(), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
