"""Read classes of an installed package's source with `ast`, never importing the package.

`importlib.util.find_spec` on a top-level name finds where a package lives without running it;
its files are then parsed like the repository's own. Used for the fields of transformers'
`TrainingArguments` and the parameters of Lightning's `Trainer`, whose names vary by version.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class InstalledClass:
    """A class statement found in an installed package's source."""

    node: ast.ClassDef
    path: Path
    digest: str
    version: str | None


@lru_cache(maxsize=16)
def package_dir(package: str) -> Path | None:
    """The folder of installed top-level package `package`, or None when it is not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None


@lru_cache(maxsize=64)
def _parse(path: Path) -> tuple[ast.Module, str] | None:
    try:
        data = path.read_bytes()
        return ast.parse(data, filename=str(path)), hashlib.sha256(data).hexdigest()
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


@lru_cache(maxsize=16)
def package_version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=64)
def locate_class(folder: Path, name: str, limit: int = 3000) -> Path | None:
    """The first file under `folder` (sorted, at most `limit` files) with `class name` at its top level."""
    needle = f"class {name}".encode()
    for count, path in enumerate(sorted(folder.rglob("*.py"))):
        if count >= limit:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if needle in data:
            parsed = _parse(path)
            if parsed and any(isinstance(s, ast.ClassDef) and s.name == name for s in parsed[0].body):
                return path
    return None


def find_class_in(package: str, name: str) -> InstalledClass | None:
    """Class `name` anywhere in installed package `package` (its files searched), or None."""
    folder = package_dir(package)
    path = locate_class(folder, name) if folder is not None else None
    return find_class(package, path.relative_to(folder).as_posix(), name) if path is not None else None


def find_class(package: str, relpath: str, name: str) -> InstalledClass | None:
    """Class `name` defined at top level of `<package dir>/<relpath>`, or None."""
    folder = package_dir(package)
    if folder is None:
        return None
    path = folder / relpath
    parsed = _parse(path)
    if parsed is None:
        return None
    tree, digest = parsed
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == name:
            return InstalledClass(stmt, path, digest, package_version(package))
    return None
