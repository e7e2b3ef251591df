"""Jobs: one `Job` per script, with a stable readable id and the argv built by one pure function."""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Mapping, Sequence

from runall.errors import UsageError
from runall.model import Job
from runall.plan.flags.model import JOINED, OVERRIDE, SEPARATE, ScriptFlags
from runall.plan.flags.roles import DEFAULT_ALIASES, roles_for
from runall.plan.grid import expand, member_suffix
from runall.plan.jobfile import Declared

VALUE_ROLES = ("epochs", "folds", "batch_size", "seed", "data_path")
_PLAIN_OVERRIDE = re.compile(r"[\w./+\-:]*")


@dataclass(frozen=True)
class GlobalValues:
    """Values given once for every job; each reaches a script only through its own spelling."""

    epochs: int | None = None
    folds: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    data_path: str | None = None
    output_base: str = "results"
    output_given: bool = False       # --output-base given: a job without an output option is reported
    extra_args: tuple[str, ...] = ()
    python: str = field(default=sys.executable)

    def role_value(self, role: str) -> Any:
        return getattr(self, role, None)


def base_id(script: str) -> str:
    """`src/pkg/training/train_als.py` -> `als`."""
    stem = PurePosixPath(script).stem
    return stem[len("train_"):] if stem.startswith("train_") and len(stem) > len("train_") else stem


def assign_ids(scripts: Sequence[str]) -> dict[str, str]:
    """A unique id per script: the base id, qualified by parent folders only where they collide."""
    groups: dict[str, list[str]] = defaultdict(list)
    for script in scripts:
        groups[base_id(script)].append(script)
    ids: dict[str, str] = {}
    for name, members in groups.items():
        if len(members) == 1:
            ids[members[0]] = name
            continue
        depth = 1
        while True:
            candidates = {m: ".".join(PurePosixPath(m).parent.parts[-depth:] + (name,)) for m in members}
            if len(set(candidates.values())) == len(members) or depth > max(len(PurePosixPath(m).parts) for m in members):
                ids.update(candidates)
                break
            depth += 1
    return ids


def script_argument(script: str) -> str:
    """The script as the interpreter's argument: always a path (`-c` would be code, `./-c` is a file)."""
    return f"./{script}" if script.startswith("-") else script


def folder_name(job_id: str) -> str:
    """A job id as one folder name under the output base, whatever its grid values hold
    (`/`, `..`, NUL): never a path that leaves the base."""
    name = re.sub(r"[/\\\x00-\x1f]", "_", job_id).lstrip(".")
    return name or "_"


def option_for(key: str, roles: Mapping[str, str | None], options: Sequence[str] = ()) -> str:
    """The option a declared argument becomes: a role through the script's own spelling, an option
    the script defines as is (a Hydra key like `trainer.max_epochs`), else `--key`."""
    if key.startswith("-"):
        return key
    return roles.get(key) or (key if key in options else f"--{key}")


def render(option: str, value: Any, syntax: str = SEPARATE) -> list[str]:
    """One value given to one option, in the script's own syntax: `--epochs 3`, `--max_iters=3`
    (one argv item), or the Hydra override `trainer.max_epochs=3` (any spelling without dashes)."""
    if syntax == OVERRIDE or not option.startswith("-"):
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return [f"{option}={text if _PLAIN_OVERRIDE.fullmatch(text) else _quote_override(text)}"]
    if syntax == JOINED:
        return [f"{option}={value}"]
    return [option, str(value)]


def _quote_override(text: str) -> str:
    """A Hydra override value quoted, so `=`, `,`, `@` and spaces stay part of it."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _option_args(args: Mapping[str, Any], roles: Mapping[str, str | None], options: Sequence[str],
                 syntax: Mapping[str, str]) -> list[str]:
    """Declared arguments as options: `{"lr": 0.1, "amp": True}` -> `--lr 0.1 --amp`."""
    argv: list[str] = []
    for key, value in args.items():
        option = option_for(key, roles, options)
        style = syntax.get(option, SEPARATE)
        if style == OVERRIDE or not option.startswith("-"):
            if value is not None:
                argv += render(option, value, OVERRIDE)
        elif value is True:
            argv.append(option)
        elif value is False or value is None:
            continue
        elif isinstance(value, (list, tuple)):
            argv += [option, *map(str, value)]
        else:
            argv += render(option, value, style)
    return argv


def build_argv(script: str, roles: Mapping[str, str | None], values: GlobalValues,
               output_dir: str | None, args: Mapping[str, Any] | None = None, *,
               syntax: Mapping[str, str] | None = None, options: Sequence[str] = (),
               leading: Sequence[str] = (), positional: Sequence[str] = (),
               overrides: Sequence[str] = ()) -> list[str]:
    """The exact command for one job.

    `python SCRIPT [leading] [positional] [role values] [declared args] [overrides] [extra args]`.
    A global value is passed only through the option the script uses for that role, in that
    option's syntax (`syntax`: spelling -> `separate`, `joined` or `override`), and never to a
    script without one; declared `args` and `overrides` win over global values for the same option.
    """
    args, syntax = args or {}, syntax or {}
    taken = {option_for(key, roles, options) for key in args} | {o.partition("=")[0].lstrip("+~") for o in overrides}
    argv = [values.python, script_argument(script), *leading, *positional]
    for role in VALUE_ROLES:
        option, value = roles.get(role), values.role_value(role)
        if option and value is not None and option not in taken:
            argv += render(option, value, syntax.get(option, SEPARATE))
    out_option = roles.get("output_dir")
    if out_option and output_dir and out_option not in taken:
        argv += render(out_option, output_dir, syntax.get(out_option, SEPARATE))
    return argv + _option_args(args, roles, options, syntax) + list(overrides) + list(values.extra_args)


def _applicable(grid: Mapping[str, list[Any]], roles: Mapping[str, str | None],
                options: Sequence[str]) -> dict[str, list[Any]]:
    """The part of a command-line grid this script can take (a role it has, or an option it defines)."""
    return {k: v for k, v in grid.items() if option_for(k, roles, options) in options}


def _dropped(flags: ScriptFlags, roles: Mapping[str, str | None], values: GlobalValues,
             args: Mapping[str, Any], cli_grid: Mapping[str, list[Any]], grid: Mapping[str, list[Any]]) -> dict[str, str]:
    """Each value given for every job that cannot reach this one -> why."""
    unknown = "its options could not be read (see --inspect)"
    dropped: dict[str, str] = {}
    wanted = [role for role in VALUE_ROLES if values.role_value(role) is not None]
    if values.output_given:
        wanted.append("output_dir")
    for role in wanted:
        if not roles.get(role) and role not in args:
            dropped[role] = unknown if not flags.known else f"no {role.replace('_', ' ')} option"
    for name in cli_grid:
        if name not in grid:
            dropped[f"grid:{name}"] = unknown if not flags.known else f"no {name} option"
    return dropped


def make_jobs(job_id: str, script: str, flags: ScriptFlags, values: GlobalValues,
              aliases: Mapping[str, tuple[str, ...]], declared: Mapping[str, Any] | None = None,
              cli_grid: Mapping[str, list[Any]] | None = None, limit: int | None = None) -> list[Job]:
    """The job(s) for one script: one, or one per member of its grid (UsageError when that
    is more than `limit`)."""
    fields_ = dict(declared or {})
    roles = roles_for(flags, aliases, fields_.pop("flags", None))
    options = [s for option in flags.options for s in option.strings]
    syntax = {s: o.syntax for o in flags.options for s in o.strings if o.syntax != SEPARATE}
    syntax.update({o: OVERRIDE for o in roles.values() if o and not o.startswith("-")})
    cli_grid = cli_grid or {}
    applicable = _applicable(cli_grid, roles, options)
    grid = {**fields_.pop("grid", {}), **applicable}
    base_args = fields_.pop("args", {})
    positional: list[str] = []
    if isinstance(base_args, list):
        positional, base_args = [str(a) for a in base_args], {}
    overrides = [str(o) for o in fields_.pop("overrides", [])]
    name = fields_.pop("name", None) or job_id
    dropped = _dropped(flags, roles, values, base_args, cli_grid, applicable)
    jobs = []
    for combination in expand(grid, limit, where=f"job {job_id}"):
        member_id = job_id + member_suffix(combination) if combination else job_id
        output_dir = f"{values.output_base.rstrip('/')}/{folder_name(member_id)}"
        args = {**base_args, **combination}
        jobs.append(Job(
            id=member_id, name=name, script=script,
            argv=build_argv(script, roles, values, output_dir, args, syntax=syntax, options=options,
                            leading=flags.leading, positional=positional, overrides=overrides),
            output_dir=output_dir if roles.get("output_dir") else None,
            options=options, roles=roles, flags_known=flags.known, params=args, dropped=dict(dropped),
            will_fail=flags.error, source="config" if declared is not None else "discovered", **fields_))
    return jobs


def build_jobs(flags_by_script: Mapping[str, ScriptFlags], values: GlobalValues,
               aliases: Mapping[str, tuple[str, ...]] = DEFAULT_ALIASES,
               declared: Sequence[Declared] = (), cli_grid: Mapping[str, list[Any]] | None = None,
               discovered: Sequence[str] | None = None, max_jobs: int | None = None) -> list[Job]:
    """Discovered scripts merged with declared entries by script path, declared settings winning.

    `flags_by_script` covers every script (discovered and declared); `discovered` lists the
    discovered ones in order (default: all of `flags_by_script`). Colliding ids are an error,
    and so are more than `max_jobs` jobs (refused before a grid that would pass it is built).
    """
    discovered = list(flags_by_script) if discovered is None else list(discovered)
    ids = assign_ids(discovered + [d.script for d in declared if d.script not in discovered])
    by_script: dict[str, list[Declared]] = defaultdict(list)
    for entry in declared:
        by_script[entry.script].append(entry)
    order = discovered + [s for s in by_script if s not in discovered]
    jobs: list[Job] = []
    origin: dict[str, str] = {}
    for script in order:
        entries: list[Declared | None] = list(by_script.get(script, ())) or [None]
        for entry in entries:
            fields_ = dict(entry.fields) if entry else None
            job_id = (fields_ or {}).pop("id", None) or ids[script]
            where = f"{entry.source}:{entry.line}" if entry else script
            limit = None if max_jobs is None else max_jobs - len(jobs)
            for job in make_jobs(job_id, script, flags_by_script[script], values, aliases, fields_, cli_grid, limit):
                if job.id in origin:
                    raise UsageError(f"job id {job.id!r} is used twice (also by {origin[job.id]}); "
                                     "give one of them its own 'id'", where=where)
                origin[job.id] = where
                jobs.append(job)
    return _resolve_after(jobs, origin)


def _resolve_after(jobs: list[Job], origin: Mapping[str, str]) -> list[Job]:
    """Expand `after` ids to the job ids they name (a grid job's id names all its members)."""
    for job in jobs:
        resolved: list[str] = []
        for name in job.after:
            matches = [j.id for j in jobs if j.id == name or j.id.split("@")[0] == name]
            if not matches:
                raise UsageError(f"'after' names unknown job {name!r}", where=f"{origin[job.id]}: {job.id}")
            resolved += [m for m in matches if m not in resolved and m != job.id]
        job.after = resolved
    return jobs
