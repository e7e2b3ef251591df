"""Start-up: `--list` on this repository against `python -c pass`, as a ratio."""

from __future__ import annotations

import sys
from pathlib import Path

from .common import (REPO, RUNALL, Section, interleave, load1, median, ratio, samples_cell, secs,
                     shown, time_command)


def run(tiny: bool, work: Path) -> Section:
    """`--list` on this repository (flag cache warm), the bare interpreter, and runall's imports."""
    reps = 1 if tiny else 10
    listing = [*RUNALL, "--root", str(REPO), "--list"]
    bare = [sys.executable, "-c", "pass"]
    imports = [sys.executable, "-c", "import runall.cli"]
    time_command(listing)                        # untimed: fills this repository's flag cache
    cases = {"python -c pass": lambda: time_command(bare),
             "python -c 'import runall.cli'": lambda: time_command(imports),
             "runall --list": lambda: time_command(listing)}
    start_load = load1()
    samples = interleave(cases, reps)
    end_load = load1()
    med = {name: median(values) for name, values in samples.items()}
    base = samples["python -c pass"]
    paired = {name: median([v / b for v, b in zip(values, base)]) for name, values in samples.items()}
    table = [["command", "median", "vs python -c pass (paired)", "samples (s)"]] + [
        [name, secs(m), ratio(paired[name]), samples_cell(samples[name])] for name, m in med.items()]
    return Section(
        key="startup", title="Start-up: `--list` on this repository",
        target="", met=None,
        headline=f"--list {secs(med['runall --list'])} = {ratio(paired['runall --list'])} python -c pass "
                 f"({secs(med['python -c pass'])})",
        commands=[shown(listing), shown(bare), shown(imports)],
        table=table,
        notes=["The issue asks for the ratio; it sets no target. The flag cache is warm (an "
               "untimed `--list` runs first); `import runall.cli` shows how much of it is imports."],
        load=(start_load, end_load), raw={"reps": reps, "samples": samples})
