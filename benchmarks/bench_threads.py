"""Thread capping: this repository's models, serial against 2 workers, with and without thread limits."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path

from .common import (REPO, RUNALL, Section, fresh_dir, load1, median, ratio, run_checked, samples_cell, secs,
                     shown, time_command)

QUICK = ["--epochs", "1", "--folds", "2"]
ROUNDS, MIN_ROUNDS, BUDGET_S = 3, 2, 240    # a third round only if it fits in the budget
CONFIGS = {                                   # name -> extra options
    "serial, thread limits": [],
    "serial, --no-thread-limits": ["--no-thread-limits"],
    "2 workers, thread limits": ["--parallel", "--max-workers", "2"],
    "2 workers, --no-thread-limits": ["--parallel", "--max-workers", "2", "--no-thread-limits"],
}


def model_ids() -> list[str]:
    """Ids of the canonical scripts, src/medmodels/training/train_*.py."""
    out = subprocess.run([*RUNALL, "--root", str(REPO), "--list", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return [job["id"] for job in json.loads(out)["jobs"] if job["script"].startswith("src/medmodels/training/")]


def run(tiny: bool, work: Path) -> Section:
    """Wall time of each configuration, interleaved; `work` must lie inside the repository."""
    ids = ["diabetes"] if tiny else model_ids()
    rounds, min_rounds = (1, 1) if tiny else (ROUNDS, MIN_ROUNDS)
    base = fresh_dir(work / "threads").relative_to(REPO)
    common = [*RUNALL, "--root", str(REPO), "--only", *ids, *QUICK,
              "--output-base", str(base / "results"), "--runs-dir", str(base / "runs")]
    counter = itertools.count()
    job_time: dict[str, list[dict[str, float]]] = {name: [] for name in CONFIGS}   # per run: id -> s

    def case(name: str) -> float:
        run_id = f"run{next(counter)}"
        seconds = time_command([*common, *CONFIGS[name], "--run-id", run_id])
        manifest = json.loads((REPO / base / "runs" / run_id / "manifest.json").read_text(encoding="utf-8"))
        job_time[name].append({job["id"]: job["duration"] for job in manifest["jobs"]})
        return seconds

    if not tiny:                              # untimed: loads the libraries into the page cache
        run_checked([*common, *CONFIGS["2 workers, thread limits"], "--run-id", "warm-up"])
    start_load = load1()
    samples: dict[str, list[float]] = {name: [] for name in CONFIGS}
    started = time.perf_counter()
    for done in range(rounds):                # interleaved: A B C D A B C D ...
        elapsed = time.perf_counter() - started
        if done >= min_rounds and elapsed + elapsed / done > BUDGET_S:
            break
        for name in CONFIGS:
            samples[name].append(case(name))
    end_load = load1()
    shutil.rmtree(REPO / base, ignore_errors=True)
    rounds_done = len(samples["serial, thread limits"])
    med = {name: median(values) for name, values in samples.items()}
    per_job = {name: {i: median([run[i] for run in runs]) for i in ids} for name, runs in job_time.items()}
    serial = med["serial, thread limits"]
    table = [["configuration", "median wall", "speed-up vs serial with limits", "sum of job durations",
              "samples (s)"]] + [
        [name, secs(m), ratio(serial / m), secs(median([sum(run.values()) for run in job_time[name]])),
         samples_cell(samples[name])] for name, m in med.items()]
    details = [["median job duration (s)", *ids]] + [
        [name, *(f"{per_job[name][i]:.1f}" for i in ids)] for name in CONFIGS]
    return Section(
        key="threads", title=f"Thread capping: {len(ids)} model(s) of this repository, quick settings",
        target="", met=None,
        headline=f"thread limits on / off: serial {secs(serial)} / "
                 f"{secs(med['serial, --no-thread-limits'])}, 2 workers "
                 f"{secs(med['2 workers, thread limits'])} / {secs(med['2 workers, --no-thread-limits'])}",
        commands=[shown([*common, *extra, "--run-id", "runN"]) for extra in CONFIGS.values()],
        table=table, details=details,
        notes=[f"Jobs: {', '.join(ids)} (src/medmodels/training/train_*.py) with `{' '.join(QUICK)}`.",
               "With thread limits runall sets OMP/MKL/OPENBLAS_NUM_THREADS to each job's cpus (1); "
               "`--no-thread-limits` leaves the libraries to use every core. 'speed-up' is the "
               "serial-with-limits time / this time (higher is better). 'sum of job durations' adds the "
               "jobs' own wall times from the manifest: it grows when jobs slow each other down.",
               f"{rounds_done} interleaved rounds (the last of {ROUNDS} only if it fits in {BUDGET_S} s: "
               "without thread limits a run can take several times longer on a busy machine).",
               "An untimed 2-worker run comes first (the first import of torch and scikit-learn after "
               "other work can take several times longer). All runs share one runs dir, so every "
               "2-worker run is ordered longest-first from the durations recorded before it."],
        load=(start_load, end_load),
        raw={"ids": ids, "rounds": rounds_done, "samples": samples, "job_time": job_time})
