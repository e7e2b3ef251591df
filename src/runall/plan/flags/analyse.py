"""Stage 3, flags: learn which command-line options a training script defines, by reading it.

`analyse(script, sources)` reads the script and what it uses of its repository with the
interpreter (`interpreter.py`, nothing imported or run) and the frameworks it meets
(`frameworks/`), and returns a `ScriptFlags`. A script whose command line exists but cannot be
seen (an option string that is not a literal, a parser handed to code outside the repository,
a call into a module that cannot be read, `sys.argv`, getopt, ...) is `cli == "unknown"`, with
a problem line saying why; a script with no command line at all is `none`.
"""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path

from runall.plan.flags.model import Option, ScriptFlags
from runall.plan.sources import ParsedModule, Sources

def analyse(script: Path, sources: Sources) -> ScriptFlags:
    """What `script` accepts, read inside the repository `sources` holds (a script outside it is
    read alone); never raises."""
    path = str(script)
    parsed = sources.module(script)
    if parsed is None:
        return _unreadable(script, path)
    return _run(sources, parsed, parsed.path.relative_to(sources.root).as_posix(), path)


def sniff_source(source: str | bytes, path: str = "<string>") -> ScriptFlags:
    """Analyse source text alone (no repository around it: every import is external)."""
    data = source.encode() if isinstance(source, str) else source
    try:
        tree = ast.parse(data, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return not_python(path, exc)
    alone = _Alone(Path(path).resolve().parent)
    parsed = ParsedModule(Path(path).resolve(), tree, data, hashlib.sha256(data).hexdigest())
    return _run(alone, parsed, Path(path).name, path)


def sniff_file(path: Path, root: Path | None = None) -> ScriptFlags:
    """Analyse one file inside repository `root` (default: the file's own folder)."""
    path = Path(path)
    return analyse(path, Sources(Path(root) if root is not None else path.resolve().parent))


def not_python(path: str, exc: Exception) -> ScriptFlags:
    """The result for source Python cannot compile: it will fail when run, and says where."""
    if isinstance(exc, SyntaxError):
        kind = "not valid UTF-8" if isinstance(exc.__cause__, UnicodeDecodeError) or "decode" in str(exc.msg) else \
            f"{type(exc).__name__} at line {exc.lineno or 0}: {exc.msg}"
    else:
        kind = f"{type(exc).__name__}: {exc}"
    return ScriptFlags(path, "unknown", problems=[f"cannot parse: {kind}"], error=kind)


class _Alone(Sources):
    """A repository of one in-memory file: no import leads anywhere."""

    def resolve(self, importer: Path, module: str | None, level: int = 0) -> Path | None:
        return None


def _unreadable(script: Path, path: str) -> ScriptFlags:
    try:
        data = Path(script).read_bytes()
    except OSError as exc:
        return ScriptFlags(path, "unknown", problems=[f"line 0: cannot read: {exc.strerror or exc}"])
    try:
        ast.parse(data, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return not_python(path, exc)
    return sniff_file(Path(script))   # readable and valid, so outside the root: read it alone


def _run(sources: Sources, parsed: ParsedModule, name: str, path: str) -> ScriptFlags:
    from runall.plan.flags.interpreter import Interpreter

    interpreter = Interpreter(sources, parsed, name)
    try:
        found, opaque = interpreter.run()
    except RecursionError:
        return ScriptFlags(path, "unknown", problems=["line 0: source nested too deeply to analyse"],
                           files=_absolute(sources, interpreter.files))
    finally:
        interpreter.close()
    families = list(dict.fromkeys(f.cli for f in found))
    if opaque:
        cli = "unknown"
    elif not families:
        cli = "unknown" if interpreter.hints or interpreter.ignored else "none"
    else:
        cli = families[0] if len(families) == 1 else "mixed"
    problems = interpreter.ordered_problems()
    if cli == "unknown" and not opaque:
        problems += [f"line {line}: {msg}" for line, msg in sorted(set(interpreter.hints))]
    options = _dedupe([o for f in found for o in f.options])
    leading = next((f.leading for f in found if f.leading), ())
    notes = list(dict.fromkeys(n for f in found for n in f.notes))
    result = ScriptFlags(path, cli, options, problems, notes, leading, "static", _absolute(sources, interpreter.files))
    return with_default_roles(result)


def with_default_roles(result: ScriptFlags) -> ScriptFlags:
    """The result with its roles under the default alias table, kept with it in the cache."""
    from runall.plan.flags.roles import explain

    result.roles = explain(result.options).roles if result.known else None
    return result


def _absolute(sources: Sources, files: dict[str, str]) -> dict[str, str]:
    """Every file read, by absolute path (repository files are named relative to the root)."""
    root = str(sources.root)
    return {os.path.join(root, name): digest for name, digest in files.items()}


def _dedupe(options: list[Option]) -> list[Option]:
    first: dict[tuple[tuple[str, ...], str | None], Option] = {}
    for option in options:
        first.setdefault((option.strings, option.subcommand), option)
    return list(first.values())
