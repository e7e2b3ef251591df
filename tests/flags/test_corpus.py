"""The labelled corpus of small scripts in tests/flag_corpus (each analysed alone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runall.plan.flags import installed
from runall.plan.flags.analyse import sniff_file
from runall.plan.flags.roles import ROLES, roles_for

CORPUS = Path(__file__).resolve().parents[1] / "flag_corpus"
LABELS = json.loads((CORPUS / "labels.json").read_text())


def test_corpus_is_complete():
    scripts = {p.name for p in CORPUS.glob("*.py")}
    assert scripts == set(LABELS) and len(scripts) >= 30


@pytest.mark.parametrize("name", sorted(LABELS))
def test_corpus_label(name, monkeypatch):
    monkeypatch.setattr(installed, "package_dir", lambda package: None)   # as without transformers
    label = LABELS[name]
    flags = sniff_file(CORPUS / name)
    assert flags.known == label["known"], flags.problems
    roles = roles_for(flags)
    if label["known"]:
        assert sorted({s for o in flags.options for s in o.strings}) == sorted(label["options"])
        assert roles == label["roles"]
    else:
        assert roles == {role: None for role in ROLES}
        assert flags.problems
