"""The command line: parse it, resolve the configuration once, then run a chain of small tasks.

This is the only module that sees `argparse`. The parser is built from the option table
(`runall.options`); `configure` resolves command line, `[tool.runall]` and defaults into an
`Invocation`; `TASKS` is the pipeline: each task takes the previous task's result and the
invocation and returns the next input, or an exit code to stop with (nox's `tasks.py` loop).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping, Sequence

from runall import __version__
from runall.config import (ExecutionOptions, Project, ReportOptions, Sourced, read_project, recorded_values,
                           resolve_values)
from runall.errors import EXIT_INTERRUPTED, UsageError
from runall.model import Job
from runall.options import GROUPS, OPTIONS
from runall.plan.discovery import discover
from runall.plan.flags.analyser import ScriptFlags
from runall.plan.flags.cache import FlagCache
from runall.plan.flags.roles import merge_aliases, roles_for
from runall.plan.grid import parse_grid_option
from runall.plan.jobfile import load_jobfile
from runall.plan.jobs import GlobalValues, build_jobs
from runall.plan.launchers import with_launcher
from runall.plan.selection import select
from runall.plan.settings import Settings, settings_from
from runall.view.preview import print_inspect, print_list


def build_parser() -> argparse.ArgumentParser:
    """All options, grouped by the stage that uses them; unset options stay None."""
    parser = argparse.ArgumentParser(
        prog="run_all_training.py",
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
            target = exclusive.setdefault(name, target.add_mutually_exclusive_group())
        if extra.get("action") == "boolean_optional":
            extra["action"] = argparse.BooleanOptionalAction
        if option.kind in ("int", "float") and "action" not in extra:
            extra["type"] = int if option.kind == "int" else float
        if option.choices:
            extra["choices"] = option.choices
        target.add_argument(*option.flags, dest=option.dest, default=None, help=option.help or None, **extra)
    return parser


@dataclass(frozen=True)
class Invocation:
    """One command line, resolved: the repository, its configuration and every option's value."""

    cli: Mapping[str, Any]              # what the command line gave (None: not given), paths absolute
    root: Path
    project: Project
    values: Mapping[str, Sourced]
    settings: Settings

    def value(self, dest: str) -> Any:
        return self.values[dest].value

    @property
    def runs_dir(self) -> Path:
        return self.settings.runs_path


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding pyproject.toml or .git, else `start`."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return start


def configure(cli: Mapping[str, Any]) -> Invocation:
    """Resolve the command line's values against the repository's configuration."""
    root = Path(cli["root"]).resolve() if cli.get("root") else find_root(Path.cwd())
    if not root.is_dir():
        raise UsageError(f"repository root {root} is not a directory", where="--root")
    given = dict(cli)
    if given.get("config"):
        if not Path(given["config"]).is_file():
            raise UsageError(f"job file {given['config']!r} does not exist", where="--config")
        given["config"] = os.path.abspath(given["config"])
    project = read_project(root)
    values = resolve_values(given, project)
    return Invocation(given, root, project, values, settings_from(root, values))


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
    cache = FlagCache(None)
    aliases = merge_aliases(inv.settings.aliases)
    results = [cache.sniff(Path(path)) for path in inv.value("inspect")]
    print_inspect(results, [roles_for(r, aliases) for r in results], inv.value("format"))
    return 0


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


def resume(previous: Any, inv: Invocation) -> Any:
    """`--resume [RUN_ID]`: rerun what did not succeed in an earlier run, with its recorded options."""
    if not inv.value("resume"):
        return previous
    from runall.record.manifest import Manifest, resolve_run_dir

    manifest = Manifest.load(resolve_run_dir(inv.runs_dir, inv.value("resume")))
    return _session().resume(manifest, run_request(inv, manifest))


def collect(previous: Any, inv: Invocation) -> list[Job]:
    """Discovery, the job file, flags and jobs, then the selection: the jobs this command is about."""
    found = discover(inv.settings)
    for problem in found.problems:
        _warn(problem)
    declared = load_jobfile(inv.settings.config_path, inv.root)
    scripts = found.scripts + [d.script for d in declared if d.script not in found.scripts]
    cache = FlagCache(inv.root / ".runall-cache" / "flags.json" if inv.settings.cache else None)
    flags: dict[str, ScriptFlags] = {script: cache.sniff(inv.root / script) for script in scripts}
    cache.save()
    jobs = build_jobs(flags, global_values(inv), merge_aliases(inv.settings.aliases), declared,
                      parse_grid_option(list(inv.value("grid"))), found.scripts)
    jobs = with_launcher(jobs, inv.value("launcher"))
    return select(jobs, inv.value("only"), inv.value("exclude"), inv.value("tag"), inv.value("keywords"))


def show_list(jobs: list[Job], inv: Invocation) -> Any:
    """`--list`: the selected jobs."""
    if not inv.value("list"):
        return jobs
    print_list(jobs, inv.value("format"))
    return 0


def dry_run(jobs: list[Job], inv: Invocation) -> Any:
    """`--dry-run`: what each job would run (or submit), without running anything."""
    if not inv.value("dry_run"):
        return jobs
    if inv.value("format") == "json":
        print_list(jobs, "json")
    else:
        sys.stdout.write(_session().preview(jobs, run_request(inv)))
    return 0


def execute(jobs: list[Job], inv: Invocation) -> int:
    """Run the jobs (or submit them, detached)."""
    if not jobs:
        _warn("no training scripts found; nothing to run")
        return 0
    return int(_session().start(jobs, run_request(inv)))


TASKS: tuple[Callable[[Any, Invocation], Any], ...] = (inspect, status, lineage, resume, collect, show_list, dry_run,
                                                        execute)


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
    data_path = inv.value("data_path")
    return GlobalValues(
        epochs=inv.value("epochs"), folds=inv.value("folds"), batch_size=inv.value("batch_size"),
        seed=inv.value("seed"), data_path=os.path.abspath(data_path) if data_path else None,
        output_base=inv.settings.output_base, extra_args=tuple(inv.value("extra_arg")))


def run_request(inv: Invocation, manifest: Any = None) -> Any:
    """The execution stage's `RunRequest`; for an earlier run (`manifest`), its recorded options
    and backend come between `[tool.runall]` and the command line."""
    from runall.backends import backend_class
    from runall.tracking.config import resolve as resolve_tracking

    session = _session()
    values = inv.values
    recorded_tracking = None
    if manifest is not None:
        layer = recorded_values(manifest.meta.get("options") or {}, manifest.meta.get("backend"),
                                f"recorded in run {manifest.run_id}")
        values = resolve_values(inv.cli, inv.project, layer)
        recorded_tracking = manifest.meta.get("tracking")
    backend = values["backend"].value
    return session.RunRequest(
        root=inv.root, runs_dir=inv.runs_dir, execution=ExecutionOptions.from_values(values),
        report=ReportOptions.from_values(values), backend=backend,
        backend_settings=backend_class(backend).parse_settings(inv.project),
        tracking=resolve_tracking(values, inv.project, inv.root, recorded_tracking),
        run_id=values["run_id"].value, detach=values["detach"].value, settings=inv.settings.to_dict())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `runall` and `run_all_training.py`; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["lineage"]:             # `runall lineage [RUN_ID] JOB`
        argv[0] = "--lineage"
    args = build_parser().parse_args(argv)
    try:
        return run_tasks(configure(vars(args)))
    except UsageError as exc:
        print(f"runall: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. `--list | head`: the reader went away, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("runall: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED

