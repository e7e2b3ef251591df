"""The Ray backend against the local backend: submit-to-start latency and dispatch of many
trivial jobs, on a Ray head started here on loopback with 2 CPUs (`ray_head.RayHead`)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from datetime import datetime
from pathlib import Path

from .common import (RUNALL, Section, fresh_dir, interleave, load1, median, ratio, samples_cell, secs, shown,
                     time_command, write_script)

STAMP = "import time\n\nif __name__ == \"__main__\":\n    print(time.time())\n"   # its first act: when it started
EMPTY = "if __name__ == \"__main__\":\n    pass\n"                                   # exits at once


def run(tiny: bool, work: Path) -> Section:
    """Wall time of N empty jobs on each backend (2 at a time), and how long each attempt takes
    from the runner handing it to the backend to the job's first line."""
    if importlib.util.find_spec("ray") is None:
        return _not_installed()
    from .ray_head import RayHead

    jobs, reps, probes = (5, 1, 3) if tiny else (200, 3, 20)
    dispatch_tree = _tree(work / "dispatch", jobs, EMPTY)
    latency_tree = _tree(work / "latency", probes, STAMP)
    start_load = load1()
    with RayHead(cpus=2) as address:
        ray = ["--backend", "ray", "--ray-address", address, "--max-workers", "2"]
        local = ["--backend", "local", "--parallel", "--max-workers", "2"]
        commands = {"local": [*RUNALL, "--root", str(dispatch_tree), *local],
                    "ray": [*RUNALL, "--root", str(dispatch_tree), *ray]}

        def timed(backend: str) -> float:
            shutil.rmtree(dispatch_tree / "runs", ignore_errors=True)
            return time_command(commands[backend], cwd=dispatch_tree)

        samples = interleave({name: (lambda name=name: timed(name)) for name in commands}, reps)
        latency_commands = {"local": [*RUNALL, "--root", str(latency_tree), "--backend", "local"],
                            "ray": [*RUNALL, "--root", str(latency_tree), "--backend", "ray", "--ray-address",
                                    address, "--max-workers", "1"]}
        latencies = {name: _latencies(latency_tree, argv, name) for name, argv in latency_commands.items()}
    end_load = load1()
    shutil.rmtree(work, ignore_errors=True)
    med = {name: median(values) for name, values in samples.items()}
    rest = {name: median(values[1:]) for name, values in latencies.items()}
    table = [["backend", f"{jobs} jobs, 2 at a time: median", "per job", "samples (s)",
              "first attempt: submit to start", "later attempts: median submit to start"]] + [
        [name, secs(med[name]), f"{med[name] / jobs * 1000:.1f} ms", samples_cell(samples[name]),
         f"{latencies[name][0] * 1000:.0f} ms", f"{rest[name] * 1000:.1f} ms"] for name in commands]
    details = [["backend", "submit-to-start latency of each attempt, in order (ms)"]] + [
        [name, " ".join(f"{v * 1000:.0f}" for v in values)] for name, values in latencies.items()]
    return Section(
        key="ray", title=f"Ray backend: {jobs} trivial jobs and submit-to-start latency against local",
        target="", met=None,
        headline=f"{jobs} jobs: ray {secs(med['ray'])} vs local {secs(med['local'])} "
                 f"({ratio(med['ray'] / med['local'])}); start latency {rest['ray'] * 1000:.0f} ms vs "
                 f"{rest['local'] * 1000:.0f} ms",
        commands=[shown(argv).replace(address, "$RAY_ADDRESS")
                  for argv in [*commands.values(), *latency_commands.values()]],
        table=table, details=details,
        notes=[f"A Ray head with 2 CPUs on a free loopback port (`ray start --head --block`), started once for "
               f"the section; `$RAY_ADDRESS` in the commands stands for it. {jobs} empty scripts run 2 at a time on each "
               "backend (`runs/` removed before each run); every Ray run is a new driver, so its wall time "
               "includes connecting and Ray starting a worker process per slot for it.",
               f"Latency: {probes} scripts whose first line prints `time.time()`, run one at a time; the figure "
               "is that time minus the attempt's start in the manifest (taken just before the runner hands "
               "the attempt to the backend), so it includes the interpreter's start-up on both backends. "
               "The first Ray attempt also waits for the warm-up of the run's workers, which happens before "
               "its timeout starts counting.",
               "The issue sets no target: these are the figures to judge the backend by."],
        load=(start_load, end_load),
        raw={"jobs": jobs, "reps": reps, "samples": samples, "latencies": latencies})


def _tree(folder: Path, count: int, text: str) -> Path:
    tree = fresh_dir(folder)
    (tree / "pyproject.toml").write_text("", encoding="utf-8")
    for i in range(count):
        write_script(tree / f"train_j{i:03d}.py", text)
    return tree


def _latencies(tree: Path, argv: list[str], run_id: str) -> list[float]:
    """Each attempt's job start minus its manifest start, in the order they started."""
    time_command([*argv, "--run-id", run_id], cwd=tree)
    manifest = json.loads((tree / "runs" / run_id / "manifest.json").read_text(encoding="utf-8"))
    pairs = sorted((datetime.fromisoformat(rec["start"]).timestamp(),
                    float((tree / "runs" / run_id / rec["log"]).read_text(encoding="utf-8")))
                   for rec in manifest["jobs"])
    return [max(0.0, started - submitted) for submitted, started in pairs]


def _not_installed() -> Section:
    install = "pip install -e '.[ray]'"
    return Section(
        key="ray", title="Ray backend: not measured", target="", met=None,
        headline=f"ray is not installed ({install})", commands=[install],
        table=[["backend", "result"], ["ray", f"not measured: ray is not installed; {install} adds it"]],
        notes=["The Ray backend is an optional extra; .ci/run installs it."], load=(load1(), load1()))

