"""The execution options: kept apart from `command` so that parsing the command line stays cheap."""

from __future__ import annotations

import argparse
from typing import Any

from runall import tracking

DEFAULTS: dict[str, Any] = {
    "parallel": False, "max_workers": None, "timeout": None, "grace": 10.0, "retries": 0,
    "retry_delay": 1.0, "fail_fast": False, "gpus": None, "thread_limits": True,
}
BACKENDS = ("local", "slurm")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the execution options; unset ones stay None so `--resume` can keep the recorded ones."""
    group = parser.add_argument_group("execution")
    add = group.add_argument
    add("--parallel", action="store_true", default=None, help="run jobs concurrently (default: one at a time)")
    add("--max-workers", type=int, metavar="N", help="with --parallel, jobs at once (default: CPU count)")
    add("--timeout", type=float, metavar="SECONDS", help="time limit per job (a job's own timeout wins)")
    add("--grace", type=float, metavar="SECONDS",
        help=f"after SIGTERM, wait this long before SIGKILL (default {DEFAULTS['grace']:g})")
    add("--retries", type=int, metavar="N", help="retry a failed or timed-out job up to N times")
    add("--retry-delay", type=float, metavar="SECONDS",
        help=f"wait before the first retry, doubling for each next one (default {DEFAULTS['retry_delay']:g})")
    add("--fail-fast", action="store_true", default=None,
        help="after the first failure of a required job, start nothing new and stop running jobs")
    add("--gpus", type=int, metavar="N", help="GPUs to share out (default: CUDA_VISIBLE_DEVICES or nvidia-smi)")
    add("--no-thread-limits", dest="thread_limits", action="store_false", default=None,
        help="do not set OMP/MKL/OPENBLAS_NUM_THREADS to each job's cpus")
    add("--run-id", metavar="ID", help="name of the run directory (default: timestamp plus random suffix)")
    add("--resume", nargs="?", const="latest", metavar="RUN_ID",
        help="rerun the jobs of a run (default: the latest) that did not succeed")
    add("--runs-dir", metavar="DIR", help="where run directories go (default: runs)")
    add("--backend", choices=BACKENDS,
        help="where jobs run: local subprocesses or sbatch jobs on a Slurm cluster (default: local)")
    add("--detach", action="store_true",
        help="with --backend slurm: submit every job (dependencies as afterok) and exit; see --status")
    add("--status", nargs="?", const="latest", metavar="RUN_ID",
        help="ask Slurm once about a run's jobs (default: the latest), update its manifest and print it")
    tracking.add_arguments(parser)
    output = parser.add_argument_group("progress and reports")
    output.add_argument("--plain", action="store_true",
                        help="one plain line per state change, even on a terminal (also: NO_COLOR set)")
    loudness = output.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only the final summary")
    loudness.add_argument("-v", "--verbose", action="store_true", help="also print each job's command as it starts")
    output.add_argument("--report-json", metavar="FILE", help="write a JSON report of the run (also when it fails)")
    output.add_argument("--junit-xml", metavar="FILE", help="write a JUnit XML report: one testcase per job")
