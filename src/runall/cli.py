"""The command line: the composition of the stages, and the only module that knows them all."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Sequence

from runall import __version__
from runall.errors import EXIT_INTERRUPTED, UsageError
from runall.model import Job
from runall.plan.discovery import Discovery, discover
from runall.plan.flags.analyser import ScriptFlags
from runall.plan.flags.cache import FlagCache
from runall.plan.flags.roles import merge_aliases, roles_for
from runall.plan.grid import parse_grid_option
from runall.plan.jobfile import load_jobfile
from runall.plan.jobs import GlobalValues, build_jobs
from runall.plan.selection import select
from runall.plan.settings import Settings, load_settings
from runall.run.options import add_arguments as add_execution_arguments
from runall.view.preview import print_dry_run, print_inspect, print_list


def build_parser() -> argparse.ArgumentParser:
    """All options, grouped by the stage that uses them."""
    parser = argparse.ArgumentParser(
        prog="run_all_training.py",
        description="Discover every training script in a repository and run them all.")
    parser.add_argument("--version", action="version", version=f"runall {__version__}")
    parser.add_argument("--root", help="repository to work on (default: nearest folder above the "
                        "current one holding pyproject.toml or .git)")
    preview = parser.add_argument_group("preview")
    preview.add_argument("--list", action="store_true", help="list the selected jobs and exit")
    preview.add_argument("--dry-run", action="store_true", help="print each job's exact command and exit")
    preview.add_argument("--inspect", nargs="+", metavar="FILE",
                         help="show the options and roles the flags stage sees in FILEs")
    preview.add_argument("--format", choices=("text", "json"), default="text",
                         help="output of --list, --dry-run and --inspect")
    preview.add_argument("--why", action="store_true",
                         help="with --list: every file discovery looked at, taken or not, and why")
    selection = parser.add_argument_group("selection")
    selection.add_argument("--only", nargs="+", action="extend", metavar="ID",
                           help="run only these job ids or globs (e.g. 'alz*')")
    selection.add_argument("--exclude", nargs="+", action="extend", metavar="ID",
                           help="skip these job ids or globs")
    selection.add_argument("--tag", action="append", metavar="TAG",
                           help="run only jobs with this tag; repeatable (any of them)")
    selection.add_argument("-k", dest="keywords", metavar="EXPR",
                           help="run jobs whose id or tags match, e.g. 'alz and not structured'")
    values = parser.add_argument_group(
        "values for every job", "each is passed only through the option the script itself uses")
    values.add_argument("--epochs", type=int)
    values.add_argument("--folds", type=int)
    values.add_argument("--batch-size", type=int)
    values.add_argument("--seed", type=int)
    values.add_argument("--data-path", help="data file or folder (made absolute)")
    values.add_argument("--output-base", help="parent of each job's output directory (default: results)")
    values.add_argument("--extra-arg", action="append", default=[], metavar="ARG",
                        help="appended to every job's command; repeatable (use --extra-arg=--flag)")
    values.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                        help="one job per value (and per combination, when repeated) for every "
                             "script that has option NAME")
    discovery = parser.add_argument_group("discovery and configuration")
    discovery.add_argument("--include", action="append", default=[], metavar="GLOB",
                           help="take files matching GLOB whenever they are entry points, training call "
                                "found or not; repeatable; adds to [tool.runall] include")
    discovery.add_argument("--exclude-path", action="append", default=[], metavar="GLOB",
                           help="never take files under or matching GLOB; repeatable; adds to "
                                "[tool.runall] exclude")
    discovery.add_argument("--config", metavar="FILE", help="job file (default: runall.yaml)")
    discovery.add_argument("--no-cache", action="store_true", help="re-read every script's flags")
    add_execution_arguments(parser)
    return parser


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding pyproject.toml or .git, else `start`."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return start


def _warn(message: str) -> None:
    print(f"runall: warning: {message}", file=sys.stderr)


def _global_values(args: argparse.Namespace, settings: Settings) -> GlobalValues:
    for name in ("epochs", "folds", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"must be at least 1, got {value}", where=f"--{name.replace('_', '-')}")
    return GlobalValues(
        epochs=args.epochs, folds=args.folds, batch_size=args.batch_size, seed=args.seed,
        data_path=os.path.abspath(args.data_path) if args.data_path else None,
        output_base=settings.output_base, extra_args=tuple(args.extra_arg))


def collect_jobs(settings: Settings, values: GlobalValues,
                 cli_grid: dict[str, list[str]]) -> tuple[list[Job], Discovery]:
    """Discovery, the job file, flags and jobs: every job the repository defines, and what
    discovery decided."""
    found = discover(settings)
    for problem in found.problems:
        _warn(problem)
    declared = load_jobfile(settings.inside_root(settings.config, "config"), settings.root)
    scripts = found.scripts + [d.script for d in declared if d.script not in found.scripts]
    cache = FlagCache(settings.root / ".runall-cache" / "flags.json" if settings.cache else None)
    flags: dict[str, ScriptFlags] = {script: cache.sniff(settings.root / script) for script in scripts}
    cache.save()
    return build_jobs(flags, values, merge_aliases(settings.aliases), declared, cli_grid, found.scripts), found


def _nothing_found(found: Discovery, root: Path) -> str:
    """Why no job came out of discovery: what was looked at and the commonest reasons."""
    reasons = ", ".join(f"{count} {kind}" for kind, count in found.commonest())
    return (f"no training scripts found under {root}: looked at {found.files_looked_at} Python file(s)"
            + (f" ({reasons})" if reasons else "")
            + "; `--list --why` shows every decision, `--include GLOB` takes entry points by name")


def _inspect(args: argparse.Namespace, settings: Settings) -> int:
    cache = FlagCache(None)
    aliases = merge_aliases(settings.aliases)
    results = [cache.sniff(Path(path)) for path in args.inspect]
    print_inspect(results, [roles_for(r, aliases) for r in results], args.format)
    return 0


def _run(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve() if args.root else find_root(Path.cwd())
    overrides = {"output_base": args.output_base, "runs_dir": args.runs_dir,
                 "config": os.path.abspath(args.config) if args.config else None,
                 "cache": False if args.no_cache else None,
                 "include_cli": tuple(args.include), "exclude_cli": tuple(args.exclude_path)}
    settings, config = load_settings(root, overrides)
    if args.config and not Path(args.config).is_file():
        raise UsageError(f"job file {args.config!r} does not exist", where="--config")
    if args.inspect:
        return _inspect(args, settings)
    args.runs_dir = args.runs_dir or settings.runs_dir
    if args.status:     # --backend slurm --detach runs: ask Slurm once
        return _execution().status(args, settings.root)
    if args.resume:
        return _execution().resume(args, settings.root, config=config)
    jobs, found = collect_jobs(settings, _global_values(args, settings), parse_grid_option(args.grid))
    if not jobs:
        if args.list or args.why:
            print_list(jobs, args.format, found.decisions if args.why else None)
        raise UsageError(_nothing_found(found, settings.root))
    jobs = select(jobs, args.only, args.exclude, args.tag, args.keywords)
    if args.list or args.why:
        print_list(jobs, args.format, found.decisions if args.why else None)
        return 0
    execution = _execution()
    if args.dry_run and execution.backend_name(args, config) == "slurm":
        return execution.print_slurm_scripts(args, jobs, settings.root, settings.to_dict(), config)
    if args.dry_run:
        print_dry_run(jobs, str(settings.root), args.format)
        return 0
    if not jobs:
        _warn("no job selected; nothing to run")
        return 0
    return execution.run_jobs(args, jobs, settings.root, settings.to_dict(), config=config)


def _execution() -> ModuleType:
    """The execution stage, imported only when a run needs it: `--list` stays fast."""
    from runall.run import command

    return command


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `runall` and `run_all_training.py`; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except UsageError as exc:
        print(f"runall: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. `--list | head`: the reader went away, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("runall: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
