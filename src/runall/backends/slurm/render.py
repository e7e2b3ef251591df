"""Pure Slurm helpers: `[tool.runall.slurm]` settings, batch-script rendering, state mapping.

Nothing here runs a command, so all of it is unit-tested on plain text; `slurm.py` does the
submitting and polling.
"""

from __future__ import annotations

import fnmatch
import math
import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from runall.backends.base import ExitInfo, LaunchSpec
from runall.backends.local.backend import TOKEN_VAR, _signame as signal_name
from runall.errors import UsageError
from runall.model import Job
from runall.run.events import JobStatus

# `squeue --Format`: id, state, reason and the raw wait status of the batch script.
SQUEUE_FORMAT = "JobID:|,State:|,Reason:|,exit_code:|"
SACCT_FIELDS = "JobIDRaw,State,ExitCode"
ACTIVE_STATES = frozenset({
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
    "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD",
})
FINAL_STATES: Mapping[str, JobStatus] = {
    "COMPLETED": JobStatus.SUCCEEDED, "FAILED": JobStatus.FAILED,
    "TIMEOUT": JobStatus.TIMEOUT, "DEADLINE": JobStatus.TIMEOUT,
    "CANCELLED": JobStatus.CANCELLED, "REVOKED": JobStatus.CANCELLED,
    "NODE_FAIL": JobStatus.FAILED, "BOOT_FAIL": JobStatus.FAILED, "OUT_OF_MEMORY": JobStatus.FAILED,
    "PREEMPTED": JobStatus.FAILED, "SPECIAL_EXIT": JobStatus.FAILED,
}
# A job cancelled because a job it depends on failed was never run: the local scheduler's SKIPPED.
NEVER_RAN = "DependencyNeverSatisfied"
_QUIET_REASONS = frozenset({"", "None", "NonZeroExitCode"})
_TIME = re.compile(r"^(\d+-)?\d+(:\d+){0,2}$|^(UNLIMITED|INFINITE)$")


@dataclass(frozen=True)
class SlurmSettings:
    """`[tool.runall.slurm]`: where and how jobs are submitted.

    `time` is the limit for jobs without a timeout of their own; `directives` are extra
    sbatch options (`--constraint=a100`), `setup` shell lines run before the job
    (`module load cuda`). `jobs` maps id globs to tables of these keys that override them for
    matching jobs, later globs winning.
    """

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str | None = None
    directives: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_job(self, job_id: str) -> "SlurmSettings":
        """These settings with every matching per-job override applied."""
        merged = replace(self, jobs={})
        for pattern, override in self.jobs.items():
            if fnmatch.fnmatchcase(job_id, pattern):
                merged = replace(merged, **override)
        return merged


_KEYS = ("partition", "account", "qos", "time", "directives", "setup")


def parse_settings(table: Any, where: str = "[tool.runall.slurm]") -> SlurmSettings:
    """Validate a `[tool.runall.slurm]` table; errors name the key."""
    values = _values(table, where, nested=True)
    return SlurmSettings(**values)


def _values(table: Any, where: str, nested: bool) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise UsageError("must be a table", where=where)
    values: dict[str, Any] = {}
    for key, value in table.items():
        here = f"{where} {key}"
        if key in ("partition", "account", "qos"):
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f"'{key}' must be a non-empty string, got {value!r}", where=here)
            values[key] = value.strip()
        elif key == "time":
            values[key] = _time_value(value, here)
        elif key in ("directives", "setup"):
            values[key] = _lines(key, value, here)
        elif key == "jobs" and nested:
            if not isinstance(value, Mapping):
                raise UsageError("'jobs' must map job id globs to tables", where=here)
            values[key] = {str(glob): _values(sub, f'{where[:-1]}.jobs."{glob}"]', nested=False)
                           for glob, sub in value.items()}
        else:
            known = ", ".join(_KEYS + (("jobs",) if nested else ()))
            raise UsageError(f"unknown key '{key}' (known: {known})", where=here)
    return values


def _time_value(value: Any, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and _TIME.match(value.strip()):
        return value.strip()
    raise UsageError(f"'time' must be minutes or a Slurm time like '2:00:00' or '1-12', got {value!r}",
                     where=where)


def _lines(key: str, value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and "\n" not in v for v in value):
        raise UsageError(f"'{key}' must be a list of one-line strings", where=where)
    return tuple(value)


def time_limit(seconds: float) -> str:
    """A timeout as `--time` minutes, rounded up: Slurm counts whole minutes."""
    return str(max(1, math.ceil(seconds / 60)))


def memory_mib(nbytes: int) -> str:
    """Bytes as a `--mem` value in MiB, rounded up."""
    return f"{max(1, math.ceil(nbytes / 1024**2))}M"


def _directive_value(value: str, pattern: bool = False) -> str:
    """Quote a `#SBATCH` value as sbatch reads it (double quotes); `%` is literal in file patterns."""
    if '"' in value or "\n" in value:
        raise ValueError(f"cannot write {value!r} into an #SBATCH line")
    if pattern:
        value = value.replace("%", "%%")
    return f'"{value}"' if re.search(r"\s", value) else value


def sbatch_options(job: Job, spec: LaunchSpec, settings: SlurmSettings,
                   depends_on: Sequence[str] = ()) -> list[str]:
    """The `#SBATCH` options of one attempt, in a fixed order."""
    options = [
        f"--job-name={_directive_value(job.id)}",
        f"--output={_directive_value(str(spec.log_path), pattern=True)}",
        f"--chdir={_directive_value(str(spec.cwd))}",
        f"--comment={_directive_value(spec.token)}",
        "--ntasks=1",
        f"--cpus-per-task={job.cpus}",
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
    lines = ["#!/bin/bash", f"# runall job {job.id}, attempt {spec.attempt}"]
    lines += [f"#SBATCH {option}" for option in sbatch_options(job, spec, settings, depends_on)]
    lines.append("set -e")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    lines += list(settings.setup)
    lines.append(f"exec {shlex.join(spec.argv)}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SlurmRecord:
    """What Slurm reports about one job: its state, the reason, and how its script ended."""

    state: str
    reason: str = ""
    exit_code: int | None = None
    signal: int | None = None

    @property
    def final(self) -> bool:
        return self.state not in ACTIVE_STATES

    def outcome(self) -> ExitInfo:
        """How a job in a final state ended, with its manifest state and, where telling, a reason."""
        status = FINAL_STATES.get(self.state, JobStatus.FAILED)
        if status is JobStatus.SUCCEEDED and (self.exit_code or self.signal):
            status = JobStatus.FAILED
        if status is JobStatus.CANCELLED and self.reason == NEVER_RAN:
            status = JobStatus.SKIPPED
        reason = None if self.state in ("COMPLETED", "FAILED") and self.reason in _QUIET_REASONS else (
            f"Slurm {self.state}" + ("" if self.reason in _QUIET_REASONS else f" ({self.reason})"))
        if self.signal:
            return ExitInfo(None, signal_name(self.signal), status=status, reason=reason)
        ran = self.exit_code or self.state in ("COMPLETED", "FAILED")   # else the 0 means nothing
        return ExitInfo(self.exit_code if ran else None, status=status, reason=reason)


def parse_squeue(text: str) -> dict[str, SlurmRecord]:
    """`squeue --Format SQUEUE_FORMAT` output -> job id -> record (exit_code is a wait status)."""
    records = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 4 or not parts[0]:
            continue
        status = int(parts[3]) if parts[3].isdigit() else 0
        records[parts[0]] = SlurmRecord(parts[1], parts[2], status >> 8 & 0xFF, status & 0x7F or None)
    return records


def parse_sacct(text: str) -> dict[str, SlurmRecord]:
    """`sacct -nPX -o SACCT_FIELDS` output -> job id -> record (ExitCode is `code:signal`)."""
    records = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 3 or not parts[0]:
            continue
        code, _, sig = parts[2].partition(":")
        state = parts[1].split()[0] if parts[1].strip() else "UNKNOWN"
        records[parts[0]] = SlurmRecord(state, "", int(code) if code.isdigit() else None,
                                        int(sig) if sig.isdigit() and int(sig) else None)
    return records
