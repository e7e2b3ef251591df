"""Flag results cached by the content of every file they were read from.

A script's result depends on the script and on every file the analysis read: the repository
modules it imports, Hydra's YAML files, an installed package's source. The cache is one JSON
file (`Settings.cache_dir / "flags.json"`, outside the repository):

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


class FlagCache:
    """Flag results of one repository (`root`), cached in a JSON file; `path=None` disables it."""

    def __init__(self, path: Path | None, root: Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.root = Path(root).resolve() if root is not None else None
        self.warnings: list[str] = []
        self._entries: dict[str, dict[str, Any]] = {}
        self._stats: dict[str, list[Any]] = {}
        self._used: set[str] = set()
        self._dirty = False
        self._sources: Any = None
        if self.path is not None:
            self._load(self.path)

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
        entry = self._entries.get(name)
        if entry is not None and self.path is not None and self._fresh(entry.get("files", {})):
            try:
                result = ScriptFlags.from_dict({**entry["result"], "path": str(script), "files": entry["files"]})
            except (KeyError, TypeError, ValueError, AttributeError):
                result = None
            if result is not None:
                self._used.add(name)
                return result
        result = compute()
        if self.path is not None and result.files:
            stored = result.to_dict()
            for repeated in ("path", "files", "known"):
                del stored[repeated]
            self._entries[name] = {"files": dict(result.files), "result": stored}
            self._used.add(name)
            self._dirty = True
            for file in result.files:
                self._digest(file)
        return result

    def save(self) -> None:
        """Write the cache atomically (temporary file, then rename), only if something changed."""
        if self.path is None or not self._dirty:
            return
        payload = {"version": VERSION, "entries": {k: e for k, e in self._entries.items() if k in self._used},
                   "stats": self._stats}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(tmp, "w", encoding="utf-8") as handle:
                    handle.write(json.dumps(payload, separators=(",", ":")))   # one shot: the C encoder
                os.replace(tmp, self.path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except OSError as exc:
            self.warnings.append(f"{self.path}: cache not written: {exc.strerror or exc}")
            return
        self._dirty = False

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

    def _fresh(self, files: dict[str, str]) -> bool:
        return bool(files) and all(self._digest(name) == digest for name, digest in files.items())

    def _digest(self, path: str) -> str | None:
        """The file's sha256, from its stats row when size and mtime are unchanged."""
        try:
            stat = os.stat(path)
        except OSError:
            return None
        row = self._stats.get(path)
        if row and row[0] == stat.st_size and row[1] == stat.st_mtime_ns:
            return row[2]
        try:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return None
        if time.time_ns() - stat.st_mtime_ns < _RACY_NS:
            if self._stats.pop(path, None) is not None:
                self._dirty = True
        elif row != [stat.st_size, stat.st_mtime_ns, digest]:
            self._stats[path] = [stat.st_size, stat.st_mtime_ns, digest]
            self._dirty = True
        return digest

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            self.warnings.append(f"{path}: cache ignored: {exc}")
            return
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return
        entries, stats = data.get("entries"), data.get("stats")
        if isinstance(entries, dict) and isinstance(stats, dict):
            self._entries = {k: e for k, e in entries.items() if isinstance(e, dict)}
            self._stats = {k: v for k, v in stats.items() if _valid_row(v)}
        else:
            self.warnings.append(f"{path}: cache ignored: unexpected layout")


def _valid_row(row: Any) -> bool:
    return (isinstance(row, list) and len(row) == 3 and isinstance(row[0], int)
            and isinstance(row[1], int) and isinstance(row[2], str))
