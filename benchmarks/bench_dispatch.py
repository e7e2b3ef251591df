"""Dispatch overhead: many trivial jobs, 2 workers, runall against xargs -P 2 and GNU parallel -j2."""

from __future__ import annotations

import itertools
import json
import shlex
import shutil
import subprocess
from pathlib import Path

from .common import (RUNALL, Section, fresh_dir, interleave, load1, median, ratio, samples_cell, secs,
                     shown, time_command, write_script)

TARGET = 1.10   # runall within this factor of xargs (issue 16; issue 8 asked 1.15)


def job_argvs(tree: Path) -> list[list[str]]:
    """The exact command of every job, from runall's own `--dry-run --format json`."""
    out = subprocess.run([*RUNALL, "--root", str(tree), "--dry-run", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return [job["argv"] for job in json.loads(out)["jobs"]]


def run(tiny: bool, work: Path) -> Section:
    """Time the same trivial commands through runall, xargs and (when installed) GNU parallel."""
    jobs, reps = (10, 1) if tiny else (200, 5)
    tree = fresh_dir(work / "dispatch")
    runs = fresh_dir(work / "dispatch-runs")   # one new runs folder per run, outside the tree
    (tree / "pyproject.toml").write_text("", encoding="utf-8")
    for i in range(jobs):
        write_script(tree / f"train_j{i:03d}.py", "if __name__ == \"__main__\":\n    pass\n")  # exits at once
    argvs = job_argvs(tree)                                     # also fills the flag cache
    program, width = argvs[0][0], len(argvs[0]) - 1
    if any(argv[0] != program or len(argv) - 1 != width for argv in argvs):
        raise RuntimeError("xargs needs one program and argument lists of equal length")
    runall = [*RUNALL, "--root", str(tree), "--parallel", "--max-workers", "2"]
    fixed = [*RUNALL, "--root", str(tree), "--dry-run"]
    xargs = ["xargs", "-0", "-n", str(width), "-P", "2", program]
    xargs_input = b"".join(a.encode() + b"\0" for argv in argvs for a in argv[1:])
    parallel = ["parallel", "-j2", "--will-cite"]
    parallel_input = "".join(shlex.join(argv) + "\n" for argv in argvs).encode()

    rounds = itertools.count()

    def time_runall() -> float:          # every run starts without history, and nothing is deleted meanwhile
        return time_command([*runall, "--runs-dir", str(runs / str(next(rounds)))], cwd=tree)

    cases = {"runall": time_runall,
             "xargs -P 2": lambda: time_command(xargs, cwd=tree, stdin=xargs_input)}
    notes = [f"{jobs} jobs, each `{shown(argvs[0])}` (a script whose `__main__` block does nothing), run from the tree root; "
             "all three get exactly these argv lists (runall's own `--dry-run --format json`).",
             "runall has no quiet flag: its per-job status lines go to a temporary file, as does "
             "every tool's output (shown only if a command fails). runall also discovers the scripts (flag cache warm), writes a log per "
             "job and the run manifest: that is part of its cost. Each runall run gets a new runs folder outside "
             "the tree (`--runs-dir` above), all removed at the end: removing one before each run "
             "would charge the next run's log files for it (this machine's ext4 without a journal skips "
             "recently deleted inodes when it creates files; see the scale section)."]
    if shutil.which("parallel"):
        cases["parallel -j2"] = lambda: time_command(parallel, cwd=tree, stdin=parallel_input)
    else:
        notes.append("GNU parallel is not installed: its column is skipped "
                     "(`apt-get install parallel` adds it).")
    cases["runall --dry-run (runs nothing)"] = lambda: time_command(fixed, cwd=tree)
    start_load = load1()
    samples = interleave(cases, reps)
    end_load = load1()
    shutil.rmtree(tree, ignore_errors=True)
    shutil.rmtree(runs, ignore_errors=True)
    med = {name: median(values) for name, values in samples.items()}
    base = samples["xargs -P 2"]
    paired = {name: median([v / b for v, b in zip(values, base)]) for name, values in samples.items()}
    table = [["tool", "median", "per job", "ratio of medians", "median of paired ratios", "samples (s)"]] + [
        [name, secs(m), f"{m / jobs * 1000:.1f} ms", ratio(m / med["xargs -P 2"]), ratio(paired[name]),
         samples_cell(samples[name])] for name, m in med.items()]
    factor = paired["runall"]
    per_job = median([(r - d - x) / (jobs / 2) for r, d, x in
                      zip(samples["runall"], samples["runall --dry-run (runs nothing)"], base)])
    notes.append("`runall --dry-run` on the same tree is runall's fixed cost (start-up, discovery, "
                 "flags, job list) without running anything. What is left of runall's excess over xargs, "
                 f"per job on each of the 2 workers (median over rounds): {per_job * 1000:.1f} ms.")
    notes.append("Judged on the median of paired ratios (runall / xargs within the same round), "
                 "which cancels load that drifts between rounds on this shared machine.")
    return Section(
        key="dispatch", title=f"Dispatch overhead: {jobs} trivial jobs, 2 workers",
        target=f"runall within {TARGET:.2f}x of xargs", met=factor <= TARGET,
        headline=f"runall {secs(med['runall'])} vs xargs {secs(med['xargs -P 2'])}: {ratio(factor)}",
        commands=[f"{shown(runall)} --runs-dir {shown([str(runs)])}/N",
                  f"{shown(xargs)}   # stdin: each job's arguments, NUL-separated",
                  f"{shown(parallel)}   # stdin: one shell-quoted command per line", shown(fixed)],
        table=table, notes=notes, load=(start_load, end_load),
        raw={"jobs": jobs, "reps": reps, "samples": samples})
