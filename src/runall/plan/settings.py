"""Settings of the planning stages (discovery, flags, job file, output folders), built from the
resolved configuration (`runall.config`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

from runall.config import Sourced
from runall.errors import UsageError

DEFAULT_SKIP_DIRS = (
    ".git", ".hg", ".svn", "build", "dist", "node_modules", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".eggs", ".ipynb_checkpoints",
    ".runall-cache", "site-packages",
)


@dataclass(frozen=True)
class Settings:
    """Everything the stages before execution need, validated once (defaults: `runall.options`)."""

    root: Path
    roots: tuple[str, ...]
    include: tuple[str, ...]            # files taken whenever they are entry points
    exclude: tuple[str, ...]
    legacy: tuple[str, ...]             # like exclude; kept apart for old layouts
    include_cli: tuple[str, ...]        # --include, added to include
    exclude_cli: tuple[str, ...]        # --exclude-path, added to exclude
    respect_gitignore: bool
    output_base: str
    runs_dir: str
    config: str
    aliases: Mapping[str, Sequence[str]]
    cache: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the run manifest."""
        return {f.name: (str(v) if isinstance(v, Path) else v)
                for f in fields(self) for v in [getattr(self, f.name)]}

    @property
    def runs_path(self) -> Path:
        """Where run directories go."""
        return self.root / self.runs_dir

    @property
    def config_path(self) -> Path:
        """The job file."""
        return self.root / self.config


# option dest -> Settings field, where they differ
_FIELDS = {"exclude_paths": "exclude"}
_PATH_KEYS = ("output_base", "runs_dir", "config")


def settings_from(root: Path, values: Mapping[str, Sourced]) -> Settings:
    """The plan settings for `root` from resolved values; paths must stay inside the root."""
    given = {_FIELDS.get(dest, dest): values[dest] for dest in
             ("roots", "include", "exclude_paths", "legacy", "include_cli", "exclude_cli", "respect_gitignore",
              "output_base", "runs_dir", "config", "aliases", "cache")}
    if given["aliases"].value is not None:
        _check_aliases(given["aliases"])
    for key in _PATH_KEYS:
        inside_root(root, given[key].value, given[key].source)
    for value in given["roots"].value:
        inside_root(root, value, given["roots"].source)
    values = {key: sourced.value for key, sourced in given.items()}
    return Settings(root=root, **{**values, "aliases": values["aliases"] or {}})


def inside_root(root: Path, value: str, where: str) -> Path:
    """Resolve a configured path against the root; it must not leave the root."""
    resolved = (root / value).resolve()
    if resolved != root and root not in resolved.parents:
        raise UsageError(f"path {value!r} is outside the repository root {root}", where=where)
    return resolved


def _check_aliases(aliases: Sourced) -> None:
    if not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in aliases.value.values()):
        raise UsageError("'aliases' must map a role to a list of option spellings", where=aliases.source)
