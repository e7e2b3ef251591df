"""docopt: options from the usage text handed to `docopt(...)` (usually the module docstring).

Lines of the options section (`  -e N, --epochs=N  Number of epochs [default: 10].`) give each
option's spellings, whether it takes a value, its help and default; options that appear only in
the usage patterns (`--epochs=<n>`) count too.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Import

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter

_BUILTIN = {"-h", "--help", "--version"}   # docopt's own: no value to pass
_DEFAULT = re.compile(r"\[default:\s*(.*?)\]", re.IGNORECASE)
_USAGE_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)(=\S+)?")


def parse_usage(text: str) -> list[Option]:
    """The options a docopt usage text declares."""
    options: dict[str, Option] = {}
    usage_lines: list[str] = []
    in_usage = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.lower().startswith("usage:"):
            in_usage = True
            stripped = stripped[len("usage:"):]
        elif not stripped:
            in_usage = False
        if in_usage:
            usage_lines.append(stripped)
            continue
        if stripped.startswith("-"):
            option = _option_line(stripped)
            if option is not None and not set(option.strings) & _BUILTIN:
                options.setdefault(option.primary, option)
    known = {s for o in options.values() for s in o.strings}
    for line in usage_lines:
        for match in _USAGE_OPTION.finditer(line):
            name = match.group(1)
            if name not in known and name not in _BUILTIN:
                known.add(name)
                options[name] = Option((name,), name.lstrip("-").replace("-", "_"), None, bool(match.group(2)))
    return list(options.values())


def _option_line(line: str) -> Option | None:
    parts = re.split(r"\s{2,}", line, maxsplit=1)
    declaration, help = parts[0].strip(), parts[1].strip() if len(parts) > 1 else ""
    strings: list[str] = []
    takes_value = False
    for token in re.split(r"[ ,]+", declaration.replace("=", " = ")):
        if token.startswith("-"):
            strings.append(token)
        elif token:
            takes_value = True   # an argument name (`N`, `<n>`) or `=`
    if not strings:
        return None
    default = _DEFAULT.search(help)
    long = next((s for s in strings if s.startswith("--")), strings[0])
    return Option(tuple(strings), long.lstrip("-").replace("-", "_"), None, takes_value,
                  help=re.sub(r"\s+([.,;])", r"\1", _DEFAULT.sub("", help)).strip(" .") or None, default=default.group(1) if default else None)


class DocoptFramework(Framework):
    cli = "docopt"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.options: list[Option] | None = None

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any], subclass: Any = None) -> Any:
        if callee.leaf != "docopt":
            return NOT_MINE
        text = args[0] if args else kwargs.get("doc")
        if not isinstance(text, str):
            self.ctx.problem(node, "docopt usage text is not a literal", opaque=True)
            self.options = self.options or []
            return None
        self.options = (self.options or []) + parse_usage(text)
        return None

    def result(self) -> Found | None:
        return None if self.options is None else Found(self.cli, self.options)


FRAMEWORK = DocoptFramework
