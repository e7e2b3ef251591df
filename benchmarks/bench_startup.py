"""Start-up: `--list` on this repository against `python -c pass`, as a ratio, and what
`python -X importtime` shows it importing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .common import (REPO, RUNALL, Section, interleave, load1, median, ratio, samples_cell, secs,
                     shown, time_command)

TARGET = 3.0        # --list within this factor of `python -c pass`


def imports(argv: list[str], planned: bool) -> list[tuple[str, int]]:
    """The top-level modules a command imports, with their cumulative import time (µs), slowest first:
    of a run that plans (an environment the listing cache has not seen), or of a second run with
    the same environment as the first (which may fill the listing cache)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    if planned:
        env["RUNALL_BENCH_NONCE"] = str(time.time_ns())
    else:
        subprocess.run(argv, capture_output=True, env=env)
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    found = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            if not name.startswith("  "):                  # imported by the command itself, not by a module
                found.append((name.strip(), int(cumulative)))
    return sorted(found, key=lambda item: -item[1])


def run(tiny: bool, work: Path) -> Section:
    """`--list` on this repository (flag cache warm): replayed from the listing cache, and planned
    (the listing cache missed); the bare interpreter; runall's imports."""
    reps = 1 if tiny else 10
    listing = [*RUNALL, "--root", str(REPO), "--list"]
    bare = [sys.executable, "-c", "pass"]
    imports_cli = [sys.executable, "-c", "import runall.cli"]
    time_command(listing)                        # untimed: fills the flag cache (and the listing cache)
    def planned() -> float:
        """--list with an environment the listing cache has not seen: it plans again."""
        os.environ["RUNALL_BENCH_NONCE"] = str(time.time_ns())
        try:
            return time_command(listing)
        finally:
            del os.environ["RUNALL_BENCH_NONCE"]

    cases = {"python -c pass": lambda: time_command(bare),
             "python -c 'import runall.cli'": lambda: time_command(imports_cli),
             "runall --list": lambda: time_command(listing),
             "runall --list (listing cache missed: plans)": planned}
    start_load = load1()
    samples = interleave(cases, reps)
    end_load = load1()
    med = {name: median(values) for name, values in samples.items()}
    base = samples["python -c pass"]
    paired = {name: median([v / b for v, b in zip(values, base)]) for name, values in samples.items()}
    table = [["command", "median", "vs python -c pass (paired)", "samples (s)"]] + [
        [name, secs(m), ratio(paired[name]), samples_cell(samples[name])] for name, m in med.items()]
    replayed = imports(listing, planned=False)
    missed = imports(listing, planned=True)
    details = [["`--list` (replayed): top-level imports", "cumulative", "`--list` (planned): top-level imports",
                "cumulative"]]
    for i in range(max(len(replayed[:12]), len(missed[:12]))):
        left = replayed[i] if i < len(replayed) else ("", 0)
        right = missed[i] if i < len(missed) else ("", 0)
        details.append([left[0], f"{left[1] / 1000:.1f} ms" if left[0] else "", right[0],
                        f"{right[1] / 1000:.1f} ms" if right[0] else ""])
    factor = paired["runall --list"]
    return Section(
        key="startup", title="Start-up: `--list` on this repository",
        target=f"--list within {TARGET:g}x of python -c pass", met=factor <= TARGET,
        headline=f"--list {secs(med['runall --list'])} = {ratio(factor)} python -c pass "
                 f"({secs(med['python -c pass'])}); planned {ratio(paired['runall --list (listing cache missed: plans)'])}",
        commands=[shown(listing), shown(bare), shown(imports_cli),
                  "RUNALL_BENCH_NONCE=<new each time> " + shown(listing)],
        table=table, details=details,
        notes=["The flag cache is warm (an untimed `--list` runs first, which also stores the listing). "
               "`--list` is then answered from the listing cache (runall/listcache.py): nothing it was made "
               "from has changed, so it prints the stored listing after a few dozen stat calls. The "
               "'listing cache missed' row changes an environment variable each time, so every run plans "
               "again (discovery, job file, flags from the warm flag cache, job list).",
               "The second table is `python -X importtime` of one run of each: the modules the command "
               "itself imports (not those imported by them), with their cumulative import time."],
        load=(start_load, end_load), raw={"reps": reps, "samples": samples})
