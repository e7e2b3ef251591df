"""python-fire: `fire.Fire(component)` turns a function's parameters into `--name` options.

A class gives its `__init__` parameters and its methods as subcommands; a dict or a list of
functions gives one subcommand each; `fire.Fire()` with no component makes every top-level
function of the script a subcommand. Fire accepts `--name value`, `--name=value` and, for
booleans, `--name`/`--noname`.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.frameworks.signatures import component_options
from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Func, Import

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter


class FireFramework(Framework):
    cli = "fire"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.options: list[Option] | None = None

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any], subclass: Any = None) -> Any:
        if callee.qual != "fire.Fire":
            return NOT_MINE
        if "command" in kwargs:
            self.ctx.problem(node, "fire.Fire(command=...) replaces the command line", opaque=False)
            self.options = self.options or []
            return None
        component = args[0] if args else kwargs.get("component", ())
        if component == ():   # fire.Fire(): every top-level function of the script is a command
            module = self.ctx.current
            component = {name: value for name, value in module.scope.vars.items()
                         if isinstance(value, Func) and not name.startswith("_")} if module else {}
        options = component_options(self.ctx, component, required=True)
        if options is None:
            self.ctx.problem(node, f"fire component {ast.unparse(node.args[0]) if node.args else '?'} cannot be read",
                             opaque=True)
            options = []
        self.options = (self.options or []) + options
        return None

    def result(self) -> Found | None:
        return None if self.options is None else Found(self.cli, self.options)


FRAMEWORK = FireFramework
