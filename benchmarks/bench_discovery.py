"""Discovery and sniffing at scale: `--list` on a generated 50,000-file repository, cold and warm."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from .common import (RUNALL, Section, interleave, load1, median, samples_cell, secs, shown,
                     time_command)
from .gen_repo import generate, project_count

COLD_TARGET, WARM_TARGET = 2.0, 0.3


def listed_jobs(command: list[str]) -> int:
    """How many jobs `--list` reports (its last line is `N job(s)`)."""
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1].split()[0])


def run(tiny: bool, work: Path) -> Section:
    """Time `--list` with the caches removed (cold) and present (warm), interleaved."""
    files, scripts, venv_files, reps = (600, 10, 200, 1) if tiny else (50_000, 1_000, 20_000, 5)
    root = work / "discovery"
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    generate(root, files, scripts, venv_files)
    generated_in = time.perf_counter() - started
    command = [*RUNALL, "--root", str(root), "--list"]
    cache = work / "discovery-cache"             # the caches live in $XDG_CACHE_HOME/runall
    outer_cache = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    found = listed_jobs(command)                 # untimed: warms the OS file cache, checks the count
    if found != scripts:
        raise RuntimeError(f"--list found {found} jobs, expected {scripts}")

    def cold() -> float:
        shutil.rmtree(cache, ignore_errors=True)
        return time_command(command)

    start_load = load1()
    samples = interleave({"cold": cold, "warm": lambda: time_command(command)}, reps)
    end_load = load1()
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    if outer_cache is None:
        os.environ.pop("XDG_CACHE_HOME")
    else:
        os.environ["XDG_CACHE_HOME"] = outer_cache
    cold_s, warm_s = median(samples["cold"]), median(samples["warm"])
    met = cold_s < COLD_TARGET and warm_s < WARM_TARGET
    table = [["case", "median", "target", "met", "samples (s)"],
             ["cold (caches removed)", secs(cold_s), f"< {COLD_TARGET:g} s",
              "yes" if cold_s < COLD_TARGET else "no", samples_cell(samples["cold"])],
             ["warm (cache from the cold run just before)", secs(warm_s), f"< {WARM_TARGET:g} s",
              "yes" if warm_s < WARM_TARGET else "no", samples_cell(samples["warm"])]]
    return Section(
        key="discovery", title=f"Discovery and sniffing: {files:,} files, {scripts:,} training scripts, "
                               f"{venv_files:,}-file virtual environment",
        target=f"cold < {COLD_TARGET:g} s, warm < {WARM_TARGET:g} s", met=met,
        headline=f"cold {secs(cold_s)}, warm {secs(warm_s)}",
        commands=[f"XDG_CACHE_HOME={shown([str(cache)])} {shown(command)}",
                  f"rm -rf {shown([str(cache)])}   # before each cold run"],
        table=table,
        notes=[f"Tree made by `python -m benchmarks.gen_repo` (here in {generated_in:.1f} s): "
               f"{scripts:,} distinct argparse/click/HfArgumentParser scripts of ~60 lines in "
               f"{project_count(scripts)} projects (ids collide, so they are qualified), one in ten named "
               "run_*.py and found by content (its training call two imports away), "
               f"{files - scripts - venv_files - 2:,} ordinary files (helper modules, some with a training loop "
               "but no entry point, data tools with a __main__ block, evaluation scripts, Python configuration "
               f"files, CSV, YAML, tests), and `venv-py311/` ({venv_files:,} files, some named train_*.py) "
               "found by its pyvenv.cfg. Each run must list exactly the training scripts.",
               "Cold means no cache (discovery's and the flags'): every Python file outside the virtual "
               "environment and the "
               "tests folders is read and hashed, those with an entry-point or training marker parsed, and "
               "every script's flags sniffed. Warm reads no unchanged file (one stat each): the listing "
               "cache (runall/listcache.py) finds nothing it was made from changed and prints the stored "
               "listing. The OS file cache is warm in both cases (an untimed `--list` runs first).",
               "Output goes to a temporary file (the plain-text table, since it is not a terminal)."],
        load=(start_load, end_load),
        raw={"files": files, "scripts": scripts, "venv_files": venv_files, "samples": samples})
