"""Settings: command line over `[tool.runall]` in pyproject.toml over built-in defaults."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from runall.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_SKIP_DIRS = (
    ".git", ".hg", ".svn", "build", "dist", "node_modules", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".eggs", ".ipynb_checkpoints",
    ".runall-cache", "site-packages",
)


@dataclass(frozen=True)
class Settings:
    """Everything the stages before execution need, validated once."""

    root: Path
    roots: tuple[str, ...] = (".",)
    include: tuple[str, ...] = ()           # files taken whenever they are entry points
    exclude: tuple[str, ...] = ()
    legacy: tuple[str, ...] = ()            # like exclude; kept apart for old layouts
    include_cli: tuple[str, ...] = ()       # --include, added to include
    exclude_cli: tuple[str, ...] = ()       # --exclude-path, added to exclude
    respect_gitignore: bool = True
    output_base: str = "results"
    runs_dir: str = "runs"
    config: str = "runall.yaml"
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cache: bool = True
    source: str = "defaults"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the run manifest."""
        return {f.name: (str(v) if isinstance(v, Path) else v)
                for f in fields(self) for v in [getattr(self, f.name)]}

    def inside_root(self, value: str, key: str) -> Path:
        """Resolve a configured path against the root; it must not leave the root."""
        resolved = (self.root / value).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise UsageError(f"path {value!r} is outside the repository root {self.root}",
                             where=f"{self.source}: {key}")
        return resolved


_LIST_KEYS = ("roots", "include", "exclude", "legacy")
_STR_KEYS = ("output_base", "runs_dir", "config")
_BOOL_KEYS = ("respect_gitignore", "cache")
# Keys owned by later stages (execution, tracking, backends) that settings accepts as is.
PASS_THROUGH_KEYS = frozenset({"parallel", "max_workers", "timeout", "grace", "retries",
                               "retry_delay", "thread_limits", "fail_fast", "gpus", "tracking", "mlflow", "slurm", "backend"})


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


def _check_type(value: Any, key: str, where: str) -> Any:
    if key in _LIST_KEYS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"'{key}' must be a list of strings, got {value!r}", where=where)
        return tuple(value)
    if key in _STR_KEYS and not isinstance(value, str):
        raise UsageError(f"'{key}' must be a string, got {value!r}", where=where)
    if key in _BOOL_KEYS and not isinstance(value, bool):
        raise UsageError(f"'{key}' must be true or false, got {value!r}", where=where)
    if key == "aliases":
        if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(s, str) for s in v) for v in value.values()):
            raise UsageError("'aliases' must map a role to a list of option spellings", where=where)
        return {role: tuple(spellings) for role, spellings in value.items()}
    return value


def read_pyproject(root: Path) -> tuple[dict[str, Any], str]:
    """The raw `[tool.runall]` table of `root/pyproject.toml` and the file's text."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}, ""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"invalid TOML: {exc}", where=str(path)) from None
    table = data.get("tool", {}).get("runall", {})
    if not isinstance(table, dict):
        raise UsageError("[tool.runall] must be a table", where=str(path))
    return table, text


def load_settings(root: Path, overrides: dict[str, Any] | None = None) -> tuple[Settings, dict[str, Any]]:
    """Settings for `root`: pyproject's `[tool.runall]`, then `overrides` (non-None CLI values).

    Returns the settings and the pass-through part of the table that later stages own.
    """
    root = root.resolve()
    if not root.is_dir():
        raise UsageError(f"repository root {root} is not a directory", where="--root")
    table, text = read_pyproject(root)
    pyproject = root / "pyproject.toml"
    values: dict[str, Any] = {}
    known = {f.name for f in fields(Settings)} - {"root", "source", "include_cli", "exclude_cli"}
    for key, value in table.items():
        if key in PASS_THROUGH_KEYS:
            continue
        line = key_line(text, "tool.runall", key)
        where = f"{pyproject}:{line}: [tool.runall] {key}" if line else f"{pyproject}: [tool.runall] {key}"
        if key not in known:
            raise UsageError(f"unknown key '{key}' (known: {', '.join(sorted(known | PASS_THROUGH_KEYS))})",
                             where=where)
        values[key] = _check_type(value, key, where)
    settings = Settings(root=root, source=str(pyproject) if table else "defaults", **values)
    settings = replace(settings, **{k: v for k, v in (overrides or {}).items() if v is not None})
    for key in ("output_base", "runs_dir", "config"):
        settings.inside_root(getattr(settings, key), key)
    for value in settings.roots:
        settings.inside_root(value, "roots")
    passthrough = {k: v for k, v in table.items() if k in PASS_THROUGH_KEYS}
    return settings, passthrough
