"""Batch scripts: one pure function renders each attempt's sbatch script; nothing here runs a command."""

from __future__ import annotations

import math
import re
import shlex
from typing import Sequence

from runall.backends.base import TOKEN_VAR, LaunchSpec, shell_comment
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
        "--ntasks=1",
        f"--cpus-per-task={job.cpus or 1}",
    ]
    if job.gpus:
        options.append(f"--gres=gpu:{job.gpus}")
    if job.memory:
        options.append(f"--mem={memory_mib(job.memory)}")
    limit = time_limit(job.timeout) if job.timeout else settings.time
    if limit:
        options.append(f"--time={limit}")
    for name in ("partition", "account", "qos"):
        value = getattr(settings, name)
        if value:
            options.append(f"--{name}={_directive_value(value)}")
    if depends_on:
        options += [f"--dependency=afterok:{':'.join(depends_on)}", "--kill-on-invalid-dep=yes"]
    return options + list(settings.directives)


def render_script(job: Job, spec: LaunchSpec, settings: SlurmSettings,
                  depends_on: Sequence[str] = ()) -> str:
    """The batch script for one attempt: directives, environment, setup lines, then `exec argv`.

    Slurm assigns GPUs itself, so a CUDA_VISIBLE_DEVICES from the local allocation is left
    out unless the job sets it. `depends_on` holds Slurm ids (or placeholders in a dry run).
    """
    env = {k: v for k, v in spec.env.items() if k != "CUDA_VISIBLE_DEVICES" or k in job.env}
    env[TOKEN_VAR] = spec.token
    bad = next((name for name, value in env.items() if not _ENV_NAME.fullmatch(name) or "\0" in value), None)
    if bad is not None:
        raise UsageError(f"environment variable {bad!r} cannot be exported (name or NUL in value)", where=f"job {job.id}")
    lines = ["#!/bin/bash", shell_comment(f"runall job {job.id}, attempt {spec.attempt}")]
    lines += [f"#SBATCH {option}" for option in sbatch_options(job, spec, settings, depends_on)]
    lines.append("set -e")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    lines += list(settings.setup)
    lines.append(f"exec {shlex.join(spec.argv)}")
    return "\n".join(lines) + "\n"
