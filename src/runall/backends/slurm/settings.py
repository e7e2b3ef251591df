"""`[tool.runall.slurm]`: where and how jobs are submitted, validated with located errors."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from runall.errors import UsageError

_TIME = re.compile(r"^(\d+-)?\d+(:\d+){0,2}$|^(UNLIMITED|INFINITE)$")


@dataclass(frozen=True)
class SlurmSettings:
    """`[tool.runall.slurm]`: where and how jobs are submitted.

    `time` is the limit for jobs without a timeout of their own; `directives` are extra
    sbatch options (`--constraint=a100`), `setup` shell lines run before the job
    (`module load cuda`). `requeue`: a preempted job is queued again (a new attempt of the
    same Slurm job); `warning_time`: seconds before a time limit at which the job is sent
    SIGTERM so it can save (0: none). `jobs` maps id globs to tables of these keys that
    override them for matching jobs, later globs winning.
    """

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str | None = None
    directives: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()
    requeue: bool = True
    warning_time: int = 90
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_job(self, job_id: str) -> "SlurmSettings":
        """These settings with every matching per-job override applied."""
        merged = replace(self, jobs={})
        for pattern, override in self.jobs.items():
            if fnmatch.fnmatchcase(job_id, pattern):
                merged = replace(merged, **override)
        return merged


_KEYS = ("partition", "account", "qos", "time", "directives", "setup", "requeue", "warning_time")


Locate = Callable[[str, str], str]      # (table, key) -> where, e.g. `pyproject.toml:12: [table] key`


def _plain(table: str, key: str) -> str:
    return f"[{table}] {key}"


def parse_settings(table: Any, locate: Locate = _plain) -> SlurmSettings:
    """Validate a `[tool.runall.slurm]` table; errors name the file, line and key."""
    return SlurmSettings(**_values(table, "tool.runall.slurm", locate, nested=True))


def _values(table: Any, name: str, locate: Locate, nested: bool) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise UsageError("must be a table", where=f"[{name}]")
    values: dict[str, Any] = {}
    for key, value in table.items():
        here = locate(name, key)
        if key in ("partition", "account", "qos"):
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f"'{key}' must be a non-empty string, got {value!r}", where=here)
            values[key] = value.strip()
        elif key == "time":
            values[key] = _time_value(value, here)
        elif key in ("directives", "setup"):
            values[key] = _lines(key, value, here)
        elif key == "requeue":
            if not isinstance(value, bool):
                raise UsageError(f"'requeue' must be true or false, got {value!r}", where=here)
            values[key] = value
        elif key == "warning_time":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"'warning_time' must be whole seconds >= 0, got {value!r}", where=here)
            values[key] = value
        elif key == "jobs" and nested:
            if not isinstance(value, Mapping):
                raise UsageError("'jobs' must map job id globs to tables", where=here)
            values[key] = {str(glob): _values(sub, f'{name}.jobs."{glob}"', locate, nested=False)
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
