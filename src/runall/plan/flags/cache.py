"""Sniff results cached by file content hash, so a warm run reads no unchanged script.

The cache is one JSON file (`Settings.cache_dir / "flags.json"`, outside the repository):

    {"version": "1:<analyser version>",
     "entries": {sha256: ScriptFlags.to_dict() without path},
     "stats":   {absolute path: [size, mtime_ns, sha256]}}

A file whose size and mtime match its `stats` row is not read at all; otherwise it is read
and hashed, and only new content is analysed. Rows for files modified in the last two seconds
are not kept (their mtime could still change within the clock's granularity without a size
change). A corrupt, unreadable or unwritable cache is ignored, with a line in `warnings`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from runall.plan.flags.analyser import ANALYSER_VERSION, ScriptFlags, sniff_file, sniff_source

VERSION = f"1:{ANALYSER_VERSION}"
_RACY_NS = 2_000_000_000


class FlagCache:
    """Sniff results cached by file content hash (sha256) in a JSON file; `None` disables it."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.warnings: list[str] = []
        self._version = VERSION
        self._entries: dict[str, dict[str, Any]] = {}
        self._stats: dict[str, list[Any]] = {}
        self._used: set[str] = set()
        self._dirty = False
        if self.path is not None:
            self._load(self.path)

    def sniff(self, script: Path) -> ScriptFlags:
        """What `sniff_file(script)` returns, from the cache when the content is known."""
        if self.path is None:
            return sniff_file(script)
        key = os.path.abspath(script)
        try:
            stat = os.stat(script)
        except OSError:
            return sniff_file(script)
        digest = self._unchanged(key, stat)
        cached = self._lookup(digest, script) if digest else None
        if cached is not None:
            return cached
        try:
            data = Path(script).read_bytes()
        except OSError:
            return sniff_file(script)
        digest = hashlib.sha256(data).hexdigest()
        self._remember_stat(key, stat, digest)
        cached = self._lookup(digest, script)
        if cached is not None:
            return cached
        result = sniff_source(data, str(script))
        entry = result.to_dict()
        del entry["path"]
        self._entries[digest] = entry
        self._used.add(digest)
        self._dirty = True
        return result

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
                    json.dump(payload, handle, separators=(",", ":"))
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

    def _unchanged(self, key: str, stat: os.stat_result) -> str | None:
        row = self._stats.get(key)
        if row and row[0] == stat.st_size and row[1] == stat.st_mtime_ns:
            return row[2]
        return None

    def _remember_stat(self, key: str, stat: os.stat_result, digest: str) -> None:
        if time.time_ns() - stat.st_mtime_ns < _RACY_NS:
            if self._stats.pop(key, None) is not None:
                self._dirty = True
            return
        row = [stat.st_size, stat.st_mtime_ns, digest]
        if self._stats.get(key) != row:
            self._stats[key] = row
            self._dirty = True

    def _lookup(self, digest: str, script: Path) -> ScriptFlags | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        try:
            result = ScriptFlags.from_dict({**entry, "path": str(script)})
        except (KeyError, TypeError, ValueError, AttributeError):
            del self._entries[digest]
            self._dirty = True
            return None
        self._used.add(digest)
        return result


def _valid_row(row: Any) -> bool:
    return (isinstance(row, list) and len(row) == 3 and isinstance(row[0], int)
            and isinstance(row[1], int) and isinstance(row[2], str))
