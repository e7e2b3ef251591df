"""Discovery: walk the configured roots and decide, for each Python file, whether it is a training
script — pruning before descending, and keeping a one-line reason for every decision.

A file is taken when it is a training entry point (`runall.plan.entry_points`): it has an entry
point and trains, by its name or by the code its entry point runs. Before any file is read,
paths decide what they can: `exclude`/`legacy` patterns, `.gitignore`, virtual environments and
build output, tests and docs folders, test files, `setup.py`, and names that announce another
kind of script (eval*, predict*, export*, ...). A file matching an `include` pattern is taken
whenever it is an entry point: the name heuristics and the training search are skipped for it,
but exclusions still win. Facts read from a file are cached by content (`.runall-cache/`).
"""

from __future__ import annotations

import fnmatch
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

from runall.plan.entry_points import FACTS_VERSION, Facts, name_says, read_facts
from runall.plan.flags.cache import ContentCache
from runall.plan.settings import DEFAULT_SKIP_DIRS, Settings
from runall.plan.sources import Sources

TEST_DIRS = frozenset({"tests", "test", "testing"})
DOC_DIRS = frozenset({"docs", "doc"})
BENCHMARK_DIRS = frozenset({"benchmarks", "benchmark"})
# Folders whose Python files are not training scripts, by the folder's name -> what they hold.
SET_ASIDE_DIRS = {**dict.fromkeys(TEST_DIRS, "tests"), **dict.fromkeys(DOC_DIRS, "docs"),
                  **dict.fromkeys(BENCHMARK_DIRS, "benchmarks")}
CACHE_VERSION = f"1:{FACTS_VERSION}"


@dataclass(frozen=True)
class Decision:
    """Why one file (or a whole directory, path ending in `/`) was or was not taken."""

    path: str
    taken: bool
    reason: str      # one line, e.g. "entry point (__main__ block), no training call found"
    kind: str        # the reason without its particulars, for counting

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "taken": self.taken, "reason": self.reason}


@dataclass
class Discovery:
    """Scripts found (POSIX paths relative to the root, sorted), problems met, every decision."""

    scripts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    @property
    def files_looked_at(self) -> int:
        return sum(1 for d in self.decisions if not d.path.endswith("/"))

    def commonest(self, count: int = 3) -> list[tuple[str, int]]:
        """The most frequent reasons files were not taken, with how many files each."""
        kinds = Counter(d.kind for d in self.decisions if not d.taken and not d.path.endswith("/"))
        return kinds.most_common(count)


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


def _matching(rel: str, patterns: tuple[tuple[str, str], ...]) -> tuple[str, str] | None:
    """The first (pattern, origin) whose pattern `rel` equals, lies under, or glob-matches; a
    pattern without `/` also matches the file name alone."""
    name = rel.rsplit("/", 1)[-1]
    for pattern, origin in patterns:
        bare = pattern.strip("/")
        if (rel == bare or rel.startswith(bare + "/") or fnmatch.fnmatch(rel, bare)
                or ("/" not in bare and fnmatch.fnmatch(name, bare))):
            return pattern, origin
    return None


def _path_rule(rel: str) -> tuple[str, str] | None:
    """(reason, kind) when the path alone says a file is not a training script."""
    name = rel.rsplit("/", 1)[-1]
    if name.startswith("test_") or name.endswith(("_test.py", "_tests.py")) or name in (
            "test.py", "tests.py", "conftest.py"):
        return f"test file: {name}", "test file"
    if name == "setup.py":
        return "packaging script: setup.py", "packaging script"
    if name == "__init__.py":
        return "package __init__.py", "package __init__.py"
    return None


class _Walker:
    """One discovery pass; keeps the state a recursive walk needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = str(settings.root)
        self.found = Discovery()
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: set[str] = set()
        where = "[tool.runall]" if settings.source != "defaults" else "default"
        self.pruned = (tuple((p, f"{where} legacy") for p in settings.legacy)
                       + tuple((p, f"{where} exclude") for p in settings.exclude)
                       + tuple((p, "--exclude-path") for p in settings.exclude_cli)
                       + ((settings.runs_dir, "runs_dir"), (settings.output_base, "output_base")))
        self.included = (tuple((p, "[tool.runall] include") for p in settings.include)
                         + tuple((p, "--include") for p in settings.include_cli))
        self.sources = Sources(settings.root)
        self.cache = ContentCache(settings.root / ".runall-cache" / "discovery.json" if settings.cache else None,
                                  CACHE_VERSION)

    def relative(self, path: str) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def note(self, path: str, taken: bool, reason: str, kind: str) -> None:
        self.found.decisions.append(Decision(path, taken, reason, kind))

    def skip_dir(self, entry: os.DirEntry, rel: str, ignores: list[_Ignore]) -> bool:
        """True when the walk must not enter this directory (noted with its reason when worth showing)."""
        name = entry.name
        if name in DEFAULT_SKIP_DIRS or name.endswith(".egg-info"):
            if not name.startswith(".") and name != "__pycache__":
                self.note(rel + "/", False, f"build or tool directory: {name}/", "build or tool directory")
            return True
        matched = _matching(rel, self.pruned)
        if matched:
            self.note(rel + "/", False, f"excluded by {matched[1]} = {matched[0]!r}", "excluded")
            return True
        if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
            self.note(rel + "/", False, "virtual environment (pyvenv.cfg)", "virtual environment")
            return True
        if any(ignore.matches(rel, True) for ignore in ignores):
            self.note(rel + "/", False, "ignored by .gitignore", "ignored by .gitignore")
            return True
        if not self.included and name in SET_ASIDE_DIRS:
            folder = SET_ASIDE_DIRS[name]
            self.note(rel + "/", False, f"under {name}/ ({folder} folder)", f"under {folder}/")
            return True
        return False

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
        if is_dir:
            if not self.skip_dir(entry, rel, ignores):
                self.walk(entry.path, rel, ignores)
            return
        if not is_file:
            if entry.is_symlink() and not os.path.exists(entry.path):
                self.found.problems.append(f"{rel}: broken symlink, skipped")
            return
        if not entry.name.endswith(".py"):
            return
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            self.found.problems.append(f"{rel!a}: file name is not valid UTF-8, skipped")
            return
        if rel in self.seen_files:
            return
        self.seen_files.add(rel)
        decision = self.decide(rel, entry.path, ignores)
        self.found.decisions.append(decision)
        if decision.taken:
            self.found.scripts.append(rel)

    def decide(self, rel: str, path: str, ignores: list[_Ignore]) -> Decision:
        """Taken or not, and why, for the Python file `rel`."""
        excluded = _matching(rel, self.pruned)
        if excluded:
            return Decision(rel, False, f"excluded by {excluded[1]} = {excluded[0]!r}", "excluded")
        if any(ignore.matches(rel, False) for ignore in ignores):
            return Decision(rel, False, "ignored by .gitignore", "ignored by .gitignore")
        included = _matching(rel, self.included)
        says = name_says(rel)
        if included is None:
            parts = rel.split("/")[:-1]
            folder = next((p for p in parts if p in SET_ASIDE_DIRS), None)
            if folder:
                return Decision(rel, False, f"under {folder}/ ({SET_ASIDE_DIRS[folder]} folder)",
                                f"under {SET_ASIDE_DIRS[folder]}/")
            by_path = _path_rule(rel)
            if by_path:
                return Decision(rel, False, *by_path)
            if says and says[0] != "train":
                return Decision(rel, False, f"{says[0]}: name {says[1]}*", says[0])
        named_training = says is not None and says[0] == "train"
        facts = self.facts(rel, Path(path), need_training=included is None and not named_training)
        if facts.error:
            return Decision(rel, False, facts.error, facts.error.split(" (")[0].split(":")[0])
        if facts.entry is None:
            if facts.config:
                return Decision(rel, False, "configuration file: assignments only", "configuration file")
            return Decision(rel, False, "no entry point", "no entry point")
        if included:
            return Decision(rel, True, f"matches {included[1]} = {included[0]!r}; entry point ({facts.entry})",
                            "taken")
        if facts.driver:
            return Decision(rel, False, facts.driver, facts.driver.split(":")[0].split(" (")[0])
        if named_training:
            return Decision(rel, True, f"entry point ({facts.entry}); training name: {says[1]}", "taken")
        if facts.trains:
            return Decision(rel, True, f"entry point ({facts.entry}); trains: {facts.trains}", "taken")
        return Decision(rel, False, f"entry point ({facts.entry}), no training call found",
                        "entry point, no training call found")

    def facts(self, rel: str, path: Path, need_training: bool) -> Facts:
        """The file's facts: from the cache when it and every file they depended on are unchanged."""
        known = self.cache.known_digest(path)
        if known is not None:
            cached = self._cached(rel, known, need_training)
            if cached is not None:
                return cached
        found = self.cache.read(path)
        if found is None:
            return Facts(error="unreadable file")
        digest, data = found
        if digest != known:
            cached = self._cached(rel, digest, need_training)
            if cached is not None:
                return cached
        facts = read_facts(path, data, self.sources, need_training)
        self.cache.put(rel, {"digest": digest, "training": need_training, "facts": facts.to_dict()})
        return facts

    def _cached(self, rel: str, digest: str, need_training: bool) -> Facts | None:
        entry = self.cache.get(rel)
        if not isinstance(entry, dict) or entry.get("digest") != digest:
            return None
        if need_training and not entry.get("training"):
            return None
        try:
            facts = Facts.from_dict(entry["facts"])
        except (KeyError, TypeError):
            self.cache.drop(rel)
            return None
        root = self.settings.root
        if any(self.cache.digest(root / dep) != sha for dep, sha in facts.deps.items()):
            return None
        return facts


def discover(settings: Settings) -> Discovery:
    """Find the training scripts under `settings.roots`; problems are reported, never raised."""
    walker = _Walker(settings)
    for root in settings.roots:
        start = settings.inside_root(root, "roots")
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
    walker.cache.save()
    walker.found.problems.extend(walker.cache.warnings)
    walker.found.scripts.sort()
    return walker.found
