"""Memory: the orchestrator's own peak RSS while its one job prints 100 MB, against a silent job."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from .common import RUNALL, Section, fresh_dir, load1, median, shown, write_script
from .usage import status_kib

MIB = 1024 * 1024
PRINTER = """import sys
line = b"x" * 1023 + b"\\n"
for _ in range({lines}):
    sys.stdout.buffer.write(line)
"""
SAMPLE_S = 0.005


def peak_rss(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run `command`; return (VmHWM, max sampled VmRSS) of that process alone, in MiB.

    VmHWM is the kernel's high-water mark of the process's own resident set; child processes
    have their own and are not included. It is read every 5 ms until the process exits, so the
    value kept is the last one read before exit.
    """
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    hwm = rss = 0
    while proc.poll() is None:
        hwm = max(hwm, status_kib(proc.pid, "VmHWM"))
        rss = max(rss, status_kib(proc.pid, "VmRSS"))
        time.sleep(SAMPLE_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{shown(command)} exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
    proc.stderr.close()
    return hwm / 1024, rss / 1024


def run(tiny: bool, work: Path) -> Section:
    """Peak RSS of runall running one job that prints `size` MiB, and one that prints nothing."""
    size_mib, reps = (1, 1) if tiny else (100, 3)
    tree = fresh_dir(work / "memory")
    (tree / "pyproject.toml").write_text("", encoding="utf-8")
    write_script(tree / "train_loud.py", PRINTER.format(lines=size_mib * 1024))
    write_script(tree / "train_quiet.py", PRINTER.format(lines=0))
    command = [*RUNALL, "--root", str(tree)]
    results: dict[str, list[tuple[float, float]]] = {"loud": [], "quiet": []}
    start_load = load1()
    for _ in range(reps):
        for job in results:
            shutil.rmtree(tree / "runs", ignore_errors=True)
            results[job].append(peak_rss([*command, "--only", job], tree))
            log = tree / "runs" / "latest" / "logs" / f"{job}.log"
            if job == "loud" and log.stat().st_size != size_mib * MIB:
                raise RuntimeError(f"{log}: {log.stat().st_size} bytes, expected {size_mib * MIB}")
    end_load = load1()
    shutil.rmtree(tree, ignore_errors=True)
    hwm = {job: median([h for h, _ in values]) for job, values in results.items()}
    rss = {job: median([r for _, r in values]) for job, values in results.items()}
    delta = round(hwm["loud"] - hwm["quiet"], 1) + 0.0      # no "-0.0"
    table = [["job", "orchestrator VmHWM (median)", "max sampled VmRSS", "samples (VmHWM MiB)"],
             [f"prints {size_mib} MiB", f"{hwm['loud']:.1f} MiB", f"{rss['loud']:.1f} MiB",
              " ".join(f"{h:.1f}" for h, _ in results["loud"])],
             ["prints nothing", f"{hwm['quiet']:.1f} MiB", f"{rss['quiet']:.1f} MiB",
              " ".join(f"{h:.1f}" for h, _ in results["quiet"])],
             ["difference", f"{delta:+.1f} MiB", f"{round(rss['loud'] - rss['quiet'], 1) + 0.0:+.1f} MiB", ""]]
    return Section(
        key="memory", title=f"Memory: orchestrator peak RSS while a job prints {size_mib} MiB",
        target="", met=None,
        headline=f"{hwm['loud']:.1f} MiB with a {size_mib} MiB-printing job vs {hwm['quiet']:.1f} MiB "
                 f"with a silent one ({delta:+.1f} MiB)",
        commands=[shown([*command, "--only", "loud"]), shown([*command, "--only", "quiet"])],
        table=table,
        notes=["Measured: the runall process only (the pid started by the benchmark). VmHWM, the "
               "kernel's peak resident set of that one process, is read from /proc/<pid>/status every "
               "5 ms while it runs; the job is a separate process with its own counters and is not "
               "included. No target in the issue: a flat figure shows the output is not buffered.",
               f"The job writes {size_mib} MiB as 1 KiB lines to stdout; the benchmark checks that its "
               "log file holds every byte."],
        load=(start_load, end_load), raw={"size_mib": size_mib, "samples": results})
