"""Configuration resolved once: command line over a resumed run's recorded options over
`[tool.runall]` in pyproject.toml over the defaults declared in `options`, into frozen types.

`read_project` is the only reader of pyproject.toml. `resolve_values` checks every value
against its `Option` (kind, bounds, choices) and remembers where it came from, so an error
names the flag or the file and line. The typed groups (`ExecutionOptions`, `ReportOptions`,
the plan stage's `Settings`, tracking and backend settings) are built from those values;
the stages take them and never see the command line.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from runall.errors import UsageError
from runall.options import BY_CONFIG_KEY, BY_DEST, OPTIONS, Option

DEFAULT = "default"


@dataclass(frozen=True)
class Sourced:
    """A value and where it came from: `default`, a flag, or `file:line: [table] key`."""

    value: Any
    source: str


@dataclass(frozen=True)
class Project:
    """`[tool.runall]` of a repository's pyproject.toml, with the text for line numbers."""

    path: Path
    table: Mapping[str, Any]
    text: str = ""

    def where(self, key: str, table: str = "tool.runall") -> str:
        """`pyproject.toml:LINE: [table] key` (the line where it can be found)."""
        line = key_line(self.text, table, key)
        return f"{self.path}:{line}: [{table}] {key}" if line else f"{self.path}: [{table}] {key}"


def key_line(text: str, table: str, key: str) -> int | None:
    """Line number (1-based) of `key` inside `[table]` of a TOML text, for error messages."""
    in_table = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = stripped.strip("[]").strip() == table
            continue
        if in_table and re.match(rf"[\"']?{re.escape(key)}[\"']?\s*=", stripped):
            return number
    return None


def read_project(root: Path) -> Project:
    """The `[tool.runall]` table of `root/pyproject.toml` ({} without one); UsageError when unreadable."""
    path = root / "pyproject.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Project(path, {})
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read: {exc}", where=str(path)) from None
    if "tool" not in text:              # no [tool] table in any spelling: nothing of ours to read
        return Project(path, {}, text)
    if sys.version_info >= (3, 11):     # only when there is a table to read: keeps start-up fast
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"invalid TOML: {exc}", where=str(path)) from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise UsageError("'tool' must be a table", where=str(path))
    table = tool.get("runall", {})
    if not isinstance(table, dict):
        raise UsageError("[tool.runall] must be a table", where=str(path))
    return Project(path, table, text)


def check_value(option: Option, value: Any, where: str) -> Any:
    """`value` checked against `option` (kind, bounds, choices) and normalised; UsageError naming `where`."""
    kind = option.kind
    if kind == "list":
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"must be a list of strings, got {value!r}", where=where)
        return tuple(value)
    if kind == "table":
        if not isinstance(value, Mapping):
            raise UsageError(f"must be a table, got {value!r}", where=where)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise UsageError(f"must be true or false, got {value!r}", where=where)
        return value
    if kind in ("int", "float"):
        numeric = (int, float) if kind == "float" else (int,)
        if isinstance(value, bool) or not isinstance(value, numeric):
            raise UsageError(f"must be {'a number' if kind == 'float' else 'a whole number'}, got {value!r}",
                             where=where)
        if not math.isfinite(value):
            raise UsageError(f"must be a finite number, got {value!r}", where=where)
        if option.minimum is not None and value < option.minimum:
            raise UsageError(f"must be at least {option.minimum:g}, got {value:g}", where=where)
        if option.above is not None and value <= option.above:
            raise UsageError(f"must be more than {option.above:g}, got {value:g}", where=where)
        return float(value) if kind == "float" else value
    if not isinstance(value, str):
        raise UsageError(f"must be a string, got {value!r}", where=where)
    if kind == "path" and not value.strip():
        raise UsageError("must name a file or folder, got an empty path", where=where)
    if option.choices and value not in option.choices:
        raise UsageError(f"must be one of {', '.join(option.choices)}, got {value!r}", where=where)
    return value


def resolve_values(cli: Mapping[str, Any], project: Project,
                   recorded: Mapping[str, Sourced] | None = None) -> dict[str, Sourced]:
    """Every option's value and source: command line > recorded (resume) > [tool.runall] > default.

    `cli` maps option dests to the values given on the command line (None: not given).
    Unknown `[tool.runall]` keys are an error naming the file and line. Paths come back
    absolute, `~` expanded: a relative path is relative to where it was written, the current
    directory on the command line, the repository root in pyproject.toml and for defaults.
    """
    root = project.path.parent
    values = {option.dest: Sourced(_absolute(option, option.default, root), DEFAULT) for option in OPTIONS}
    for key, value in project.table.items():
        option = BY_CONFIG_KEY.get(key)
        where = project.where(key)
        if option is None:
            raise UsageError(f"unknown key '{key}' (known: {', '.join(sorted(BY_CONFIG_KEY))})", where=where)
        values[option.dest] = Sourced(_absolute(option, check_value(option, value, where), root), where)
    values.update(recorded or {})
    for dest, value in cli.items():
        if value is not None:
            option = BY_DEST[dest]
            checked = _absolute(option, check_value(option, value, option.flag), Path.cwd())
            values[dest] = Sourced(checked, option.flag)
    return values


def _absolute(option: Option, value: Any, base: Path) -> Any:
    """A path option's value made absolute against `base` (`~` expanded); others as they are."""
    if option.kind != "path" or value is None:
        return value
    return os.path.normpath(base / os.path.expanduser(value))


@dataclass(frozen=True)
class ExecutionOptions:
    """How jobs are run; a job's own `timeout`/`retries` win over these."""

    parallel: bool = False
    max_workers: int | None = None
    timeout: float | None = None
    grace: float = BY_DEST["grace"].default
    retries: int = BY_DEST["retries"].default
    retry_delay: float = BY_DEST["retry_delay"].default   # before the first retry; doubles for each further one
    fail_fast: bool = False
    gpus: int | None = None
    thread_limits: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the manifest's `options` (and `recorded` on resume)."""
        return asdict(self)

    @classmethod
    def from_values(cls, values: Mapping[str, Sourced]) -> "ExecutionOptions":
        return cls(**{f.name: values[f.name].value for f in fields(cls)})


@dataclass(frozen=True)
class ReportOptions:
    """What the user sees while a run goes and what it leaves besides the manifest."""

    plain: bool = False
    quiet: bool = False
    verbose: bool = False
    report_json: Path | None = None
    junit_xml: Path | None = None
    json_stdout: bool = False       # --format json on a run: the JSON report on stdout, progress on stderr

    @classmethod
    def from_values(cls, values: Mapping[str, Sourced]) -> "ReportOptions":
        json_path, junit_path = values["report_json"].value, values["junit_xml"].value
        return cls(values["plain"].value, values["quiet"].value, values["verbose"].value,
                   Path(json_path) if json_path else None, Path(junit_path) if junit_path else None,
                   values["format"].value == "json")


def recorded_values(options: Mapping[str, Any], backend: str | None, where: str) -> dict[str, Sourced]:
    """The options a run recorded in its manifest, as a layer for `resolve_values` (resume)."""
    layer = {key: Sourced(value, where) for key, value in options.items()
             if key in BY_DEST and value is not None and key in {f.name for f in fields(ExecutionOptions)}}
    if backend:
        layer["backend"] = Sourced(backend, where)
    return layer
