"""Discovery: walk the configured roots and collect training scripts, pruning before descending."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

from runall.plan.settings import DEFAULT_SKIP_DIRS, Settings


@dataclass
class Discovery:
    """Scripts found (POSIX paths relative to the root, sorted) and problems met on the way."""

    scripts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Ignore:
    """A `.gitignore` file's patterns, anchored at the directory holding it."""

    base: str
    spec: pathspec.PathSpec

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.base:
            if not rel.startswith(self.base + "/"):
                return False
            rel = rel[len(self.base) + 1:]
        return self.spec.match_file(rel + "/" if is_dir else rel)


def _read_gitignore(directory: str, base: str, found: Discovery) -> _Ignore | None:
    path = os.path.join(directory, ".gitignore")
    try:
        with open(path, encoding="utf-8") as handle:
            import pathspec  # only when a .gitignore exists: keeps start-up fast

            return _Ignore(base, pathspec.GitIgnoreSpec.from_lines(handle))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        found.problems.append(f"{path}: unreadable .gitignore ignored ({exc})")
        return None


def _matches_any(rel: str, patterns: tuple[str, ...]) -> bool:
    """True when a relative path equals, lies under, or glob-matches one of `patterns`."""
    for pattern in patterns:
        pattern = pattern.strip("/")
        if rel == pattern or rel.startswith(pattern + "/") or fnmatch.fnmatch(rel, pattern):
            return True
    return False


class _Walker:
    """One discovery pass; keeps the state a recursive walk needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = str(settings.root)
        self.real_root = os.path.realpath(self.root)
        self.found = Discovery()
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: set[str] = set()
        outputs = (settings.shown(settings.runs_dir), settings.shown(settings.output_base))
        self.pruned = tuple(settings.legacy) + tuple(settings.exclude) + tuple(p for p in outputs if p != "." and
                                                                                not p.startswith("/"))
        self.included = re.compile("|".join(fnmatch.translate(p) for p in settings.include)).match

    def inside(self, path: str) -> bool:
        """True when `path`, links followed, lies inside the repository."""
        real = os.path.realpath(path)
        return real == self.real_root or real.startswith(self.real_root + os.sep)

    def relative(self, path: str) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def skip_dir(self, entry: os.DirEntry, rel: str, ignores: list[_Ignore]) -> bool:
        if entry.name in DEFAULT_SKIP_DIRS or entry.name.endswith(".egg-info"):
            return True
        if _matches_any(rel, self.pruned):
            return True
        if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
            return True  # a virtual environment, whatever its name
        return any(ignore.matches(rel, True) for ignore in ignores)

    def walk(self, directory: str, rel: str, ignores: list[_Ignore]) -> None:
        """Visit `directory`, whose path relative to the root is `rel` ("" for the root)."""
        shown = rel or "."
        try:
            info = os.stat(directory)
        except OSError as exc:
            self.found.problems.append(f"{shown}: cannot stat ({exc.strerror})")
            return
        key = (info.st_dev, info.st_ino)
        if key in self.seen_dirs:
            self.found.problems.append(f"{shown}: symlink loop or repeated directory, skipped")
            return
        self.seen_dirs.add(key)
        if self.settings.respect_gitignore:
            own = _read_gitignore(directory, rel, self.found)
            ignores = ignores + [own] if own else ignores
        try:
            with os.scandir(directory) as entries:
                listing = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            self.found.problems.append(f"{shown}: unreadable directory ({exc.strerror})")
            return
        prefix = f"{rel}/" if rel else ""
        for entry in listing:
            self.visit(entry, prefix + entry.name, ignores)

    def visit(self, entry: os.DirEntry, rel: str, ignores: list[_Ignore]) -> None:
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError as exc:
            self.found.problems.append(f"{rel}: cannot stat ({exc.strerror})")
            return
        if entry.is_symlink() and (is_dir or is_file) and not self.inside(entry.path):
            self.found.problems.append(f"{rel}: links outside the repository, skipped")
            return
        if is_dir:
            if not self.skip_dir(entry, rel, ignores):
                self.walk(entry.path, rel, ignores)
            return
        if not is_file:
            if entry.is_symlink() and not os.path.exists(entry.path):
                self.found.problems.append(f"{rel}: broken symlink, skipped")
            return
        if not self.included(entry.name):
            return
        if _matches_any(rel, self.pruned) or any(i.matches(rel, False) for i in ignores):
            return
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            self.found.problems.append(f"{rel!a}: file name is not valid UTF-8, skipped")
            return
        if rel not in self.seen_files:
            self.seen_files.add(rel)
            self.found.scripts.append(rel)


def discover(settings: Settings) -> Discovery:
    """Find the training scripts under `settings.roots`; problems are reported, never raised."""
    walker = _Walker(settings)
    for root in settings.roots:
        start = (settings.root / root).resolve()     # checked to be inside the root by settings_from
        if not start.is_dir():
            walker.found.problems.append(f"{root}: configured root is not a directory, skipped")
            continue
        # .gitignore files above a configured sub-root still apply.
        inherited = []
        if settings.respect_gitignore and start != settings.root:
            top = _read_gitignore(walker.root, "", walker.found)
            inherited = [top] if top else []
        rel = walker.relative(str(start))
        walker.walk(str(start), "" if rel == "." else rel, inherited)
    walker.found.scripts.sort()
    return walker.found
