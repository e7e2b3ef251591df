"""Every option of runall, declared once, as data.

An `Option` names its command-line spellings (none for keys that live only in
`[tool.runall]`), its `[tool.runall]` key (none for command-line-only options), its kind,
default and bounds. The CLI builds its argument parser from this table, and
`config.resolve_values` validates `[tool.runall]` and the command line against the same entries,
so a default or a bound is stated in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runall.backends import NAMES
from runall.model import LAUNCHERS

TRACKERS = ("mlflow", "none")


@dataclass(frozen=True)
class Option:
    """One option: where it can be given, what values it takes, and its default."""

    dest: str
    flags: tuple[str, ...] = ()
    group: str = "general"
    help: str = ""
    kind: str = "str"            # str, int, float, bool, path, list (of str), table (a TOML table)
    default: Any = None
    config: str | None = None    # key in [tool.runall]; None: command line only
    minimum: float | None = None
    above: float | None = None   # values must be greater than this
    choices: tuple[str, ...] | None = None
    argparse: dict[str, Any] = field(default_factory=dict)   # action, nargs, metavar, const, ...

    @property
    def flag(self) -> str:
        """The spelling shown in messages: the first long flag, else the config key."""
        return next((f for f in self.flags if f.startswith("--")), self.flags[0] if self.flags else str(self.config))


def _o(dest: str, *flags: str, **kw: Any) -> Option:
    return Option(dest, flags, **kw)


OPTIONS: tuple[Option, ...] = (
    _o("root", "--root", help="repository to work on (default: nearest folder above the current one holding "
                              "pyproject.toml or .git)"),
    # preview
    _o("list", "--list", group="preview", kind="bool", default=False, help="list the selected jobs and exit",
       argparse={"action": "store_true"}),
    _o("dry_run", "--dry-run", group="preview", kind="bool", default=False,
       help="print each job's exact command (or batch script) and exit", argparse={"action": "store_true"}),
    _o("inspect", "--inspect", group="preview", kind="list",
       help="show the options and roles the flags stage sees in FILEs", argparse={"nargs": "+", "metavar": "FILE"}),
    _o("lineage", "--lineage", group="preview", kind="list",
       help="[RUN_ID] JOB: print what a job's model came from (code, data, settings, environment) in a run (default: the "
            "latest); also `runall lineage [RUN_ID] JOB`", argparse={"nargs": "+", "metavar": "ID"}),
    _o("format", "--format", group="preview", default="text", choices=("text", "json"),
       help="output of --list, --dry-run and --inspect"),
    _o("why", "--why", group="preview", kind="bool", default=False,
       help="with --list: every file discovery looked at, taken or not, and why", argparse={"action": "store_true"}),
    # selection
    _o("only", "--only", group="selection", kind="list", help="run only these job ids or globs (e.g. 'alz*')",
       argparse={"nargs": "+", "action": "extend", "metavar": "ID"}),
    _o("exclude", "--exclude", group="selection", kind="list", help="skip these job ids or globs",
       argparse={"nargs": "+", "action": "extend", "metavar": "ID"}),
    _o("tag", "--tag", group="selection", kind="list",
       help="run only jobs with this tag; repeatable (any of them)", argparse={"action": "append", "metavar": "TAG"}),
    _o("keywords", "-k", group="selection", help="run jobs whose id or tags match, e.g. 'alz and not structured'",
       argparse={"metavar": "EXPR"}),
    # values for every job
    _o("epochs", "--epochs", group="values", kind="int", minimum=1),
    _o("folds", "--folds", group="values", kind="int", minimum=1),
    _o("batch_size", "--batch-size", group="values", kind="int", minimum=1),
    _o("seed", "--seed", group="values", kind="int"),
    _o("data_path", "--data-path", group="values", kind="path", help="data file or folder (made absolute)"),
    _o("output_base", "--output-base", group="values", kind="path", default="results", config="output_base",
       help="parent of each job's output directory, anywhere (default: results in the repository)"),
    _o("extra_arg", "--extra-arg", group="values", kind="list", default=(),
       help="appended to every job's command; repeatable (use --extra-arg=--flag)",
       argparse={"action": "append", "metavar": "ARG"}),
    _o("grid", "--grid", group="values", kind="list", default=(),
       help="one job per value (and per combination, when repeated) for every script that has option NAME",
       argparse={"action": "append", "metavar": "NAME=V1,V2"}),
    _o("max_jobs", "--max-jobs", group="values", kind="int", minimum=1, default=100_000, config="max_jobs",
       help="refuse to plan more jobs than this, e.g. from a huge grid (default 100000)", argparse={"metavar": "N"}),
    # discovery and configuration
    _o("roots", config="roots", group="discovery", kind="list", default=(".",)),
    _o("include", config="include", group="discovery", kind="list", default=()),
    _o("exclude_paths", config="exclude", group="discovery", kind="list", default=()),
    _o("legacy", config="legacy", group="discovery", kind="list", default=()),
    _o("include_cli", "--include", group="discovery", kind="list", default=(),
       help="take files matching GLOB whenever they are entry points, training call found or not; repeatable; "
            "adds to [tool.runall] include", argparse={"action": "append", "metavar": "GLOB"}),
    _o("exclude_cli", "--exclude-path", group="discovery", kind="list", default=(),
       help="never take files under or matching GLOB; repeatable; adds to [tool.runall] exclude",
       argparse={"action": "append", "metavar": "GLOB"}),
    _o("respect_gitignore", config="respect_gitignore", group="discovery", kind="bool", default=True),
    _o("aliases", config="aliases", group="discovery", kind="table", default=None),
    _o("config", "--config", group="discovery", kind="path", default="runall.yaml", config="config",
       help="job file, anywhere (default: runall.yaml in the repository)", argparse={"metavar": "FILE"}),
    _o("cache", "--no-cache", group="discovery", kind="bool", default=True, config="cache",
       help="re-read every file (discovery and flags caches)", argparse={"action": "store_false"}),
    _o("strict", "--strict", group="discovery", kind="bool", default=False, config="strict",
       help="exit 2 before running anything when a value given for every job (--epochs, --grid, ...) "
            "cannot reach a selected job", argparse={"action": "store_true"}),
    _o("probe", "--probe-help", group="discovery", kind="bool", default=False, config="probe",
       help="for scripts whose options cannot be read statically, run 'python SCRIPT --help' (20 s limit, "
            "scratch folder, no GPU) and read its output", argparse={"action": "store_true"}),
    # execution
    _o("parallel", "--parallel", group="execution", kind="bool", default=False, config="parallel",
       help="run jobs concurrently (default: one at a time)", argparse={"action": "store_true"}),
    _o("max_workers", "--max-workers", group="execution", kind="int", minimum=1, config="max_workers",
       help="with --parallel, jobs at once (default: CPU count)", argparse={"metavar": "N"}),
    _o("timeout", "--timeout", group="execution", kind="float", above=0, config="timeout",
       help="time limit per job (a job's own timeout wins)", argparse={"metavar": "SECONDS"}),
    _o("grace", "--grace", group="execution", kind="float", minimum=0, default=10.0, config="grace",
       help="after SIGTERM, wait this long before SIGKILL (default 10)", argparse={"metavar": "SECONDS"}),
    _o("retries", "--retries", group="execution", kind="int", minimum=0, default=0, config="retries",
       help="retry a failed or timed-out job up to N times", argparse={"metavar": "N"}),
    _o("retry_delay", "--retry-delay", group="execution", kind="float", minimum=0, default=1.0, config="retry_delay",
       help="wait before the first retry, doubling for each next one (default 1)", argparse={"metavar": "SECONDS"}),
    _o("fail_fast", "--fail-fast", group="execution", kind="bool", default=False, config="fail_fast",
       help="after the first failure of a required job, start nothing new and stop running jobs "
            "(--no-fail-fast turns a configured or recorded one off)",
       argparse={"action": "boolean_optional"}),
    _o("gpus", "--gpus", group="execution", kind="int", minimum=0, config="gpus",
       help="GPUs to share out (default: CUDA_VISIBLE_DEVICES or nvidia-smi)", argparse={"metavar": "N"}),
    _o("thread_limits", "--no-thread-limits", group="execution", kind="bool", default=True, config="thread_limits",
       help="do not set OMP/MKL/OPENBLAS_NUM_THREADS to each job's cpus", argparse={"action": "store_false"}),
    _o("launcher", "--launcher", group="execution", default="none", config="launcher", choices=("none", *LAUNCHERS),
       help="run scripts through torchrun, `python -m torch.distributed.run` or `accelerate launch`: one process "
            "per GPU of the job, else its `procs` (default: none; a job's own `launcher:` wins)"),
    _o("run_id", "--run-id", group="execution",
       help="name of the run directory (default: timestamp plus random suffix)", argparse={"metavar": "ID"}),
    _o("resume", "--resume", group="execution",
       help="rerun the jobs of a run (default: the latest) that did not succeed",
       argparse={"nargs": "?", "const": "latest", "metavar": "RUN_ID"}),
    _o("runs_dir", "--runs-dir", group="execution", kind="path", default="runs", config="runs_dir",
       help="where run directories go, anywhere (default: runs in the repository)", argparse={"metavar": "DIR"}),
    _o("backend", "--backend", group="execution", default="local", config="backend", choices=NAMES,
       help="where jobs run: local subprocesses, sbatch jobs on a Slurm cluster or Ray tasks (default: local)"),
    _o("ray_address", "--ray-address", group="execution",
       help="with --backend ray: the cluster's head, host:port (default: RAY_ADDRESS, [tool.runall.ray] address, "
            "else a local Ray instance started for the run)", argparse={"metavar": "ADDRESS"}),
    _o("detach", "--detach", group="execution", kind="bool", default=False,
       help="with --backend slurm: submit every job (dependencies as afterok) and exit; see --status",
       argparse={"action": "store_true"}),
    _o("status", "--status", group="execution",
       help="ask the cluster once about a detached run's jobs (default: the latest), update its manifest and "
            "print it", argparse={"nargs": "?", "const": "latest", "metavar": "RUN_ID"}),
    # [tool.runall.<backend>]: each registered backend's own table, validated by the backend
    *(_o(f"backend_{name}", config=name, group="execution", kind="table") for name in NAMES if name != "local"),
    # experiment tracking
    _o("tracking", config="tracking", group="tracking", choices=TRACKERS, default="none"),
    _o("mlflow", "--mlflow", group="tracking", kind="bool",
       help="record the run in MLflow: a parent run, one child run per job (default: [tool.runall] tracking; "
            "store: MLFLOW_TRACKING_URI, else sqlite mlflow.db in the repository); --no-mlflow turns it off",
       argparse={"action": "boolean_optional"}),
    _o("mlflow_experiment", "--mlflow-experiment", group="tracking",
       help="MLflow experiment (implies --mlflow; default: MLFLOW_EXPERIMENT_NAME, [tool.runall.mlflow] "
            "experiment, else the repository folder name)", argparse={"metavar": "NAME"}),
    _o("mlflow_table", config="mlflow", group="tracking", kind="table"),
    # progress and reports
    _o("plain", "--plain", group="output", kind="bool", default=False,
       help="one plain line per state change, even on a terminal (also: NO_COLOR set)",
       argparse={"action": "store_true"}),
    _o("quiet", "-q", "--quiet", group="output", kind="bool", default=False, help="print only the final summary",
       argparse={"action": "store_true", "exclusive": "loudness"}),
    _o("verbose", "-v", "--verbose", group="output", kind="bool", default=False,
       help="also print each job's command as it starts", argparse={"action": "store_true", "exclusive": "loudness"}),
    _o("report_json", "--report-json", group="output",
       help="write a JSON report of the run (also when it fails)", argparse={"metavar": "FILE"}),
    _o("junit_xml", "--junit-xml", group="output", help="write a JUnit XML report: one testcase per job",
       argparse={"metavar": "FILE"}),
)

BY_DEST: dict[str, Option] = {option.dest: option for option in OPTIONS}
# Options that contradict each other: (option, the options it cannot be given with).
CONFLICTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("list", ("dry_run",)),
    ("inspect", ("list", "dry_run", "resume", "status")),
    ("status", ("list", "dry_run", "resume", "detach")),
)
BY_CONFIG_KEY: dict[str, Option] = {option.config: option for option in OPTIONS if option.config}
GROUPS = {
    "general": None, "preview": "preview", "selection": "selection",
    "values": "values for every job: each is passed only through the option the script itself uses",
    "discovery": "discovery and configuration", "execution": "execution", "tracking": "experiment tracking",
    "output": "progress and reports",
}
