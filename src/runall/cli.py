"""The command line: parse it, resolve the configuration once, then run a chain of small tasks.

This is the only module that sees `argparse`. The parser is built from the option table
(`runall.options`); `configure` resolves command line, `[tool.runall]` and defaults into an
`Invocation`; `TASKS` is the pipeline: each task takes the previous task's result and the
invocation and returns the next input, or an exit code to stop with (nox's `tasks.py` loop).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping, Sequence

from runall import __version__, listcache
from runall.config import (ExecutionOptions, Project, ReportOptions, Sourced, read_project, recorded_values,
                           resolve_values)
from runall.errors import EXIT_INTERRUPTED, RecordError, UsageError
from runall.model import Job
from runall.options import BY_DEST, CONFLICTS, GROUPS, OPTIONS
from runall.plan.checks import check_plan
from runall.plan.discovery import Discovery, discover
from runall.plan.flags.cache import FlagCache
from runall.plan.flags.model import ScriptFlags
from runall.plan.flags.roles import explain_roles, merge_aliases
from runall.plan.grid import parse_grid_option
from runall.plan.jobfile import load_jobfile
from runall.plan.jobs import GlobalValues, build_jobs
from runall.plan.launchers import with_launcher
from runall.plan.selection import select
from runall.plan.settings import Settings, settings_from
from runall.view.guard import discard_output
from runall.view.preview import drop_lines, print_inspect, print_list


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, told the terminal's width (argparse would import shutil for it)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


def _columns() -> int:
    """The terminal's width as `shutil.get_terminal_size` finds it: COLUMNS, the terminal, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def build_parser() -> argparse.ArgumentParser:
    """All options, grouped by the stage that uses them; unset options stay None."""
    parser = argparse.ArgumentParser(
        prog="run_all_training.py", formatter_class=_HelpFormatter,
        description="Discover every training script in a repository and run them all.")
    parser.add_argument("--version", action="version", version=f"runall {__version__}")
    groups: dict[str, Any] = {}
    exclusive: dict[str, Any] = {}
    for option in OPTIONS:
        if not option.flags:
            continue
        if option.group not in groups:
            title = GROUPS[option.group]
            groups[option.group] = parser.add_argument_group(*title.split(": ", 1)) if title else parser
        target = groups[option.group]
        extra = dict(option.argparse)
        if "exclusive" in extra:
            name = extra.pop("exclusive")
            if name not in exclusive:       # one group per name (setdefault would add an empty one each time)
                exclusive[name] = target.add_mutually_exclusive_group()
            target = exclusive[name]
        if extra.get("action") == "boolean_optional":
            extra["action"] = _OnOrOff
        if option.kind in ("int", "float") and "action" not in extra:
            extra["type"] = int if option.kind == "int" else float
        if option.choices:
            extra["choices"] = option.choices
        target.add_argument(*option.flags, dest=option.dest, default=None, help=option.help or None, **extra)
    return parser


class _OnOrOff(argparse.BooleanOptionalAction):
    """`--mlflow` / `--no-mlflow`, remembering when both were given (a contradiction, not 'last wins')."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        before = getattr(namespace, self.dest)
        super().__call__(parser, namespace, values, option_string)
        if before is not None and before != getattr(namespace, self.dest):
            namespace.contradictions = [*getattr(namespace, "contradictions", []), self.option_strings]


def check_conflicts(cli: Mapping[str, Any]) -> None:
    """UsageError for options that contradict each other (`--list --dry-run`, `--mlflow --no-mlflow`)."""
    for strings in cli.get("contradictions", []):
        raise UsageError("given both ways; pick one", where=" and ".join(strings))
    for dest, others in CONFLICTS:
        clash = next((other for other in others if cli.get(dest) and cli.get(other)), None)
        if clash:
            raise UsageError("cannot be used together; pick one", where=f"{BY_DEST[dest].flag} and {BY_DEST[clash].flag}")


@dataclass(frozen=True)
class Invocation:
    """One command line, resolved: the repository, its configuration and every option's value."""

    cli: Mapping[str, Any]              # what the command line gave (None: not given)
    root: Path
    project: Project
    values: Mapping[str, Sourced]
    settings: Settings

    def value(self, dest: str) -> Any:
        return self.values[dest].value

    @property
    def runs_dir(self) -> Path:
        return self.settings.runs_dir


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding pyproject.toml or .git, else `start`."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return start


def configure(cli: Mapping[str, Any]) -> Invocation:
    """Resolve the command line's values against the repository's configuration."""
    check_conflicts(cli)
    cli = {dest: value for dest, value in cli.items() if dest in BY_DEST}
    root = Path(cli["root"]).resolve() if cli.get("root") else find_root(Path.cwd())
    if not root.is_dir():
        raise UsageError(f"repository root {root} is not a directory", where="--root")
    if cli.get("config") and not Path(cli["config"]).expanduser().is_file():
        raise UsageError(f"job file {cli['config']!r} does not exist", where="--config")
    project = read_project(root)
    values = resolve_values(cli, project)
    return Invocation(cli, root, project, values, settings_from(root, values))


def parse(argv: Sequence[str] | None = None) -> Invocation:
    """`configure` for an argv list, as `main` does it (tests build invocations this way)."""
    return configure(vars(build_parser().parse_args(argv)))


def _warn(message: str) -> None:
    print(f"runall: warning: {message}", file=sys.stderr)


def _session() -> ModuleType:
    """The execution stage, imported only when a run needs it: `--list` stays fast."""
    from runall.run import session

    return session


# -- the tasks ---------------------------------------------------------------------------------

def inspect(previous: Any, inv: Invocation) -> Any:
    """`--inspect FILE...`: what the flags stage sees in each file."""
    if not inv.value("inspect"):
        return previous
    for path in map(Path, inv.value("inspect")):
        if not path.is_file():
            raise UsageError(f"{path}: no such file", where="--inspect")
        if path.suffix != ".py" and "python" not in _first_line(path):
            raise UsageError(f"{path}: not a Python file (.py, or a python #! line)", where="--inspect")
    cache = FlagCache(None, inv.root)
    aliases = merge_aliases(inv.settings.aliases)
    results = [sniff(cache, inv.settings, Path(path).resolve(), sys.executable) for path in inv.value("inspect")]
    print_inspect(results, [explain_roles(r, aliases) for r in results], inv.value("format"))
    return 0


def _first_line(path: Path) -> str:
    with open(path, "rb") as handle:
        return handle.readline(200).decode("utf-8", "replace")


def status(previous: Any, inv: Invocation) -> Any:
    """`--status [RUN_ID]`: ask the cluster about a detached run once."""
    if not inv.value("status"):
        return previous
    from runall.record.manifest import Manifest, resolve_run_dir

    manifest = Manifest.load(resolve_run_dir(inv.runs_dir, inv.value("status")))
    return _session().status(manifest, run_request(inv, manifest))


def lineage(previous: Any, inv: Invocation) -> Any:
    """`--lineage [RUN_ID] JOB` (`runall lineage ...`): what a job's model came from."""
    if not inv.value("lineage"):
        return previous
    from runall.record.lineage import view
    from runall.record.manifest import Manifest, resolve_run_dir
    from runall.view.lineage import print_lineage

    given = list(inv.value("lineage"))
    if len(given) > 2:
        raise UsageError(f"takes [RUN_ID] JOB, got {' '.join(given)!r}", where="--lineage")
    run_id, job_id = given if len(given) == 2 else ("latest", given[0])
    manifest = Manifest.load(resolve_run_dir(inv.runs_dir, run_id))
    if job_id not in {rec.id for rec in manifest.records()}:
        raise UsageError(f"run {manifest.run_id} has no job {job_id!r}", where="--lineage")
    entry = view(manifest.meta, manifest.record(job_id).lineage)
    if entry is None:
        raise UsageError(f"run {manifest.run_id} recorded no lineage for {job_id!r}", where="--lineage")
    print_lineage(manifest.run_id, job_id, entry, inv.value("format"))
    return 0


@dataclass(frozen=True)
class Plan:
    """The jobs a command is about; for `--resume`, the run they belong to."""

    jobs: list[Job]
    resumed: Any = None                 # the Manifest of the run being resumed
    found: Discovery | None = None      # what discovery decided (not for a resume), for --why


def plan(previous: Any, inv: Invocation) -> Plan | int:
    """The selected jobs: those the repository defines, or a run's unfinished ones (`--resume`)."""
    if inv.value("resume"):
        return resumed(inv)
    jobs, found = collect(inv)
    return Plan(jobs, found=found)


def collect(inv: Invocation) -> tuple[list[Job], Discovery]:
    """Discovery, the job file, flags and jobs, then the selection: the jobs this command is about,
    and discovery's decisions. Finding no job at all is an error saying what discovery looked at."""
    found = discover(inv.settings)
    for problem in found.problems:
        _warn(problem)
    declared = load_jobfile(inv.settings.config, inv.root)
    scripts = found.scripts + [d.script for d in declared if d.script not in found.scripts]
    cache = FlagCache(inv.settings.cache_dir / "flags.json" if inv.settings.cache else None, inv.root)
    values = global_values(inv)
    with cache.reading():
        flags: dict[str, ScriptFlags] = {script: sniff(cache, inv.settings, inv.root / script, values.python)
                                         for script in scripts}
    cache.save()
    for warning in cache.warnings:
        _warn(warning)
    grid = parse_grid_option(list(inv.value("grid")))
    jobs = build_jobs(flags, values, merge_aliases(inv.settings.aliases), declared, grid, found.scripts,
                      max_jobs=inv.value("max_jobs"))
    if not jobs:
        if inv.value("list") or inv.value("why"):
            show_list(Plan(jobs, found=found), inv)
        raise UsageError(nothing_found(found, inv.root))
    jobs = _selected(with_launcher(jobs, inv.value("launcher")), inv)
    check_reach(jobs, grid, inv.settings.strict)
    for job in jobs:
        if job.will_fail:
            _warn(f"{job.id} will fail: {job.script}: {job.will_fail}")
    return jobs, found


def nothing_found(found: Discovery, root: Path) -> str:
    """Why no job came out of discovery: what was looked at and the commonest reasons."""
    reasons = ", ".join(f"{count} {kind}" for kind, count in found.commonest())
    return (f"no training scripts found under {root}: looked at {found.files_looked_at} Python file(s)"
            + (f" ({reasons})" if reasons else "")
            + "; `--list --why` shows every decision, `--include GLOB` takes entry points by name")


def _selected(jobs: list[Job], inv: Invocation) -> list[Job]:
    jobs = select(jobs, inv.value("only"), inv.value("exclude"), inv.value("tag"), inv.value("keywords"))
    check_plan(jobs)            # what a run checks, a preview checks too
    return jobs


def sniff(cache: FlagCache, settings: Settings, script: Path, python: str) -> ScriptFlags:
    """A script's flags; with `--probe-help`, from its `--help` output when they cannot be read."""
    flags = cache.sniff(script)
    if settings.probe and not flags.known:
        from runall.plan.flags.probe import probe_help

        flags = cache.cached(script, f"help:{python}", lambda: probe_help(script, python, flags))
    return flags


def check_reach(jobs: list[Job], grid: Mapping[str, list[str]], strict: bool) -> None:
    """Say which values given for every job cannot reach which selected job; exit 2 when a
    `--grid NAME` reaches none of them, or (`--strict`) when any value is dropped."""
    for name in grid:
        if jobs and all(f"grid:{name}" in job.dropped for job in jobs):
            raise UsageError(f"no selected script has option or role {name!r}", where=f"--grid {name}")
    for line in drop_lines(jobs):
        print(f"runall: note: {line}", file=sys.stderr)
    missed = sum(bool(job.dropped) for job in jobs)
    if strict and missed:
        raise UsageError(f"values given for every job cannot reach {missed} selected job(s) (notes above); "
                         "nothing was run", where="--strict")


# Values that are part of a job's recorded command: a resumed run reruns those commands as they were.
RECORDED_IN_COMMANDS = ("epochs", "folds", "batch_size", "seed", "data_path", "output_base", "extra_arg", "grid",
                        "config")


def resumed(inv: Invocation) -> Plan | int:
    """`--resume [RUN_ID]`: the jobs of an earlier run that did not succeed, narrowed by the selection."""
    from runall.model import JobStatus
    from runall.record.manifest import Manifest, resolve_run_dir

    for dest in RECORDED_IN_COMMANDS:
        if inv.cli.get(dest):
            raise UsageError("a resumed run reruns the commands it recorded; start a new run to change them",
                             where=BY_DEST[dest].flag)
    manifest = Manifest.load(resolve_run_dir(inv.runs_dir, inv.value("resume")))
    jobs = [rec.job for rec in manifest.records() if rec.status is not JobStatus.SUCCEEDED]
    if not jobs:
        print(f"Run {manifest.run_id}: every job succeeded; nothing to resume.")
        return 0
    return Plan(_selected(jobs, inv), manifest)


def show_list(work: Plan, inv: Invocation) -> Any:
    """`--list` (`--why` implies it): the selected jobs (with `-v`, every setting and where its
    value came from; with `--why`, every file discovery looked at and why it was or was not taken)."""
    if not (inv.value("list") or inv.value("why")):
        return work
    why = work.found.decisions if inv.value("why") and work.found is not None else None
    shown = sources(inv) if inv.value("verbose") else None
    if not listcache.recording():
        print_list(work.jobs, inv.value("format"), shown, why=why)
        return 0
    out = io.StringIO()                   # kept by the listing cache, which records this command
    print_list(work.jobs, inv.value("format"), shown, out, why=why)
    sys.stdout.write(out.getvalue())
    if inv.settings.cache and work.resumed is None:
        listcache.keep(inv.root, out.getvalue(), sorted({str(inv.root / job.script) for job in work.jobs}))
    return 0


def frameworks(work: Plan, inv: Invocation) -> Plan:
    """Note which jobs use a GPU framework (read from their imports): what a run or a dry run
    needs to share out GPUs, and `--list` does not."""
    if work.resumed is None and (inv.value("dry_run") or not inv.value("list")):
        from runall.plan.frameworks import gpu_frameworks

        found = gpu_frameworks(inv.root, (job.script for job in work.jobs),
                               inv.settings.cache_dir / "frameworks.json" if inv.settings.cache else None)
        for job in work.jobs:
            job.gpu_framework = found[job.script]
    return work


def dry_run(work: Plan, inv: Invocation) -> Any:
    """`--dry-run`: what each job would run (or submit), without running anything."""
    if not inv.value("dry_run"):
        return work
    if inv.value("format") == "json":
        print_list(work.jobs, "json")
    else:
        sys.stdout.write(_session().preview(work.jobs, run_request(inv, work.resumed)))
    return 0


def execute(work: Plan, inv: Invocation) -> int:
    """Run the jobs (or resume them, or submit them detached)."""
    if not work.jobs:
        _warn("no training scripts found; nothing to run")
        return 0
    request = run_request(inv, work.resumed)
    if work.resumed is not None:
        return int(_session().resume(work.resumed, request, work.jobs))
    return int(_session().start(work.jobs, request))


def sources(inv: Invocation) -> list[tuple[str, Any, str]]:
    """(option, value, where it came from) for every option not at its default: command line >
    job file > `[tool.runall]` > defaults."""
    return [(BY_DEST[dest].flag, sourced.value, sourced.source) for dest, sourced in inv.values.items()
            if sourced.source != "default" and BY_DEST[dest].group not in ("preview", "output")]


PER_JOB = ("timeout", "retries")     # run-wide options a job file may also set per job
TASKS: tuple[Callable[[Any, Invocation], Any], ...] = (inspect, status, lineage, plan, show_list, frameworks,
                                                        dry_run, execute)


def run_tasks(inv: Invocation) -> int:
    """Hand each task's result to the next until one returns an exit code."""
    value: Any = None
    for task in TASKS:
        value = task(value, inv)
        if isinstance(value, int):
            return value
    raise AssertionError("the last task returns an exit code")


# -- what the tasks hand on --------------------------------------------------------------------

def global_values(inv: Invocation) -> GlobalValues:
    """The values given once for every job."""
    return GlobalValues(
        epochs=inv.value("epochs"), folds=inv.value("folds"), batch_size=inv.value("batch_size"),
        seed=inv.value("seed"), data_path=inv.value("data_path"),
        output_base=inv.settings.shown(inv.settings.output_base), output_given=inv.cli.get("output_base") is not None,
        extra_args=tuple(inv.value("extra_arg")))


def run_request(inv: Invocation, manifest: Any = None) -> Any:
    """The execution stage's `RunRequest`; for an earlier run (`manifest`), its recorded options
    and backend come between `[tool.runall]` and the command line."""
    from runall.backends import backend_class
    from runall.record.reports import target_problem
    from runall.tracking.config import resolve as resolve_tracking

    session = _session()
    values = inv.values
    recorded_tracking = None
    if manifest is not None:
        layer = recorded_values(manifest.meta.get("options") or {}, manifest.meta.get("backend"),
                                f"recorded in run {manifest.run_id}")
        values = resolve_values(inv.cli, inv.project, layer)
        recorded_tracking = manifest.meta.get("tracking")
    report = ReportOptions.from_values(values)
    for path, flag in ((report.report_json, "--report-json"), (report.junit_xml, "--junit-xml")):
        problem = target_problem(path) if path else None
        if problem:
            raise UsageError(problem, where=flag)
    backend = values["backend"].value
    return session.RunRequest(
        root=inv.root, runs_dir=inv.runs_dir, execution=ExecutionOptions.from_values(values),
        report=report, backend=backend,
        backend_settings=backend_class(backend).parse_settings(inv.project, values),
        tracking=resolve_tracking(values, inv.project, inv.root, recorded_tracking),
        run_id=values["run_id"].value, detach=values["detach"].value, settings=inv.settings.to_dict(),
        overrides={dest: inv.cli[dest] for dest in PER_JOB if inv.cli.get(dest) is not None},
        command=resume_command(inv))


def resume_command(inv: Invocation) -> list[str]:
    """This command's program with what names its repository and runs folder: what `--resume` needs."""
    program = sys.argv[0]
    prefix = [sys.executable, program] if program.endswith(".py") else [program]
    for dest in ("root", "runs_dir"):
        if inv.cli.get(dest):
            prefix += [BY_DEST[dest].flag, str(Path(inv.cli[dest]).expanduser().resolve())]
    return prefix


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `runall` and `run_all_training.py`; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["lineage"]:             # `runall lineage [RUN_ID] JOB`
        argv[0] = "--lineage"
    args = build_parser().parse_args(argv)
    try:
        return run_tasks(configure(vars(args)))
    except (UsageError, RecordError) as exc:
        print(f"runall: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. `--list | head`: the reader went away, nothing to report
        discard_output()
        return 0
    except KeyboardInterrupt:
        print("runall: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED

