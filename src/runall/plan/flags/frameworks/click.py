"""click: commands and groups from decorators, options from `@click.option`.

`Command` is also typer's (typer builds on click); a group's subcommands become options with
their subcommand path (`"train"`, `"data fetch"`).
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.frameworks.argparse import derive_dest
from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Func, FrameworkValue, Import, as_text, scalar

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter

SPECIAL = {  # decorator -> (default option string, takes a value, leading non-declaration args)
    "click.version_option": ("--version", False, 1),
    "click.confirmation_option": ("--yes", False, 0),
    "click.password_option": ("--password", True, 0),
    "click.help_option": ("--help", False, 0),
}
_TYPES = {"int": "int", "INT": "int", "float": "float", "FLOAT": "float", "str": "str", "STRING": "str",
          "Path": "path", "File": "path", "Choice": "choice"}


class Command(FrameworkValue):
    """A click command or group, or a typer app or command."""

    def __init__(self, framework: "CommandFramework", name: str, is_group: bool, has_callback: bool = False) -> None:
        self.framework = framework
        self.name = name
        self.is_group = is_group
        self.has_callback = has_callback
        self.options: list[Option] = []
        self.parent: Command | None = None
        self.children: list[Command] = []
        self.invoked = False             # called: its command line is parsed

    def method(self, ctx: "Interpreter", node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if name in ("__call__", "main"):
            self.invoked = True
            return None
        child = args[0] if args else None
        if name in ("add_command", "add_typer") and isinstance(child, Command):
            label = args[1] if len(args) > 1 else kwargs.get("name")
            child.name = label if isinstance(label, str) else child.name
            attach(self, child)
        return None

    def decorate(self, ctx: "Interpreter", node: ast.expr, name: str, args: list[Any], kwargs: dict[str, Any],
                 func: Func, bound: Any) -> Any:
        label = as_text(args[0] if args else kwargs.get("name")) or command_name(func.node.name)
        if name in ("command", "group"):
            child = self.framework.new_command(label, name == "group", self)
            self.framework.fill(child, func)
            return bound if self.framework.cli == "typer" else child   # typer's decorators return the function
        if name == "callback" and self.framework.cli == "typer":
            self.has_callback = True
            self.framework.fill(self, func)
            return bound
        return NOT_MINE


class CommandFramework(Framework):
    """What click and typer share: a forest of commands, emitted with subcommand paths."""

    cli = ""

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.commands: list[Command] = []

    def new_command(self, name: str, is_group: bool, parent: Command | None = None,
                    has_callback: bool = False) -> Command:
        command = Command(self, name, is_group, has_callback)
        self.commands.append(command)
        if parent is not None:
            attach(parent, command)
        return command

    def fill(self, command: Command, func: Func) -> None:
        """Give `command` the options `func` declares."""

    def runs(self, command: Command) -> bool:
        """Whether a top-level command parses the script's command line."""
        return True

    def result(self) -> Found | None:
        roots = [c for c in self.commands if c.parent is None and self.runs(c)]
        if not roots:
            return None
        out: list[Option] = []
        for command in roots:
            self._emit(command, None, out, 0)
        return Found(self.cli, out)

    def _emit(self, command: Command, path: str | None, out: list[Option], depth: int) -> None:
        kids = command.children
        if depth > 8:
            return
        if path is None and self.cli == "typer" and command.is_group and not command.has_callback \
                and len(kids) == 1 and not kids[0].is_group:
            out.extend(kids[0].options)  # typer runs a lone command without a subcommand name
            return
        out.extend(replace(o, subcommand=path) for o in command.options)
        for kid in kids:
            self._emit(kid, f"{path} {kid.name}" if path else kid.name, out, depth + 1)


class ClickFramework(CommandFramework):
    cli = "click"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.pending: dict[ast.AST, list[Option]] = {}

    def decorate(self, node: ast.expr, callee: Import, args: list[Any], kwargs: dict[str, Any],
                 func: Func, bound: Any) -> Any:
        options = bound.options if isinstance(bound, Command) else self.pending.setdefault(func.node, [])
        if callee.qual in ("click.command", "click.group"):
            label = as_text(args[0] if args else kwargs.get("name")) or command_name(func.node.name)
            command = self.new_command(label, callee.qual == "click.group")
            command.options = self.pending.pop(func.node, [])
            return command
        if callee.qual == "click.option":
            self._option(node, args, kwargs, options)
            return bound
        if callee.qual in SPECIAL:
            options.append(_special(callee.qual, args))
            return bound
        return NOT_MINE

    def fill(self, command: Command, func: Func) -> None:
        command.options = self.pending.pop(func.node, [])

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any], subclass: Any = None) -> Any:
        if callee.qual == "click.Group":
            return self.new_command(as_text(kwargs.get("name")) or "", True)
        if callee.qual == "click.option":
            self.ctx.problem(node, "click option built outside a decorator (where it goes is not tracked)",
                             opaque=True)
        return NOT_MINE

    def _option(self, node: ast.expr, args: list[Any], kwargs: dict[str, Any], options: list[Option]) -> None:
        if not all(isinstance(a, str) for a in args):
            self.ctx.problem(node, "click option names are not literals", opaque=True)
            return
        strings = [part.strip() for a in args if a.startswith("-") or "/" in a for part in a.split("/")]
        strings = [s for s in strings if s]
        if not strings:
            return
        names = [a for a in args if not a.startswith("-") and "/" not in a]
        is_flag = any("/" in a for a in args) or bool(kwargs.get("is_flag")) or bool(kwargs.get("count")) \
            or "flag_value" in kwargs
        type_node = next((k.value for k in getattr(node, "keywords", []) if k.arg == "type"), None)
        type_text = ast.unparse(type_node).split(".")[-1].split("(")[0] if type_node is not None else None
        default = scalar(kwargs.get("default"))
        kind = _TYPES.get(type_text or "") or (type(default).__name__ if isinstance(default, (int, float)) and
                                               not isinstance(default, bool) else None)
        options.append(Option(tuple(strings), names[0] if names else derive_dest(strings), None, not is_flag,
                              help=as_text(kwargs.get("help")), default=default, type=kind))


def attach(parent: Command, child: Command) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


def command_name(func_name: str) -> str:
    return func_name.lower().replace("_", "-")


def _special(qual: str, args: list[Any]) -> Option:
    default, takes_value, skip = SPECIAL[qual]
    decls = tuple(a for a in args[skip:] if isinstance(a, str) and a.startswith("-")) or (default,)
    return Option(decls, derive_dest(decls), None, takes_value)


FRAMEWORK = ClickFramework
