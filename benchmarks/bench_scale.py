"""Scale: 2,000 and 10,000 trivial jobs (one script's grid), 2 workers, runall against
`xargs -P 2` given the same argv lists: wall time, the orchestrator's own CPU per job, its
peak RSS and how that grows per job."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

from .common import RUNALL, Section, fresh_dir, load1, median, ratio, secs, shown, write_script
from .usage import Usage, measure

WALL_TARGET = 1.10          # runall within this factor of xargs
CPU_TARGET_MS = 2.0         # orchestrator CPU per job
RSS_TARGET_MIB = 100.0      # orchestrator peak RSS at the largest size
# Options declared for the flag stage but never parsed: a job is Python's start-up and nothing else.
SCRIPT = '''"""A trivial job: its options are declared for the flag stage, never parsed at run time."""
import sys

if __name__ == "__main__" and len(sys.argv) < 0:
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--a")
    parser.add_argument("--b")
    parser.parse_args()
'''


def grid(jobs: int) -> list[str]:
    """`--grid` options making `jobs` combinations (a x b)."""
    side = math.isqrt(jobs)
    while jobs % side:
        side -= 1
    return ["--grid", "a=" + ",".join(map(str, range(side))), "--grid", "b=" + ",".join(map(str, range(jobs // side)))]


def run(tiny: bool, work: Path) -> Section:
    """Each size: interleaved runall and xargs runs, measured from outside (wall, own CPU, VmHWM)."""
    sizes = {20: 1, 60: 1} if tiny else {2_000: 3, 10_000: 1}
    tree = fresh_dir(work / "scale")
    runs = fresh_dir(work / "scale-runs")     # outside the tree: no run discovers an earlier one's logs
    (tree / "pyproject.toml").write_text("", encoding="utf-8")
    write_script(tree / "train_g.py", SCRIPT)
    start_load = load1()
    rows, raw, commands = [], {}, []
    for jobs, reps in sizes.items():
        base = [*RUNALL, "--root", str(tree), *grid(jobs)]
        listing = subprocess.run([*base, "--dry-run", "--format", "json"], capture_output=True, text=True, check=True)
        argvs = [job["argv"] for job in json.loads(listing.stdout)["jobs"]]
        assert len(argvs) == jobs
        program, width = argvs[0][0], len(argvs[0]) - 1
        runall = [*base, "--parallel", "--max-workers", "2"]
        xargs = ["xargs", "-0", "-n", str(width), "-P", "2", program]
        feed = b"".join(a.encode() + b"\0" for argv in argvs for a in argv[1:])
        plan = measure([*base, "--list", "--no-cache"], cwd=tree)         # the job list alone: RSS reference
        samples: dict[str, list[Usage]] = {"runall": [], "xargs": []}
        for rep in range(reps):          # a new runs folder each time: no history, nothing deleted meanwhile
            samples["runall"].append(measure([*runall, "--runs-dir", str(runs / f"{jobs}-{rep}")], cwd=tree))
            samples["xargs"].append(measure(xargs, cwd=tree, stdin=feed))
        walls = {k: [u.wall for u in v] for k, v in samples.items()}
        paired = median([r / x for r, x in zip(walls["runall"], walls["xargs"])])
        cpu = median([u.cpu for u in samples["runall"]]) / jobs * 1000
        xcpu = median([u.cpu for u in samples["xargs"]]) / jobs * 1000
        peak = max(u.peak_mib for u in samples["runall"])
        raw[str(jobs)] = {"reps": reps, "wall": walls, "cpu": {k: [u.cpu for u in v] for k, v in samples.items()},
                          "peak_mib": [u.peak_mib for u in samples["runall"]], "plan_peak_mib": plan.peak_mib}
        rows.append([f"{jobs:,}", secs(median(walls["runall"])), secs(median(walls["xargs"])), ratio(paired),
                     f"{cpu:.2f} ms", f"{xcpu:.2f} ms", f"{peak:.1f} MiB", f"{plan.peak_mib:.1f} MiB"])
        commands += [shown(runall), f"{shown(xargs)}   # stdin: each job's arguments, NUL-separated"]
    end_load = load1()
    shutil.rmtree(tree, ignore_errors=True)
    shutil.rmtree(runs, ignore_errors=True)
    small, large = (str(size) for size in sizes)
    growth = (max(raw[large]["peak_mib"]) - max(raw[small]["peak_mib"])) * 1024 / (int(large) - int(small))
    ratios = [float(row[3].rstrip("x")) for row in rows]
    cpus = [float(row[4].split()[0]) for row in rows]
    largest = max(raw[large]["peak_mib"])
    met = max(ratios) <= WALL_TARGET and max(cpus) <= CPU_TARGET_MS and largest <= RSS_TARGET_MIB
    return Section(
        key="scale", title=f"Scale: {int(small):,} and {int(large):,} trivial jobs (a grid), 2 workers",
        target=f"runall within {WALL_TARGET:.2f}x of xargs, orchestrator CPU at most {CPU_TARGET_MS:g} ms per job, "
               f"peak RSS at most {RSS_TARGET_MIB:g} MiB at {int(large):,} jobs",
        met=met,
        headline=f"{' / '.join(row[3] for row in rows)} of xargs; CPU {' / '.join(row[4] for row in rows)} per job; "
                 f"peak RSS {largest:.1f} MiB at {int(large):,} jobs ({growth:+.2f} KiB per job)",
        commands=commands,
        table=[["jobs", "runall (median)", "xargs -P 2 (median)", "paired ratio", "runall CPU per job",
                "xargs CPU per job", "runall peak RSS", "--list peak RSS (reference)"], *rows],
        notes=["Each job is `python train_g.py --a I --b J`: a script whose options are declared for the flag "
               "stage but never parsed, so a job costs Python's start-up and nothing else. Both tools get the "
               "argv lists of runall's own `--dry-run --format json`. Each runall run gets a new runs folder "
               "outside the tree (`--runs-dir .../scale-runs/N-REP`), so it has no history and no run "
               "walks an earlier run's logs; all are removed at the end, not in between: "
               "on this machine's ext4 file system without a journal, creating files right after thousands "
               "were deleted costs far more system time (the inode allocator skips recently deleted inodes), "
               "which would charge an earlier run's clean-up to the next one's log files.",
               "Measured from outside the process: wall clock; CPU = user + system time of the orchestrator "
               "process itself (its threads included, its jobs not), read from /proc/<pid>/stat once it has "
               "exited and before it is reaped; peak RSS = its VmHWM, sampled every 20 ms. runall's CPU includes "
               "its start-up, discovery, flags and job list.",
               f"RSS growth per job: (peak at {int(large):,} - peak at {int(small):,}) / "
               f"{int(large) - int(small):,} jobs = {growth:.2f} KiB. The reference column is `--list` of the "
               "same grid: what the job list alone costs.",
               "On this shared machine runall's jobs start in their own sessions (one scheduler autogroup "
               "each) while xargs' jobs share the benchmark's, so under load from other processes runall's jobs "
               "get a larger share of the CPUs: a ratio below 1.00x says more about that than about runall."],
        load=(start_load, end_load), raw=raw)
