"""The opt-in runtime probe (`--probe-help`): run `python SCRIPT --help` and read its options.

Only for scripts whose options static analysis could not see, and only when asked: it runs
user code. The command is an argv list run in a scratch working directory with no GPU visible
(`CUDA_VISIBLE_DEVICES=""`), in its own process group, killed after `timeout` seconds.
`parse_help` reads the help output of argparse, click, typer (its boxed layout) and absl.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
from pathlib import Path

from runall.plan.flags.analyse import with_default_roles
from runall.plan.flags.model import JOINED, Option, ScriptFlags

TIMEOUT = 20.0
_BOX = "│┃|"
_ABSL = re.compile(r"^\s*(?:--\[no\](?P<flag>[A-Za-z][\w.-]*)|(?P<name>--?[A-Za-z][\w.-]*)):\s*(?P<help>.*)$")
_METAVAR = re.compile(r"([A-Z][A-Z_]+)(\s{2,}|$)")
_SKIP = {"-h", "--help", "--helpfull", "--helpshort", "--helpxml", "--show-completion", "--install-completion"}


def detect(text: str) -> str | None:
    """Which framework printed this help text, or None when it is not help output."""
    if re.search(r"^\s*(╭|┌)?─*\s*Options\s*─", text, re.MULTILINE) or re.search(r"^\s*│\s+--", text, re.MULTILINE):
        return "typer"
    if re.search(r"^Usage: ", text, re.MULTILINE) and re.search(r"^Options:\s*$", text, re.MULTILINE):
        return "click"
    if re.search(r"^usage: ", text, re.MULTILINE | re.IGNORECASE) and \
            re.search(r"^(options|optional arguments|named arguments):", text, re.MULTILINE):
        return "argparse"
    if re.search(r"^\s*(--\[no\][\w.-]+|--[\w.-]+): ", text, re.MULTILINE) and "flags:" in text.lower():
        return "absl"
    return None


def parse_help(text: str) -> tuple[str, list[Option]] | None:
    """(framework, options) read from `--help` output, or None when it is not help output."""
    kind = detect(text)
    if kind is None:
        return None
    options: list[Option] = []
    last: Option | None = None
    for raw in text.splitlines():
        line = raw.strip().strip(_BOX).rstrip() if kind == "typer" else raw.rstrip()
        stripped = line.strip()
        if kind == "absl":
            option = _absl_line(stripped)
        elif stripped.startswith("-") and line[:1].isspace() or (kind == "typer" and stripped.startswith("-")):
            option = _option_line(stripped)
        else:
            option = None
            if last is not None and stripped and line[:1].isspace() and not last.help:
                options[-1] = last = Option(last.strings, last.dest, None, last.takes_value, stripped,
                                            last.default, last.type, last.syntax)
            elif not stripped or not line[:1].isspace():
                last = None
            continue
        if option is not None and not set(option.strings) & _SKIP:
            options.append(option)
            last = option
    return kind, options


def _option_line(line: str) -> Option | None:
    parts = re.split(r"\s{2,}", line, maxsplit=1)
    declaration, help = parts[0], parts[1].strip() if len(parts) > 1 else None
    metavar = _METAVAR.match(help or "")
    if metavar:   # a type column of its own (typer's boxed layout): INTEGER, TEXT, PATH, ...
        declaration, help = f"{declaration} {metavar.group(1)}", help[metavar.end():].strip() or None
    strings: list[str] = []
    takes_value = False
    for token in re.split(r",\s*|\s+", declaration):
        if not token:
            continue
        if token.startswith("-") and token != "/":
            name, eq, _ = token.partition("=")
            takes_value = takes_value or bool(eq)
            strings.extend(s for s in name.split("/") if s.startswith("-"))
        elif token not in ("/",):
            takes_value = True   # a metavar or a type (EPOCHS, INTEGER, TEXT)
    if not strings:
        return None
    if any(s.startswith("--no-") for s in strings) and len(strings) > 1:
        takes_value = False
    long = next((s for s in strings if s.startswith("--")), strings[0])
    return Option(tuple(dict.fromkeys(strings)), long.lstrip("-").replace("-", "_"), None, takes_value,
                  help=help or None)


def _absl_line(line: str) -> Option | None:
    match = _ABSL.match(line)
    if match is None:
        return None
    flag, name, help = match.group("flag"), match.group("name"), match.group("help")
    strings = (f"--{flag}", f"--no{flag}") if flag else (name,)
    return Option(strings, strings[0].lstrip("-"), None, not flag, help=help or None, syntax=JOINED)


def probe_help(script: Path, python: str, static: ScriptFlags, timeout: float = TIMEOUT) -> ScriptFlags:
    """What `python SCRIPT --help` says the script accepts (`source == "help"`), or the static
    result with a problem line when it says nothing readable."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory(prefix="runall-probe-") as scratch:
        try:
            process = subprocess.Popen([python, str(Path(script).resolve()), "--help"], cwd=scratch, env=env,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        except OSError as exc:
            return _failed(static, f"--help probe could not start: {exc.strerror or exc}")
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return _failed(static, f"--help probe gave no answer within {timeout:g} s")
    parsed = parse_help(output.decode("utf-8", errors="replace"))
    if parsed is None:
        return _failed(static, f"--help probe printed no help (exit code {process.returncode})")
    kind, options = parsed
    return with_default_roles(ScriptFlags(static.path, kind, options, [],
                                          [f"options read from `{Path(script).name} --help` output"], (), "help",
                                          dict(static.files)))


def _failed(static: ScriptFlags, problem: str) -> ScriptFlags:
    return ScriptFlags(static.path, static.cli, static.options, static.problems + [f"line 0: {problem}"],
                       static.notes, static.leading, static.source, dict(static.files))
