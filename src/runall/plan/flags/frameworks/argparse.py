"""argparse (and configargparse): parsers, argument groups, subparsers and `parents=`.

`Parser` is also the parser of the frameworks built on argparse (HfArgumentParser, jsonargparse,
LightningCLI), which make their own and register them with their own framework.

Beyond parsers made here, two patterns count where the script imports argparse: options added
to an unknown receiver (`def add_args(parser): parser.add_argument(...)` that nothing calls get
an implicit parser), and a value from outside the repository used as a parser (then the script
is `unknown`: what it already held cannot be seen).
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterator

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.model import Option
from runall.plan.flags.values import (ARGV, NOT_MINE, Foreign, FrameworkValue, Import, as_text, describe, scalar,
                                      type_name)

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter

FACTORIES = {"argparse.ArgumentParser", "configargparse.ArgumentParser", "configargparse.ArgParser"}
ROOTS = ("argparse", "configargparse")
# Uses that make a value from outside the repository count as a parser; builders also make the
# implicit parser behind an unknown receiver.
USES = {"add_argument", "add_argument_group", "add_mutually_exclusive_group", "add_subparsers",
        "parse_args", "parse_known_args", "parse_intermixed_args", "parse_args_into_dataclasses", "parents"}
BUILDERS = {"add_argument", "add_argument_group", "add_mutually_exclusive_group", "add_subparsers"}
PARSES = {"parse_args", "parse_known_args", "parse_intermixed_args", "parse_args_into_dataclasses",
          "parse_dict", "parse_json_file", "parse_yaml_file"}
FLAG_ACTIONS = {"store_true", "store_false", "store_const", "append_const", "count", "help", "version"}
# Libraries that take a parser without adding options to it.
HARMLESS_ROOTS = {"argparse", "argcomplete", "logging", "pprint", "typing", "copy", "json", "builtins"}


class Parser(FrameworkValue):
    """An argparse-style parser (argument groups are the parser itself)."""

    def __init__(self, owner: "ArgparseFramework", sub: str | None, live: bool) -> None:
        self.owner = owner
        self.sub = sub
        self.live = live                 # the script's: made or used by its own code, or parsing its argv
        self.options: list[Option] = []
        self.parents: list[Parser] = []
        self.is_parent = False
        self.removed: set[str] = set()   # options taken off the command line (linked or overwritten)

    def method(self, ctx: "Interpreter", node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if ctx.own_code or (name in PARSES and (not args or args[0] is None or args[0] is ARGV)):
            self.live = True
        if name == "add_argument" or (name == "add" and self.owner.configargparse):
            add_argument(ctx, self, node, args, kwargs)
        elif name in ("add_argument_group", "add_mutually_exclusive_group"):
            return self
        elif name == "add_subparsers":
            return Subparsers(self)
        elif name in ("parse_args", "parse_known_args", "parse_intermixed_args"):
            namespace = Namespace(self)
            return (namespace, None) if name == "parse_known_args" else namespace
        return None

    def escapes(self, ctx: "Interpreter", node: ast.Call, qual: str) -> None:
        if qual.lstrip(".").split(".")[0] not in HARMLESS_ROOTS:
            ctx.problem(node, f"parser passed to {describe(node.func)}, defined outside this repository",
                        opaque=True)

    def all_options(self) -> Iterator[Option]:
        """Its options after those of its `parents=` parsers, less those taken off the command line."""
        chain = self._chain([])
        removed = {spelling for parser in chain for spelling in parser.removed}
        yield from (o for parser in chain for o in parser.options if o.primary not in removed)

    def _chain(self, seen: list["Parser"]) -> list["Parser"]:
        """This parser after its `parents=` parsers (each once)."""
        if any(p is self for p in seen):
            return seen
        for parent in self.parents:
            parent._chain(seen)
        seen.append(self)
        return seen


class Namespace(FrameworkValue):
    """What `parse_args()` returns: an option whose value the script always replaces before ever
    reading it (`args.output_dir = args.job_dir`) is taken off the command line."""

    def __init__(self, parser: Parser) -> None:
        self.parser = parser
        self.read: set[str] = set()

    def attribute(self, ctx: "Interpreter", name: str) -> Any:
        self.read.add(name)
        return NOT_READ

    def set_attribute(self, ctx: "Interpreter", node: ast.AST, name: str, value: Any) -> None:
        if ctx.conditional or ctx.dormant or name in self.read:
            return
        for option in self.parser.all_options():
            if option.dest == name and option.primary not in self.parser.removed:
                self.parser.removed.add(option.primary)
                ctx.problem(node, f"{option.primary} is replaced here before use (its value never counts)")


NOT_READ = None   # the value of an option is not known statically


class Subparsers(FrameworkValue):
    def __init__(self, owner: Parser) -> None:
        self.owner = owner

    def method(self, ctx: "Interpreter", node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if name != "add_parser":
            return None
        label = args[0] if args else kwargs.get("name")
        if not isinstance(label, str):
            ctx.problem(node, "subcommand name is not a literal", opaque=True)
            label = "?"
        parent = self.owner.sub
        return self.owner.owner.new_parser(node, f"{parent} {label}" if parent else label, kwargs)


def add_argument(ctx: "Interpreter", parser: Parser, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Record one `add_argument(...)` call on `parser`."""
    if not args:
        ctx.problem(node, "add_argument without literal option strings", opaque=True)
        return
    if not all(isinstance(a, str) for a in args):
        ctx.problem(node, f"option strings are not literals: {describe(node)}", opaque=True)
        return
    if not args[0].startswith("-"):
        return  # a positional argument, not an option
    action = kwargs.get("action")
    boolean = isinstance(action, Import) and action.qual.endswith("BooleanOptionalAction")
    strings = args + [f"--no-{s[2:]}" for s in args if boolean and s.startswith("--")]
    takes_value = not boolean and not (isinstance(action, str) and action in FLAG_ACTIONS)
    dest = kwargs.get("dest")
    type_node = next((k.value for k in node.keywords if k.arg == "type"), None)
    kind = "choice" if kwargs.get("choices") is not None and not isinstance(kwargs.get("choices"), range) \
        else type_name(type_node)
    parser.options.append(Option(
        tuple(strings), dest if isinstance(dest, str) else derive_dest(args), None, takes_value,
        help=as_text(kwargs.get("help")), default=scalar(kwargs.get("default")), type=kind))


def derive_dest(strings: list[str] | tuple[str, ...]) -> str:
    """argparse's dest: the first long option, else the first short one, without dashes."""
    chosen = next((s for s in strings if s.startswith("--")), strings[0])
    return chosen.lstrip("-").replace("-", "_")


def parser_options(parsers: list[Parser]) -> list[Option]:
    """The options of the parsers a script uses, each with its subcommand."""
    out: list[Option] = []
    for parser in parsers:
        if parser.live and not parser.is_parent:
            out.extend(replace(o, subcommand=parser.sub) for o in parser.all_options())
    return out


class ArgparseFramework(Framework):
    cli = "argparse"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.parsers: list[Parser] = []
        self.ambient: Parser | None = None
        imports = [spec for spec in ctx.main.imports.values() if not spec.level] if ctx.main is not None else []
        roots = {(spec.module or "").split(".")[0] for spec in imports}
        self.configargparse = "configargparse" in roots
        # the script imports argparse, or a parser class built on it (HfArgumentParser, jsonargparse's)
        self.imported = bool(roots & set(ROOTS)) or any(spec.qual.endswith("ArgumentParser") for spec in imports)

    def new_parser(self, node: ast.AST, sub: str | None, kwargs: dict[str, Any],
                   into: list[Parser] | None = None) -> Parser:
        """A parser made at `node`, registered in `into` (default: this framework's parsers)."""
        parser = Parser(self, sub, live=self.ctx.own_code)
        (self.parsers if into is None else into).append(parser)
        parents = kwargs.get("parents")
        for parent in parents if isinstance(parents, tuple) else ([] if parents is None else [None]):
            resolved = self.as_parser(node, parent, "parents")
            if resolved is None:
                self.ctx.problem(node, "parents= parser cannot be resolved", opaque=True)
            else:
                resolved.is_parent = True
                parser.parents.append(resolved)
        return parser

    def as_parser(self, node: ast.AST, value: Any, use: str) -> Parser | None:
        """The parser `value` stands for; a value from outside the repository used as one is adopted."""
        if isinstance(value, Parser):
            return value
        if isinstance(value, Foreign):
            if value.adopted is None and use in USES:
                value.adopted = self.new_parser(node, None, {})
                value.adopted.live = True
                self.ctx.problem(value.node, f"parser comes from {describe(value.node.func)}, defined outside "
                                             "this repository", opaque=True)
            return value.adopted if isinstance(value.adopted, Parser) else None
        return None

    def implicit(self, node: ast.AST) -> Parser:
        """The parser behind options added to an unknown receiver (a helper's `parser` parameter)."""
        if self.ambient is None:
            self.ambient = self.new_parser(node, None, {})
        return self.ambient

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any],
             subclass: Any = None) -> Any:
        if callee.qual in FACTORIES:
            return self.new_parser(node, None, kwargs)
        if callee.root in ROOTS:
            return None   # the rest of argparse (Namespace, FileType, ...) makes no options
        return NOT_MINE

    def unknown_method(self, node: ast.Call, receiver: Any, name: str, args: list[Any],
                       kwargs: dict[str, Any]) -> Any:
        if isinstance(receiver, Foreign) and (name in USES or (name == "add" and self.configargparse)):
            parser = self.as_parser(node, receiver, name)
            return parser.method(self.ctx, node, name, args, kwargs) if parser else NOT_MINE
        if receiver is None and name in BUILDERS:
            if self.imported:
                return self.implicit(node).method(self.ctx, node, name, args, kwargs)
            if name == "add_argument":
                self.ctx.ignore(node, "add_argument on an object not known to be a parser (ignored)")
        return NOT_MINE

    def result(self) -> Found | None:
        if not any(parser.live for parser in self.parsers):
            return None
        return Found(self.cli, parser_options(self.parsers))


FRAMEWORK = ArgparseFramework
