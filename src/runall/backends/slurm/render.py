"""Batch scripts: pure functions render each attempt's sbatch script, or one job array's script
and its argument lines (one per element); nothing here runs a command."""

from __future__ import annotations

import math
import os
import re
import shlex
from pathlib import Path
from typing import Sequence

from runall.backends.base import TOKEN_VAR, LaunchSpec, shell_comment
from runall.backends.slurm.body import command_lines, restart_lines, restart_log_prefix, run_lines
from runall.backends.slurm.settings import SlurmSettings
from runall.errors import UsageError
from runall.model import Job

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def time_limit(seconds: float) -> str:
    """A timeout as `--time` minutes, rounded up: Slurm counts whole minutes."""
    return str(max(1, math.ceil(seconds / 60)))


def memory_mib(nbytes: int) -> str:
    """Bytes as a `--mem` value in MiB, rounded up."""
    return f"{max(1, math.ceil(nbytes / 1024**2))}M"


def _directive_value(value: str, pattern: bool = False) -> str:
    """Quote a `#SBATCH` value as sbatch reads it (double quotes); `%` is literal in file patterns."""
    if '"' in value or not value.isprintable():
        raise ValueError(f"cannot write {value!r} into an #SBATCH line (quotes, newlines and control "
                         "characters are not allowed)")
    if pattern:
        value = value.replace("%", "%%")
    return f'"{value}"' if re.search(r"\s", value) else value


def sbatch_options(job: Job, spec: LaunchSpec, settings: SlurmSettings,
                   depends_on: Sequence[str] = ()) -> list[str]:
    """The `#SBATCH` options of one attempt, in a fixed order; UsageError naming the job when a
    value cannot be written into a directive."""
    try:
        return _sbatch_options(job, spec, settings, depends_on)
    except ValueError as exc:
        raise UsageError(str(exc), where=f"job {job.id}") from None


def _sbatch_options(job: Job, spec: LaunchSpec, settings: SlurmSettings, depends_on: Sequence[str]) -> list[str]:
    options = [
        f"--job-name={_directive_value(job.id)}",
        f"--output={_directive_value(str(spec.log_path), pattern=True)}",
        f"--chdir={_directive_value(str(spec.cwd))}",
        f"--comment={_directive_value(spec.token)}",
    ]
    return options + shared_options(job, settings, depends_on, spec)


def shared_options(job: Job, settings: SlurmSettings, depends_on: Sequence[str] = (),
                   spec: LaunchSpec | None = None) -> list[str]:
    """The options that attempts must share to go out as one job array: resources (one task, or
    one per node under a launcher), limits, requeueing, where, and dependencies (`afterok` ids,
    or `afterany:ID` for a run's ordering)."""
    launch = spec.launch if spec is not None else None
    options = [*([f"--nodes={launch.nodes}", "--ntasks-per-node=1"] if launch else ["--ntasks=1"]),
               f"--cpus-per-task={job.cpus or 1}"]
    if job.gpus:
        options.append(f"--gres=gpu:{job.gpus}")
    if job.memory:
        options.append(f"--mem={memory_mib(job.memory)}")
    limit = time_limit(job.timeout) if job.timeout else settings.time
    if limit:
        options.append(f"--time={limit}")
        if settings.warning_time:
            options.append(f"--signal=B:USR1@{settings.warning_time}")
    if settings.requeue:
        options += ["--requeue", "--open-mode=append"]
    for name in ("partition", "account", "qos"):
        value = getattr(settings, name)
        if value:
            options.append(f"--{name}={_directive_value(value)}")
    return options + dependency_options(depends_on) + list(settings.directives)


def dependency_options(depends_on: Sequence[str]) -> list[str]:
    """`--dependency`: `afterok` on Slurm ids (ids written `afterany:ID` wait for that job's end
    whatever its outcome), killing the job if a dependency can never be met."""
    ok = [d for d in depends_on if not d.startswith("afterany:")]
    clauses = ([f"afterok:{':'.join(ok)}"] if ok else []) + [d for d in depends_on if d.startswith("afterany:")]
    if not clauses:
        return []
    return [f"--dependency={','.join(clauses)}"] + (["--kill-on-invalid-dep=yes"] if ok else [])


def batch_environment(job: Job, spec: LaunchSpec) -> dict[str, str]:
    """The variables an attempt's batch job sets: Slurm assigns GPUs itself, so a
    CUDA_VISIBLE_DEVICES from the local allocation is left out unless the job sets it.
    UsageError naming the job for a name or value that cannot be exported."""
    env = {k: v for k, v in spec.env.items() if k != "CUDA_VISIBLE_DEVICES" or k in job.env}
    env[TOKEN_VAR] = spec.token
    bad = next((name for name, value in env.items() if not _ENV_NAME.fullmatch(name) or "\0" in value), None)
    if bad is not None:
        raise UsageError(f"environment variable {bad!r} cannot be exported (name or NUL in value)", where=f"job {job.id}")
    return env


def render_script(job: Job, spec: LaunchSpec, settings: SlurmSettings,
                  depends_on: Sequence[str] = ()) -> str:
    """The batch script for one attempt: directives, environment, a requeued attempt's own log,
    setup lines, then the command (`body`: a launcher under srun for multi-process jobs).

    `depends_on` holds Slurm ids (or placeholders in a dry run).
    """
    env = batch_environment(job, spec)
    launcher_setup, command = command_lines(spec, job.cpus or 1)
    lines = ["#!/bin/bash", shell_comment(f"runall job {job.id}, attempt {spec.attempt}")]
    lines += [f"#SBATCH {option}" for option in sbatch_options(job, spec, settings, depends_on)]
    lines.append("set -e")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    lines += restart_lines(spec) if settings.requeue else []
    lines += [*settings.setup, *launcher_setup]
    lines += run_lines(command, settings.warning_time if job.timeout or settings.time else None)
    return "\n".join(lines) + "\n"


def render_array(jobs: Sequence[Job], specs: Sequence[LaunchSpec], settings: SlurmSettings, args_path: Path,
                 out_path: Path, depends_on: Sequence[str] = (), max_running: int | None = None) -> str:
    """The batch script of a job array whose element i runs `specs[i]`, with `jobs[i]`'s shared
    options (the same for all; no launcher). Each element reads line i of `args_path`
    (`array_line`), sends its output to its own log (a requeued one to its next attempt's),
    sets its environment, runs the setup lines, then its command as a single job's script
    does (`body.run_lines`). What goes wrong before that lands in `out_path`."""
    first, count = jobs[0], len(specs)
    names = {job.id.split("@")[0] for job in jobs}
    comment = os.path.commonprefix([spec.token for spec in specs]) + "*"
    limit = f"%{max_running}" if max_running else ""
    lines = ["#!/bin/bash", shell_comment(f"runall job array: {count} attempts, element i runs line i+1 of "
                                          f"{args_path.name}")]
    try:
        lines += [f"#SBATCH {option}" for option in [
            f"--job-name={_directive_value(names.pop() if len(names) == 1 else 'runall')}",
            f"--output={_directive_value(str(out_path), pattern=True)}",
            "--open-mode=append",
            f"--chdir={_directive_value(str(specs[0].cwd))}",
            f"--comment={_directive_value(comment)}",
            f"--array=0-{count - 1}{limit}",
            *(o for o in shared_options(first, settings, depends_on) if o != "--open-mode=append")]]
    except ValueError as exc:
        raise UsageError(str(exc), where=f"job {first.id}") from None
    lines += ["set -e",
              f"mapfile -t -s \"$SLURM_ARRAY_TASK_ID\" -n 1 line < {shlex.quote(str(args_path))}",
              'eval "set -- ${line[0]}"']
    if settings.requeue:        # a requeued element writes to its next attempt's log, as a single job does
        lines += ['if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then',
                  '    exec >>"$2$(( $3 + SLURM_RESTART_COUNT )).log" 2>&1',
                  "else",
                  '    exec >"$1" 2>&1',
                  "fi"]
    else:
        lines.append('exec >"$1" 2>&1')
    lines += ["shift 3",
              'while [ "$1" != -- ]; do export "$1"; shift; done',
              "shift"]
    lines += list(settings.setup)
    lines += run_lines('"$@"', settings.warning_time if first.timeout or settings.time else None)
    return "\n".join(lines) + "\n"


def array_line(job: Job, spec: LaunchSpec) -> str:
    """One element of an array: its log, the start of a requeued attempt's log and its attempt
    number, its environment (`NAME=value`), `--`, its argv, as shell words on one line (control
    characters written as `$'\\n'`)."""
    env = batch_environment(job, spec)
    words = [str(spec.log_path), str(restart_log_prefix(spec)), str(spec.attempt),
             *(f"{name}={value}" for name, value in sorted(env.items())), "--", *spec.argv]
    return " ".join(_word(word) for word in words)


def _word(text: str) -> str:
    """A shell word on one line: shlex quoting, or ANSI-C quoting where a control character
    (a newline, say) would break the line."""
    if not _CONTROL.search(text):
        return shlex.quote(text)
    escaped = "".join(_ESCAPES.get(c, f"\\x{ord(c):02x}" if _CONTROL.match(c) else c) for c in text)
    return f"$'{escaped}'"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
