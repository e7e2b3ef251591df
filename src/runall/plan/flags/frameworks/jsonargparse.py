"""jsonargparse: `CLI(component)` / `auto_cli`, and its `ArgumentParser` with class and function
arguments (`add_class_arguments(Model, "model")` -> `--model.lr`, ...).

`JsonParser` is also LightningCLI's parser. Nested options are spelled with dots
(`--trainer.max_epochs`); `link_arguments(source, target)` takes `target` off the command line.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.frameworks.argparse import Parser, parser_options
from runall.plan.flags.frameworks.signatures import component_options, init_of, signature_options
from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Class, Func, Import

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter

CONFIG = Option(("--config",), "config", None, True, help="path to a configuration file", type="path")
PRINT_CONFIG = Option(("--print_config",), "print_config", None, False)


class JsonParser(Parser):
    """A jsonargparse parser: argparse's methods plus class and function arguments."""

    def method(self, ctx: "Interpreter", node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if name in ("add_class_arguments", "add_lightning_class_args", "add_subclass_arguments"):
            self.live = self.live or ctx.own_code
            target = args[0] if args else kwargs.get("theclass", kwargs.get("lightning_component"))
            nested = args[1] if len(args) > 1 else kwargs.get("nested_key")
            self.add_class(ctx, node, target, nested if isinstance(nested, str) else None,
                           subclass=name == "add_subclass_arguments")
            return None
        if name in ("add_function_arguments", "add_method_arguments"):
            target = args[0] if args else None
            if name == "add_method_arguments":
                method = args[1] if len(args) > 1 else kwargs.get("themethod")
                target = ctx.member(target, method) if isinstance(target, Class) and isinstance(method, str) else None
                nested = args[2] if len(args) > 2 else kwargs.get("nested_key")
            else:
                nested = args[1] if len(args) > 1 else kwargs.get("nested_key")
            prefix = f"--{nested}." if isinstance(nested, str) and nested else "--"
            if isinstance(target, Func):
                self.options += signature_options(ctx, target, prefix=prefix, skip_first=target.kind != "function")
            else:
                ctx.problem(node, f"{name}: the function cannot be read (its options are not listed)")
            return None
        if name == "link_arguments":
            target = args[1] if len(args) > 1 else kwargs.get("target")
            for item in target if isinstance(target, tuple) else (target,):
                if isinstance(item, str):
                    self.removed.add(f"--{item}")
            return None
        return super().method(ctx, node, name, args, kwargs)

    def add_class(self, ctx: "Interpreter", node: ast.AST, target: Any, nested: str | None,
                  subclass: bool = False, defaults: dict[str, Any] | None = None) -> None:
        """`--nested.<param>` for each `__init__` parameter of a repository class; `--nested` (a
        class path) when the class comes from elsewhere or any subclass may be given."""
        prefix = f"--{nested}." if nested else "--"
        init = init_of(ctx, target) if isinstance(target, Class) and not subclass else None
        if init is None:
            if nested:
                self.options.append(Option((f"--{nested}",), nested, None, True, help="class path of the "
                                           f"{nested} class and its init arguments", type="class"))
            if not isinstance(target, Class) or subclass:
                what = target.qual if isinstance(target, Import) else "the class"
                ctx.problem(node, f"options of {prefix}* come from {what}, which is not read here")
            return
        for option in signature_options(ctx, init, prefix=prefix, skip_first=True, nested=True):
            if defaults and option.dest in defaults and isinstance(defaults[option.dest], (str, int, float, bool)):
                option = Option(option.strings, option.dest, None, option.takes_value, option.help,
                                defaults[option.dest], option.type, option.syntax)
            self.options.append(option)


class JsonargparseFramework(Framework):
    cli = "jsonargparse"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.parsers: list[Parser] = []
        self.cli_options: list[Option] | None = None

    def new_parser(self, node: ast.AST, into: list[Parser] | None = None) -> JsonParser:
        argparse = self.ctx.framework("argparse")
        parser = JsonParser(argparse, None, live=self.ctx.own_code)  # type: ignore[arg-type]
        (self.parsers if into is None else into).append(parser)
        return parser

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any], subclass: Any = None) -> Any:
        if callee.qual in ("jsonargparse.ArgumentParser", "jsonargparse.core.ArgumentParser"):
            return self.new_parser(node)
        if callee.leaf in ("CLI", "auto_cli"):
            component = args[0] if args else kwargs.get("components")
            options = component_options(self.ctx, component, required=False, nested=True)
            if options is None:
                self.ctx.problem(node, "jsonargparse CLI component cannot be read", opaque=True)
                options = []
            if kwargs.get("args") is not None:
                self.ctx.problem(node, "CLI(args=...) does not read the command line")
                options = []
            self.cli_options = (self.cli_options or []) + [CONFIG, PRINT_CONFIG] + options
            return None
        if callee.root == "jsonargparse":
            return None
        return NOT_MINE

    def result(self) -> Found | None:
        if self.cli_options is None and not any(parser.live for parser in self.parsers):
            return None
        return Found(self.cli, (self.cli_options or []) + parser_options(self.parsers))


FRAMEWORK = JsonargparseFramework
