"""Results cached by the content of every file they were read from.

A script's result depends on the script and on every file the analysis read: the repository
modules it imports, Hydra's YAML files, an installed package's source. The cache is one JSON
file (`Settings.cache_dir / "flags.json"`, outside the repository; `ContentCache` is the storage,
shared with discovery's `discovery.json`):

    {"version": "3:<analyser version>:<roles.py digest>",
     "entries": {script path: {"files": {file: sha256, ...}, "result": ScriptFlags.to_dict() less
                 path, files and known}},
     "stats":   {absolute path: [size, mtime_ns, sha256]}}

An entry is used only when every file it names still has the same content. A file whose size
and mtime match its `stats` row is not read at all; otherwise it is read and hashed. Rows for
files modified in the last two seconds are not kept (their mtime could still change within
the clock's granularity without a size change). A corrupt, unreadable or unwritable cache is
ignored, with a line in `warnings`. `key` tells results apart that the same script can have
(the `--help` probe's, per interpreter).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from runall.plan.flags.model import ScriptFlags

ANALYSER_VERSION = 2   # bump whenever the analyser's output for some source changes


def _roles_digest() -> str:
    """Cached results hold their roles: a change to the role rules must invalidate them."""
    try:
        return hashlib.sha256((Path(__file__).parent / "roles.py").read_bytes()).hexdigest()[:12]
    except OSError:
        return "?"


VERSION = f"3:{ANALYSER_VERSION}:{_roles_digest()}"
_RACY_NS = 2_000_000_000


class ContentCache:
    """Values kept in a JSON file under keys of the caller's choosing, with the sha256 of every
    file seen keyed by its path, size and mtime; `None` as the path disables it."""

    def __init__(self, path: Path | None, version: str) -> None:
        self.path = Path(path) if path is not None else None
        self.warnings: list[str] = []
        self._version = version
        self._entries: dict[str, Any] = {}
        self._stats: dict[str, list[Any]] = {}
        self._used: set[str] = set()
        self._dirty = False
        if self.path is not None:
            self._load(self.path)

    def known_digest(self, file: Path | str) -> str | None:
        """The sha256 recorded for `file` when its size and mtime are unchanged, without reading it
        (a `str` must be an absolute, normalised path: discovery calls this for every file)."""
        row = self._stats.get(file if isinstance(file, str) else os.path.abspath(file))
        if row is None:
            return None
        try:
            stat = os.stat(file)
        except OSError:
            return None
        if row[0] == stat.st_size and row[1] == stat.st_mtime_ns:
            return row[2]
        return None

    def read(self, file: Path | str, remember: bool = True) -> tuple[str, bytes] | None:
        """Read and hash `file` (recording its stat row when `remember`); None when it cannot be read."""
        try:
            stat = os.stat(file)
            data = Path(file).read_bytes()
        except OSError:
            return None
        digest = hashlib.sha256(data).hexdigest()
        if remember:
            self._remember_stat(os.path.abspath(file), stat, digest)
        return digest, data

    def digest(self, file: Path | str) -> str | None:
        """The sha256 of `file`'s content: recorded, or read now; None when unreadable."""
        known = self.known_digest(file)
        if known is not None:
            return known
        found = self.read(file)
        return found[0] if found else None

    def fresh(self, files: Any) -> bool:
        """Whether `files` ({path: sha256}, as stored with a value) all still have that content."""
        return isinstance(files, dict) and bool(files) and all(self.digest(name) == digest
                                                               for name, digest in files.items())

    def get(self, key: str) -> Any:
        """The value stored under `key` (kept at the next save), or None."""
        value = self._entries.get(key)
        if value is not None:
            self._used.add(key)
        return value

    def put(self, key: str, value: Any) -> None:
        self._entries[key] = value
        self._used.add(key)
        self._dirty = True

    def drop(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._dirty = True

    def save(self) -> None:
        """Write the cache atomically (temporary file, then rename), only if something changed."""
        if self.path is None or not self._dirty:
            return
        live = self._used | {row[2] for row in self._stats.values()}
        payload = {"version": self._version,
                   "entries": {h: e for h, e in self._entries.items() if h in live},
                   "stats": self._stats}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(tmp, "w", encoding="utf-8") as handle:
                    handle.write(json.dumps(payload, separators=(",", ":")))   # C encoder: much faster than dump
                os.replace(tmp, self.path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except OSError as exc:
            self.warnings.append(f"{self.path}: cache not written: {exc.strerror or exc}")
            return
        self._dirty = False

    # internals

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            self.warnings.append(f"{path}: cache ignored: {exc}")
            return
        if not isinstance(data, dict) or data.get("version") != self._version:
            return
        entries, stats = data.get("entries"), data.get("stats")
        if isinstance(entries, dict) and isinstance(stats, dict):
            self._entries = entries
            self._stats = {k: v for k, v in stats.items() if _valid_row(v)}
        else:
            self.warnings.append(f"{path}: cache ignored: unexpected layout")

    def _remember_stat(self, key: str, stat: os.stat_result, digest: str) -> None:
        if time.time_ns() - stat.st_mtime_ns < _RACY_NS:
            if self._stats.pop(key, None) is not None:
                self._dirty = True
            return
        row = [stat.st_size, stat.st_mtime_ns, digest]
        if self._stats.get(key) != row:
            self._stats[key] = row
            self._dirty = True


class FlagCache(ContentCache):
    """Flag results of one repository (`root`), cached in a JSON file; `path=None` disables it."""

    def __init__(self, path: Path | None, root: Path | None = None) -> None:
        super().__init__(path, VERSION)
        self.root = Path(root).resolve() if root is not None else None
        self._sources: Any = None

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Read many scripts with the cyclic garbage collector paused, then let the parsed modules
        go: they stay alive while the scripts are read (a module many scripts import is parsed
        once), and scanning them at every full collection took half the time of a cold `--list`
        on 1,000 scripts. Each analysis breaks its own reference cycles, so nothing piles up."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            self._sources = None   # the parsed trees: freed now, not scanned by later collections
            if enabled:
                gc.enable()

    def sniff(self, script: Path) -> ScriptFlags:
        """What the flags stage learns about `script`, from the cache when nothing it read changed."""
        return self.cached(script, "static", lambda: self._analyse(script))

    def cached(self, script: Path, key: str, compute: Callable[[], ScriptFlags]) -> ScriptFlags:
        """`compute()`'s result for `script`, reused while every file it names is unchanged."""
        name = f"{key}:{os.path.abspath(script)}"
        entry = self.get(name) if self.path is not None else None
        if isinstance(entry, dict) and self.fresh(entry.get("files")):
            try:
                return ScriptFlags.from_dict({**entry["result"], "path": str(script), "files": entry["files"]})
            except (KeyError, TypeError, ValueError, AttributeError):
                self.drop(name)
        result = compute()
        if self.path is not None and result.files:
            stored = result.to_dict()
            for repeated in ("path", "files", "known"):
                del stored[repeated]
            self.put(name, {"files": dict(result.files), "result": stored})
            for file in result.files:
                self.digest(file)
        return result

    @property
    def sources(self) -> Any:
        """The repository's parsed modules, shared by every script analysed through this cache."""
        if self._sources is None:
            from runall.plan.sources import Sources

            self._sources = Sources(self.root) if self.root is not None else None
        return self._sources

    # internals

    def _analyse(self, script: Path) -> ScriptFlags:
        from runall.plan.flags.analyse import analyse, sniff_file

        return sniff_file(script) if self.sources is None else analyse(Path(script), self.sources)


def _valid_row(row: Any) -> bool:
    return (isinstance(row, list) and len(row) == 3 and isinstance(row[0], int)
            and isinstance(row[1], int) and isinstance(row[2], str))
