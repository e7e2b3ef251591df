"""Settings of the planning stages (discovery, flags, job file, output folders), built from the
resolved configuration (`runall.config`)."""

from __future__ import annotations

import hashlib
import os
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
    output_base: Path                # absolute, anywhere
    runs_dir: Path                   # absolute, anywhere
    config: Path                     # the job file, absolute, anywhere
    aliases: Mapping[str, Sequence[str]]
    cache: bool
    strict: bool = False       # a value given for every job that cannot reach a selected one is an error
    probe: bool = False        # run `SCRIPT --help` for scripts whose options cannot be read statically

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the run manifest."""
        return {f.name: (str(v) if isinstance(v, Path) else v)
                for f in fields(self) for v in [getattr(self, f.name)]}

    @property
    def cache_dir(self) -> Path:
        return cache_dir(self.root)

    def shown(self, path: Path) -> str:
        """`path` as jobs and messages show it: relative to the root when inside, else absolute."""
        return display_path(self.root, path)


def cache_dir(root: Path) -> Path:
    """A repository's cache folder, outside it: `$XDG_CACHE_HOME/runall/<name>-<hash>` (default
    `~/.cache`), so runall never leaves files in the user's repository."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return base / "runall" / f"{root.name or 'root'}-{digest}"


def display_path(root: Path, path: Path) -> str:
    """POSIX `path` relative to `root` when it lies (lexically) inside it, else absolute."""
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return path.as_posix()


# option dest -> Settings field, where they differ
_FIELDS = {"exclude_paths": "exclude"}


def settings_from(root: Path, values: Mapping[str, Sourced]) -> Settings:
    """The plan settings for `root` from resolved values; discovery roots must stay inside it,
    output and run folders and the job file may be anywhere."""
    given = {_FIELDS.get(dest, dest): values[dest] for dest in
             ("roots", "include", "exclude_paths", "legacy", "include_cli", "exclude_cli", "respect_gitignore",
              "output_base", "runs_dir", "config", "aliases", "cache", "strict", "probe")}
    if given["aliases"].value is not None:
        _check_aliases(given["aliases"])
    for value in given["roots"].value:
        inside_root(root, value, given["roots"].source)
    values = {key: sourced.value for key, sourced in given.items()}
    paths = {key: Path(values[key]) for key in ("output_base", "runs_dir", "config")}
    return Settings(root=root, **{**values, **paths, "aliases": values["aliases"] or {}})


def inside_root(root: Path, value: str, where: str) -> Path:
    """Resolve a configured path against the root; it must not leave the root."""
    resolved = (root / value).resolve()
    if resolved != root and root not in resolved.parents:
        raise UsageError(f"path {value!r} is outside the repository root {root}", where=where)
    return resolved


def _check_aliases(aliases: Sourced) -> None:
    if not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in aliases.value.values()):
        raise UsageError("'aliases' must map a role to a list of option spellings", where=aliases.source)
