"""Slurm job arrays: a 300-job grid through `runall --backend slurm` against the same commands
submitted by hand as one `sbatch --wait --array`; wall time and the number of sbatch calls."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import time
from pathlib import Path

from .bench_scale import SCRIPT, grid
from .common import RUNALL, Section, fresh_dir, load1, ratio, secs, shown, write_script

MAX_CALLS = 5       # the issue: a 300-job grid goes out in at most 5 sbatch calls
ELEMENT = """#!/bin/bash
#SBATCH --output={logs}/%a.log
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --array=0-{last}
mapfile -t -s "$SLURM_ARRAY_TASK_ID" -n 1 line < {args}
eval "exec ${{line[0]}}"
"""


def cluster_up() -> str | None:
    """None when a Slurm controller answers, else why not."""
    if shutil.which("sbatch") is None:
        return "sbatch is not installed"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    return None if "UP" in ping.stdout else f"no Slurm controller answers ({(ping.stdout or ping.stderr).strip()})"


def run(tiny: bool, work: Path) -> Section:
    """One runall run and one hand-made array of the same commands, one after the other."""
    jobs = 6 if tiny else 300
    title = f"Slurm job arrays: a {jobs}-job grid on the one-node cluster"
    target = f"at most {MAX_CALLS} sbatch calls"
    start_load = load1()
    absent = cluster_up()
    if absent:
        return Section(key="slurm_array", title=title, target="", met=None, headline=f"skipped: {absent}",
                       commands=["-"], table=[["case", "result"], ["runall --backend slurm", f"skipped: {absent}"]],
                       notes=["Start the local cluster with `sudo tools/slurm/start-local-slurm.sh`."],
                       load=(start_load, load1()), raw={"jobs": jobs})
    tree = fresh_dir(work / "slurm_array")
    (tree / "pyproject.toml").write_text("", encoding="utf-8")
    write_script(tree / "train_g.py", SCRIPT)
    calls = tree / "sbatch-calls"
    wrappers = tree / "bin"
    wrappers.mkdir()
    wrapper = wrappers / "sbatch"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {shutil.which("sbatch")} "$@"\n', encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    base = [*RUNALL, "--root", str(tree), *grid(jobs)]
    listing = subprocess.run([*base, "--dry-run", "--format", "json"], capture_output=True, text=True, check=True)
    argvs = [job["argv"] for job in json.loads(listing.stdout)["jobs"]]
    runall = [*base, "--backend", "slurm", "-q", "--run-id", "bench"]
    env = {**os.environ, "PATH": f"{wrappers}{os.pathsep}{os.environ['PATH']}"}
    began = time.perf_counter()
    subprocess.run(runall, cwd=tree, env=env, check=True, capture_output=True)
    runall_s = time.perf_counter() - began
    records = json.loads((tree / "runs" / "bench" / "manifest.json").read_text(encoding="utf-8"))["jobs"]
    succeeded = sum(rec["status"] == "SUCCEEDED" for rec in records)
    logged = sum((tree / "runs" / "bench" / rec["log"]).is_file() for rec in records)
    submissions = len(calls.read_text(encoding="utf-8").splitlines())

    by_hand = tree / "by_hand"
    (by_hand / "logs").mkdir(parents=True)
    args = by_hand / "argv.txt"
    args.write_text("".join(shlex.join(argv) + "\n" for argv in argvs), encoding="utf-8")
    script = by_hand / "array.sbatch"
    script.write_text(ELEMENT.format(logs=by_hand / "logs", last=jobs - 1, args=shlex.quote(str(args))), encoding="utf-8")
    reference = ["sbatch", "--wait", f"--chdir={tree}", str(script)]
    began = time.perf_counter()
    subprocess.run(reference, cwd=tree, check=True, capture_output=True)
    reference_s = time.perf_counter() - began
    end_load = load1()
    shutil.rmtree(tree, ignore_errors=True)
    factor = runall_s / reference_s
    return Section(
        key="slurm_array", title=title, target=target, met=submissions <= MAX_CALLS,
        headline=f"runall {secs(runall_s)} in {submissions} sbatch call(s) vs one hand-made array "
                 f"{secs(reference_s)}: {ratio(factor)}",
        commands=[shown(runall) + "   # with an sbatch on PATH that counts its calls",
                  shown(reference) + f"   # element i runs line i+1 of argv.txt ({jobs} lines)"],
        table=[["case", "wall", "sbatch calls", "ratio", "elements SUCCEEDED / with a log"],
               ["runall --backend slurm", secs(runall_s), str(submissions), ratio(factor), f"{succeeded} / {logged}"],
               ["sbatch --wait --array (by hand)", secs(reference_s), "1", "1.00x", "-"]],
        notes=["The same trivial commands as the scale benchmark. The cluster is this machine's one-node Slurm "
               "(2 CPUs): its scheduler starts about two elements a second, which bounds both cases.",
               "runall submits every attempt that may start as job arrays of attempts sharing resources and "
               "settings, then watches them with one squeue call per poll; each element writes its own log."],
        load=(start_load, end_load),
        raw={"jobs": jobs, "runall_s": runall_s, "reference_s": reference_s, "sbatch_calls": submissions,
             "succeeded": succeeded})
