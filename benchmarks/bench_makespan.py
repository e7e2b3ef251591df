"""Makespan: one long job listed last among short ones, 2 workers; first run, second run, lower bound."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from .common import RUNALL, Section, fresh_dir, load1, median, run_checked, secs, shown, write_script

TARGET = 0.05   # second run within 5% of the lower bound
WORKERS = 2


def make_tree(tree: Path, shorts: int, short_s: float, long_s: float) -> dict[str, float]:
    """Sleep scripts: `train_a00..` sleep `short_s`, `train_zz_long` (listed last) `long_s`."""
    (tree / "pyproject.toml").write_text("", encoding="utf-8")
    sleeps = {f"a{i:02d}": short_s for i in range(shorts)} | {"zz_long": long_s}
    for name, seconds in sleeps.items():
        write_script(tree / f"train_{name}.py", f"import time\ntime.sleep({seconds})\n")
    return sleeps


def makespan(manifest: dict[str, Any]) -> tuple[float, float]:
    """(makespan, lower bound) from one run's manifest: first start to last end, and
    max(longest job, total work / workers) over the durations the manifest records."""
    jobs = manifest["jobs"]
    starts = [datetime.fromisoformat(j["start"]).timestamp() for j in jobs]
    ends = [datetime.fromisoformat(j["end"]).timestamp() for j in jobs]
    durations = [j["duration"] for j in jobs]
    return max(ends) - min(starts), max(max(durations), sum(durations) / WORKERS)


def run(tiny: bool, work: Path) -> Section:
    """First run (list order), second run (ordered from the first run's durations), lower bound."""
    shorts, short_s, long_s, reps = (8, 0.1, 0.4, 1) if tiny else (12, 1.0, 6.0, 3)
    tree = fresh_dir(work / "makespan")
    sleeps = make_tree(tree, shorts, short_s, long_s)
    command = [*RUNALL, "--root", str(tree), "--parallel", "--max-workers", str(WORKERS)]
    first: list[float] = []
    second: list[float] = []
    bounds: list[float] = []
    start_load = load1()
    for rep in range(reps):
        shutil.rmtree(tree / "runs", ignore_errors=True)      # each round starts without history
        for label, out in (("first", first), ("second", second)):
            run_id = f"r{rep}-{label}"
            run_checked([*command, "--run-id", run_id], cwd=tree)
            manifest = json.loads((tree / "runs" / run_id / "manifest.json").read_text(encoding="utf-8"))
            span, bound = makespan(manifest)
            out.append(span)
            if label == "second":
                bounds.append(bound)
    end_load = load1()
    shutil.rmtree(tree, ignore_errors=True)
    nominal = max(long_s, sum(sleeps.values()) / WORKERS)
    excess = [s / b - 1 for s, b in zip(second, bounds)]
    met = median(excess) <= TARGET
    table = [["run", "median makespan", "vs bound", "samples (s)"],
             ["first (list order: long job last)", secs(median(first)),
              f"{median([f / b for f, b in zip(first, bounds)]):.3f}x", " ".join(f"{v:.3f}" for v in first)],
             ["second (longest expected first)", secs(median(second)),
              f"{median(excess) + 1:.3f}x", " ".join(f"{v:.3f}" for v in second)],
             ["lower bound (recorded durations)", secs(median(bounds)), "1.000x",
              " ".join(f"{v:.3f}" for v in bounds)],
             ["lower bound (nominal sleeps)", secs(nominal), "", ""]]
    return Section(
        key="makespan", title=f"Makespan: {shorts} x {short_s:g} s jobs then one {long_s:g} s job, "
                              f"{WORKERS} workers",
        target=f"second run within {TARGET:.0%} of the lower bound", met=met,
        headline=f"second run {secs(median(second))}, bound {secs(median(bounds))} "
                 f"(+{median(excess):.1%}); first run {secs(median(first))}",
        commands=[shown([*command, "--run-id", "r0-first"]), shown([*command, "--run-id", "r0-second"])],
        table=table,
        notes=["Makespan = last job end - first job start, from the run's manifest (millisecond "
               "timestamps), so interpreter start-up of runall itself is not counted; the jobs' own "
               "interpreter start-up is, in both the makespan and the bound.",
               "Lower bound = max(longest job, total work / 2) over the durations the second run's "
               "manifest records; the nominal bound uses the sleep times alone.",
               f"Each of {reps} rounds removes `runs/`, then runs twice: the second run is ordered "
               "from the first run's manifest. Judged on the median of the rounds' excess over the bound."],
        load=(start_load, end_load),
        raw={"first": first, "second": second, "bounds": bounds, "nominal_bound": nominal, "reps": reps})
