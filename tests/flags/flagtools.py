"""Helpers for the flags tests: analyse a snippet alone, or a script inside a small repository."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runall.plan.flags.analyse import analyse, sniff_source
from runall.plan.flags.model import Option, ScriptFlags
from runall.plan.sources import Sources


def sniff(source: str) -> ScriptFlags:
    """Analyse dedented source text with no repository around it."""
    return sniff_source(textwrap.dedent(source))


def in_repo(root: Path, files: dict[str, str], script: str) -> ScriptFlags:
    """Write `files` under `root`, then analyse `script` inside that repository."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return analyse(root / script, Sources(root))


def strings(flags: ScriptFlags) -> set[str]:
    return {s for o in flags.options for s in o.strings}


def by_primary(flags: ScriptFlags) -> dict[str, Option]:
    return {o.primary: o for o in flags.options}
