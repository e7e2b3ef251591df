"""`--list` without planning: a listing is printed again, from the user's cache folder
(`$XDG_CACHE_HOME/runall/listings/`, default `~/.cache`), while nothing it was made from has
changed.

A `--list` whose output is not a terminal records what it reads, through an audit hook and
`os.stat`: every file it opens or asks the size and time of (pyproject.toml, the job file,
each .gitignore, every Python file discovery judges) and every folder it lists. When it succeeds (exit 0) with nothing on stderr (and the flag cache is on), its
output is stored with the state of those inputs, plus the scripts listed, runall's own
source files and the packages it imported: a file's type, size and modification time (or
that it is missing), a folder's (its time changes when an entry is added, removed or
renamed) and those of the folders in it (a skipped one, e.g. a virtual environment, could
start to count). The same command line, from the same folder, interpreter and environment,
then checks those with a few dozen `stat` calls and prints the stored output, importing
nothing else. Inputs changed in the last two seconds are never trusted: file-system clocks
can be coarse. Any doubt (a missing, unreadable or foreign cache) means the full `--list`.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False           # typing itself is not imported: a replay imports nothing it can avoid
if TYPE_CHECKING:
    from typing import Callable

FORMAT = 1
KEEP = 8                            # listings kept, one per command line
RACY_NS = 2_000_000_000
_VOLATILE = frozenset({"_", "OLDPWD", "PWD", "SHLVL"})   # shell bookkeeping, not the command's input

_seen: dict[str, set[str]] | None = None     # while recording: files opened and folders listed
_argv: list[str] = []                        # ... by this command line
_kept: tuple[str, str, list[str]] | None = None   # the listing it printed: (root, text, scripts)


def cacheable(argv: list[str]) -> bool:
    """A `--list` (spelled out) with the flag cache on, printing to something not a terminal."""
    return "--list" in argv and "--no-cache" not in argv and not sys.stdout.isatty()


def replay(argv: list[str]) -> bool:
    """Print the stored listing of this command line if nothing it was made from has changed."""
    if not cacheable(argv):
        return False
    root = _root(argv)
    if root is None:
        return False
    import json

    try:
        with open(_cache_file(root), encoding="utf-8") as handle:
            data = json.load(handle)
        key = _key(argv)
        entry = next(e for e in data["entries"] if data["format"] == FORMAT and e["key"] == key)
        if any(_state(path) != state for path, state in entry["inputs"].items()):
            return False
        text = entry["stdout"]
    except (OSError, ValueError, KeyError, TypeError, StopIteration, AttributeError):
        return False
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:         # `--list | head`: the reader went away, as the CLI treats it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return True


def record(argv: list[str]) -> None:
    """Note, from now on, every file opened and folder listed, when `argv` may be stored."""
    global _seen, _argv
    if cacheable(argv) and _seen is None:
        _seen, _argv = {"files": set(), "folders": set()}, list(argv)
        sys.addaudithook(_audit)
        sys.stderr = _Watched(sys.stderr)
        os.stat, os.lstat = _noting(os.stat), _noting(os.lstat)    # stat has no audit event


def recording() -> bool:
    return _seen is not None


def keep(root: os.PathLike[str] | str, text: str, scripts: list[str]) -> None:
    """Hold `text` as the listing of the command line being recorded, with what it was made from
    besides what was read (the scripts listed); `commit` stores it once the command succeeded."""
    global _kept
    if _seen is not None:
        _kept = (os.fspath(root), text, list(scripts))


def commit() -> None:
    """Store the listing held by `keep`, unless something went to stderr or an input changed
    too recently to be trusted. Failures are ignored: it is a cache."""
    global _seen, _kept
    seen, _seen, argv, kept, _kept = _seen, None, _argv, _kept, None
    os.stat, os.lstat = getattr(os.stat, "__wrapped__", os.stat), getattr(os.lstat, "__wrapped__", os.lstat)
    if seen is None or kept is None or getattr(sys.stderr, "written", True):
        return
    root, text, scripts = kept
    paths = {p for p in seen["files"] if _input(p, root)} | set(scripts) | _code_files()
    folders = {p for p in seen["folders"] if _input(p, root)}
    for folder in list(folders):
        try:
            with os.scandir(folder) as entries:
                folders.update(e.path for e in entries if e.is_dir() and _input(e.path, root))
        except OSError:
            pass
    inputs = {path: _state(path) for path in sorted(paths | folders)}
    newest = max((state[2] for state in inputs.values() if state), default=0)
    if newest > time.time_ns() - RACY_NS:
        return
    import json

    path = _cache_file(root)
    try:
        with open(path, encoding="utf-8") as handle:
            entries = [e for e in json.load(handle)["entries"] if e["key"] != _key(argv)]
    except (OSError, ValueError, KeyError, TypeError):
        entries = []
    entries = [*entries[-(KEEP - 1):], {"key": _key(argv), "inputs": inputs, "stdout": text}]
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"format": FORMAT, "entries": entries}, handle)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


class _Watched:
    """stderr, noting whether anything was written to it."""

    def __init__(self, stream: object) -> None:
        self._stream = stream
        self.written = False

    def write(self, text: str) -> int:
        self.written = self.written or bool(text)
        return self._stream.write(text)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _noting(stat: Callable[..., os.stat_result]) -> Callable[..., os.stat_result]:
    """`os.stat` (or `lstat`) that notes each path asked about while recording: discovery and the
    caches decide by a file's size and time without opening it."""
    def noted(path: object, *args: object, **kwargs: object) -> os.stat_result:
        seen = _seen
        if seen is not None and isinstance(path, (str, os.PathLike)) and kwargs.get("dir_fd") is None:
            name = os.fspath(path)
            if isinstance(name, str):
                seen["files"].add(os.path.abspath(name))
        return stat(path, *args, **kwargs)

    noted.__wrapped__ = stat  # type: ignore[attr-defined]
    return noted


def _audit(event: str, args: tuple[object, ...]) -> None:
    seen = _seen
    if seen is None:
        return
    if event == "open":
        path, mode, flags = args
        reading = (mode is None and isinstance(flags, int) and flags & os.O_ACCMODE == os.O_RDONLY) or (
            isinstance(mode, str) and not set(mode) & set("wax+"))
        if isinstance(path, str) and reading:
            seen["files"].add(os.path.abspath(path))
    elif event in ("os.scandir", "os.listdir") and isinstance(args[0], str):
        seen["folders"].add(os.path.abspath(args[0]))


def _state(path: str) -> list[int] | None:
    """Type, size and modification time (ns) of a path (following links); None when missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mode, st.st_size, st.st_mtime_ns]


def _key(argv: list[str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in _VOLATILE}
    return {"argv": list(argv), "cwd": os.getcwd(), "python": sys.executable, "version": sys.version, "env": env}


def _root(argv: list[str]) -> str | None:
    """The repository root as the CLI finds it: `--root DIR`, else the nearest folder at or above
    the current one with pyproject.toml or .git (None when argv names it another way)."""
    for i, arg in enumerate(argv):
        if arg == "--root":
            return os.path.abspath(argv[i + 1]) if i + 1 < len(argv) else None
        if arg.startswith("--root="):
            return os.path.abspath(arg.split("=", 1)[1])
        if arg.startswith("--ro") and "--root".startswith(arg.split("=", 1)[0]):
            return None                         # an abbreviation: leave it to the full path
    folder = os.getcwd()
    while True:
        if os.path.isfile(os.path.join(folder, "pyproject.toml")) or os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return os.getcwd()
        folder = parent


def _cache_file(root: str) -> str:
    """Where the listings of a repository are kept: outside it, one file per repository."""
    import zlib

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = f"{os.path.basename(root) or 'root'}-{zlib.crc32(root.encode('utf-8', 'surrogateescape')):08x}.json"
    return os.path.join(base, "runall", "listings", name)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _input(path: str, root: str) -> bool:
    """Whether a path the command read is an input of the listing: inside the repository, but
    not the interpreter's own files nor bytecode caches (read by imports, not by runall)."""
    return _inside(path, root) and not (path != sys.prefix and _inside(path, sys.prefix)) and (
        "__pycache__" not in path.split(os.sep))


def _code_files() -> set[str]:
    """runall's own modules and the top of every other package imported from site-packages: an
    edit or an upgrade changes them."""
    here = os.path.dirname(os.path.abspath(__file__))
    files = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        if _inside(path, here) or ("site-packages" in path and "." not in name):
            files.add(os.path.abspath(path))
    return files
