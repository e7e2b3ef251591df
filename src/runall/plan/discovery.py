"""Discovery: walk the configured roots and decide, for each Python file, whether it is a training
script — pruning before descending, and keeping a one-line reason for every decision.

A file is taken when it is a training entry point (`runall.plan.entry_points`): it has an entry
point and trains, by its name or by the code its entry point runs. Before any file is read,
paths decide what they can: `exclude`/`legacy` patterns, `.gitignore`, virtual environments and
build output, tests and docs folders, test files, `setup.py`, and names that announce another
kind of script (eval*, predict*, export*, ...). A file matching an `include` pattern is taken
whenever it is an entry point: the name heuristics and the training search are skipped for it,
but exclusions still win. What was read is cached by content (`Settings.cache_dir`, outside
the repository).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import pathspec

from runall.plan.entry_points import RULES_VERSION, Facts, Reader, may_say_something, name_says
from runall.plan.flags.cache import ContentCache
from runall.plan.settings import DEFAULT_SKIP_DIRS, Settings
from runall.plan.sources import Sources

TEST_DIRS = frozenset({"tests", "test", "testing"})
DOC_DIRS = frozenset({"docs", "doc"})
BENCHMARK_DIRS = frozenset({"benchmarks", "benchmark"})
# Folders whose Python files are not training scripts, by the folder's name -> what they hold.
SET_ASIDE_DIRS = {**dict.fromkeys(TEST_DIRS, "tests"), **dict.fromkeys(DOC_DIRS, "docs"),
                  **dict.fromkeys(BENCHMARK_DIRS, "benchmarks")}
CACHE_VERSION = f"1:{RULES_VERSION}"
_DIGEST_CHARS = 24        # of the sha256 kept per file: enough to tell a changed file
_RACY_NS = 2_000_000_000  # a file modified this recently may change again without its mtime changing
_NO_FACTS = Facts()       # a file that is not an entry point (shared, never changed)


class Decision(NamedTuple):
    """Why one file (or a whole directory, path ending in `/`) was or was not taken."""

    path: str
    taken: bool
    reason: str      # one line, e.g. "entry point (__main__ block), no training call found"
    kind: str        # the reason without its particulars, for counting

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "taken": self.taken, "reason": self.reason}


@dataclass
class Discovery:
    """Scripts found (POSIX paths relative to the root, sorted), problems met, every decision
    (in walk order)."""

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


class _Ignore:
    """A `.gitignore` file's patterns, anchored at the directory holding it."""

    def __init__(self, base: str, spec: pathspec.PathSpec, text: str) -> None:
        self.base = base
        self.spec = spec
        self.signature = f"{base}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"  # for cached decisions
        # Without negated patterns, "ignored" is "some pattern matches": test the regexes directly
        # (every Python file is checked, so pathspec's per-call normalisation adds up).
        used = [p for p in spec.patterns if p.include is not None]
        regexes = [getattr(p, "regex", None) for p in used]
        self._match = None
        if all(p.include for p in used) and all(isinstance(r, re.Pattern) for r in regexes):
            try:   # one regex for all patterns (group names dropped: they would repeat)
                self._match = re.compile("|".join(
                    f"(?:{re.sub(r'[(][?]P<[^>]+>', '(?:', r.pattern)})" for r in regexes) or "(?!)").match
            except re.error:
                self._match = None

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.base:
            if not rel.startswith(self.base + "/"):
                return False
            rel = rel[len(self.base) + 1:]
        path = rel + "/" if is_dir else rel
        if self._match is not None:
            return self._match(path) is not None
        return self.spec.match_file(path)


def _read_gitignore(directory: str, base: str, found: Discovery) -> _Ignore | None:
    path = os.path.join(directory, ".gitignore")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        import pathspec  # only when a .gitignore exists: keeps start-up fast

        return _Ignore(base, pathspec.GitIgnoreSpec.from_lines(text.splitlines()), text)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        found.problems.append(f"{path}: unreadable .gitignore ignored ({exc})")
        return None


class _Patterns:
    """Path patterns with where each came from. A pattern matches a path (relative to the root)
    equal to it, under it, or matching it as a glob (`*` crosses `/`); with `names`, a pattern
    without `/` also matches a file name at any depth (`train_*.py`)."""

    def __init__(self, patterns: tuple[tuple[str, str], ...], names: bool = False) -> None:
        self.written = patterns
        self.names = names
        self.patterns = tuple((p.strip("/"), p, origin) for p, origin in patterns)
        alternatives = [rf"{re.escape(bare)}(?:/.*)?" for bare, _, _ in self.patterns]
        alternatives += [fnmatch.translate(bare)[:-2] for bare, _, _ in self.patterns]   # drop \Z, anchored below
        self._any_path = re.compile(rf"(?s:{'|'.join(alternatives)})\Z").match if alternatives else None
        bare_names = [fnmatch.translate(bare)[:-2] for bare, _, _ in self.patterns if names and "/" not in bare]
        self._any_name = re.compile(rf"(?s:{'|'.join(bare_names)})\Z").match if bare_names else None

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, rel: str) -> tuple[str, str] | None:
        """(pattern as written, origin) of the first pattern matching `rel`, or None."""
        name = rel.rsplit("/", 1)[-1]
        if not ((self._any_path and self._any_path(rel)) or (self._any_name and self._any_name(name))):
            return None
        for bare, written, origin in self.patterns:
            if (rel == bare or rel.startswith(bare + "/") or fnmatch.fnmatchcase(rel, bare)
                    or (self.names and "/" not in bare and fnmatch.fnmatchcase(name, bare))):
                return written, origin
        return None


def _path_rule(name: str) -> tuple[str, str] | None:
    """(reason, kind) when the file name alone says a file is not a training script."""
    if name.startswith("test_") or name.endswith(("_test.py", "_tests.py")) or name in (
            "test.py", "tests.py", "conftest.py"):
        return f"test file: {name}", "test file"
    if name == "setup.py":
        return "packaging script: setup.py", "packaging script"
    if name == "__init__.py":
        return "package __init__.py", "package __init__.py"
    return None


class _Walker:
    """One discovery pass; keeps the state a recursive walk needs.

    The cache (`discovery.json` in `Settings.cache_dir`) holds one entry per directory walked,
    `"dir:<rel>" -> {"sig": ..., "files": {name: row}}`, a row being
    `[size, mtime_ns, sha256 (first 24 hex digits), searched for training (1), not read (-1) or
    not searched (0), Facts.compact(), taken, reason, kind (null: same as reason)]`. A file whose
    size and mtime match its row keeps its decision while the settings and .gitignore files
    around it (`sig`) are unchanged, and keeps its facts otherwise; facts that depended on other
    files also need those files unchanged.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = str(settings.root)
        self.real_root = os.path.realpath(self.root)
        self.found = Discovery()
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: set[str] = set()
        self.several_roots = len(settings.roots) > 1
        self.pruned = _Patterns(tuple((p, "[tool.runall] legacy") for p in settings.legacy)
                                + tuple((p, "[tool.runall] exclude") for p in settings.exclude)
                                + tuple((p, "--exclude-path") for p in settings.exclude_cli)
                                + tuple((p, key) for key in ("runs_dir", "output_base")
                                        for p in [settings.shown(getattr(settings, key))]
                                        if p != "." and not p.startswith("/")))     # when inside the repository
        # Directories matching a pattern are pruned before descending: files need only the patterns
        # that can match a file itself (globs, or paths ending in .py).
        self.pruned_files = _Patterns(tuple((p, origin) for p, origin in self.pruned.written
                                            if any(c in p for c in "*?[") or p.endswith(".py")))
        self.included = _Patterns(tuple((p, "[tool.runall] include") for p in settings.include)
                                  + tuple((p, "--include") for p in settings.include_cli), names=True)
        self.signature = repr((self.pruned_files.written, self.included.written))
        self.reader = Reader(Sources(settings.root))
        self.cache = ContentCache(settings.cache_dir / "discovery.json" if settings.cache else None, CACHE_VERSION)

    def inside(self, path: str) -> bool:
        """True when `path`, links followed, lies inside the repository."""
        real = os.path.realpath(path)
        return real == self.real_root or real.startswith(self.real_root + os.sep)

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
        matched = self.pruned.match(rel)
        if matched:
            self.note(rel + "/", False, f"excluded by {matched[1]} = {matched[0]!r}", "excluded")
            return True
        if any(ignore.matches(rel, True) for ignore in ignores):
            self.note(rel + "/", False, "ignored by .gitignore", "ignored by .gitignore")
            return True
        if not self.included and name in SET_ASIDE_DIRS:
            folder = SET_ASIDE_DIRS[name]
            self.note(rel + "/", False, f"under {name}/ ({folder} folder)", f"under {folder}/")
            return True
        return False

    def walk(self, directory: str, rel: str, ignores: list[_Ignore], aside: str | None = None) -> None:
        """Visit `directory`, whose path relative to the root is `rel` ("" for the root); `aside` is
        the tests/docs/benchmarks folder it lies in, if any (entered only when includes are set)."""
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
        try:
            with os.scandir(directory) as entries:
                listing = list(entries)     # in directory order: the decisions are sorted when shown
        except OSError as exc:
            self.found.problems.append(f"{shown}: unreadable directory ({exc.strerror})")
            return
        names = [entry.name for entry in listing]
        if rel and "pyvenv.cfg" in names:   # a virtual environment, whatever its name (seen once inside)
            self.note(rel + "/", False, "virtual environment (pyvenv.cfg)", "virtual environment")
            return
        if self.settings.respect_gitignore and ".gitignore" in names:
            own = _read_gitignore(directory, rel, self.found)
            ignores = ignores + [own] if own else ignores
        memo_key = f"dir:{rel}"
        memo = self.cache.get(memo_key)
        rows = memo.get("files") if isinstance(memo, dict) else None
        rows = rows if isinstance(rows, dict) else {}
        sig = f"{self.signature}|{aside}|" + "|".join(i.signature for i in ignores)
        same = isinstance(memo, dict) and memo.get("sig") == sig
        kept: dict[str, list] = {}
        prefix = f"{rel}/" if rel else ""
        for entry in listing:
            name = entry.name
            try:
                is_py = name.endswith(".py") and entry.is_file()
                is_dir = not is_py and entry.is_dir()
            except OSError as exc:
                self.found.problems.append(f"{prefix}{name}: cannot stat ({exc.strerror})")
                continue
            if (is_py or is_dir) and entry.is_symlink() and not self.inside(entry.path):
                self.found.problems.append(f"{prefix}{name}: links outside the repository, skipped")
            elif is_py:
                self.file(entry, prefix + name, ignores, aside, rows.get(name), same, kept)
            elif is_dir:
                if not self.skip_dir(entry, prefix + name, ignores):
                    self.walk(entry.path, prefix + name, ignores, aside or (name if name in SET_ASIDE_DIRS else None))
            elif entry.is_symlink() and not os.path.exists(entry.path):
                self.found.problems.append(f"{prefix}{name}: broken symlink, skipped")
        if kept != rows or not same:
            self.cache.put(memo_key, {"sig": sig, "files": kept})

    def file(self, entry: os.DirEntry, rel: str, ignores: list[_Ignore], aside: str | None,
             row: list | None, same: bool, kept: dict[str, list]) -> None:
        """Decide one Python file, from its cached row when that still holds."""
        if not rel.isascii():
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                self.found.problems.append(f"{rel!a}: file name is not valid UTF-8, skipped")
                return
        if self.several_roots:          # overlapping roots would meet a file twice
            if rel in self.seen_files:
                return
            self.seen_files.add(rel)
        valid = isinstance(row, list) and len(row) == 8 and isinstance(row[4], dict)
        if valid and same and row[3] == -1:      # decided by its path alone, content never read
            self.found.decisions.append(Decision(rel, row[5], row[6], row[7] or row[6]))
            kept[entry.name] = row
            return
        try:
            stat = entry.stat()
        except OSError as exc:
            self.found.problems.append(f"{rel}: cannot stat ({exc.strerror})")
            return
        fresh = (valid and row[0] == stat.st_size and row[1] == stat.st_mtime_ns
                 and (not row[4] or self._deps_hold(row[4])))
        if fresh and same:
            decision = Decision(rel, row[5], row[6], row[7] or row[6])
            kept[entry.name] = row
        else:
            lookup = _FactsLookup(self, entry.path, stat, row[2:5] if valid else None, fresh)
            decision = self.decide(rel, ignores, aside, lookup)
            if not lookup.racy:
                kept[entry.name] = [stat.st_size, stat.st_mtime_ns, *lookup.row(), decision.taken, decision.reason,
                                    None if decision.kind == decision.reason else decision.kind]
        self.found.decisions.append(decision)
        if decision.taken:
            self.found.scripts.append(rel)

    def _deps_hold(self, facts: dict) -> bool:
        deps = facts.get("deps")
        return not deps or all(self.cache.digest(os.path.join(self.root, dep)) == sha for dep, sha in deps.items())

    def decide(self, rel: str, ignores: list[_Ignore], aside: str | None, lookup: _FactsLookup) -> Decision:
        """Taken or not, and why, for the Python file `rel` (in folder `aside`, see `walk`)."""
        excluded = self.pruned_files.match(rel) if self.pruned_files else None
        if excluded:
            return Decision(rel, False, f"excluded by {excluded[1]} = {excluded[0]!r}", "excluded")
        for ignore in ignores:
            if ignore.matches(rel, False):
                return Decision(rel, False, "ignored by .gitignore", "ignored by .gitignore")
        included = self.included.match(rel) if self.included else None
        name = rel.rsplit("/", 1)[-1]
        telling = may_say_something(name[:-3])
        says = name_says(rel) if telling else None
        if included is None:
            if aside:
                return Decision(rel, False, f"under {aside}/ ({SET_ASIDE_DIRS[aside]} folder)",
                                f"under {SET_ASIDE_DIRS[aside]}/")
            by_path = _path_rule(name) if telling else None
            if by_path:
                return Decision(rel, False, *by_path)
            if says and says[0] != "train":
                return Decision(rel, False, f"{says[0]}: name {says[1]}*", says[0])
        named_training = says is not None and says[0] == "train"
        facts = lookup.facts(need_training=included is None and not named_training)
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


class _FactsLookup:
    """A file's facts, read only when a decision needs them: from the cached row when its content
    is unchanged and they covered the question, else from the file."""

    def __init__(self, walker: _Walker, path: str, stat: os.stat_result, cached: list | None,
                 fresh: bool) -> None:
        self.walker = walker
        self.path = path
        self.racy = time.time_ns() - stat.st_mtime_ns < _RACY_NS   # may still change within the clock's step
        self.digest, self.searched, self.compact = cached if cached else ("", -1, {})
        self.fresh = fresh                 # size and mtime match the cached row

    def facts(self, need_training: bool) -> Facts:
        covered = self.searched == 1 or (self.searched == 0 and not need_training)
        if self.fresh and covered:
            return Facts(**self.compact) if self.compact else _NO_FACTS
        found = self.walker.cache.read(self.path, remember=False)
        if found is None:
            self.racy = True          # nothing worth keeping
            return Facts(error="unreadable file")
        digest, data = found
        digest = digest[:_DIGEST_CHARS]
        if digest == self.digest and covered and self.walker._deps_hold(self.compact):
            return Facts(**self.compact) if self.compact else _NO_FACTS
        facts = self.walker.reader.facts(Path(self.path), data, need_training)
        self.digest, self.searched, self.compact = digest, int(need_training), facts.compact()
        return facts

    def row(self) -> list:
        return [self.digest, self.searched, self.compact]


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
        rel = "" if rel == "." else rel
        excluded = walker.pruned.match(rel) if rel else None
        if excluded:
            walker.note(rel + "/", False, f"excluded by {excluded[1]} = {excluded[0]!r}", "excluded")
            continue
        walker.walk(str(start), rel, inherited)
    walker.cache.save()
    walker.found.problems.extend(walker.cache.warnings)
    walker.found.scripts.sort()
    return walker.found
