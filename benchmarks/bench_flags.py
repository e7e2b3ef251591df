"""Flag-sniffing accuracy on the labelled corpus tests/flag_corpus/: runall against a naive text search."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .common import REPO, Section, load1
from .flag_scoring import CANONICAL, pct, score, score_table

CORPUS = REPO / "tests" / "flag_corpus"


def run(tiny: bool, work: Path) -> Section:
    """Per-role precision and recall over every labelled corpus script (the same at every size)."""
    labels = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))
    files = {name: CORPUS / name for name in sorted(labels)}
    start_load = load1()
    scores = score(files, {name: entry["roles"] for name, entry in labels.items()})
    end_load = load1()
    ours, naive = scores["runall"]["all"], scores["naive"]["all"]
    missed = Counter(miss.split(":")[0] for miss in ours.misses)
    unknown = {name for name, entry in labels.items() if not entry["known"]}
    return Section(
        key="flags", title=f"Flag-sniffing accuracy: labelled corpus ({len(files)} scripts)",
        target="", met=None,
        headline=f"all roles: runall precision {pct(ours.precision)} recall {pct(ours.recall)}; "
                 f"naive precision {pct(naive.precision)} recall {pct(naive.recall)}",
        commands=["python -m benchmarks --only flags   # runall.plan.flags (analyse.sniff_file + roles.roles_for), "
                  "against labels.json"],
        table=score_table(scores),
        notes=["Truth: `roles` in tests/flag_corpus/labels.json, for all scripts, including those the "
               "flags stage must call unknown (getopt, sys.argv, a parser from a module that is not there, ...): "
               "their missed roles count.",
               "Naive rule: role present with its canonical spelling when that text occurs anywhere in "
               f"the file ({', '.join(f'`{s}`' for s in CANONICAL.values())}).",
               "A prediction is right only with the exact option string labelled; a wrong spelling "
               "counts as one false positive and one false negative.",
               "runall's wrong or missed roles, by script: "
               + (", ".join(f"{name} ({n}{', CLI unknown' if name in unknown else ''})"
                            for name, n in sorted(missed.items())) or "none")],
        load=(start_load, end_load),
        raw={method: {role: vars(c) for role, c in counts.items()} for method, counts in scores.items()})
