"""Configurators: settings overridden by `--key=value` items of the command line.

nanoGPT style: a script that, at its top level, runs `exec(open("configurator.py").read())` on a
repository file reading `sys.argv` accepts `--name=value` for each global it has set by then to a
string, number or boolean (the configurator checks that the name exists and keeps its type); a
positional argument names a config file run first. minGPT style: a configuration object of a
repository class handed `sys.argv[1:]` by one of its methods (`config.merge_from_args(...)`)
accepts `--section.key=value` for each attribute set on it, nested objects giving dotted keys.
Values go in one argv item (`--max_iters=3`): configurators split on "=".
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.model import JOINED, Option
from runall.plan.flags.values import NOT_MINE, Instance

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter


def _exec_target(node: ast.Call) -> str | None:
    """The file name in `exec(open(NAME).read())` (the last `.py` string constant inside), or None."""
    if not node.args:
        return None
    inner = node.args[0]
    if not (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr == "read"):
        return None
    opened = inner.func.value
    if not (isinstance(opened, ast.Call) and isinstance(opened.func, ast.Name) and opened.func.id == "open"):
        return None
    names = [n.value for n in ast.walk(opened) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and n.value.endswith(".py")]
    return names[-1] if names else None


class ConfiguratorFramework(Framework):
    cli = "configurator"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.options: list[Option] | None = None

    def builtin(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        module = self.ctx.current
        if name != "exec" or module is None or not module.is_main or self.ctx.depth:
            return NOT_MINE
        target = _exec_target(node)
        if target is None:
            return NOT_MINE
        data = None
        for base in (self.ctx.sources.root, module.path.parent):
            data = self.ctx.read(Path(base) / target)
            if data is not None:
                break
        if data is None:
            self.ctx.problem(node, f"runs {target}, which cannot be read", opaque=True)
            return None
        if b"sys.argv" not in data:
            return None   # exec of a plain settings file: no command line
        self.options = [Option((f"--{key}",), key, None, True, default=value, type=type(value).__name__, syntax=JOINED)
                        for key, value in module.scope.vars.items()
                        if not key.startswith("_") and isinstance(value, (str, int, float, bool))]
        return None

    def argv_call(self, node: ast.Call, receiver: Any, name: str) -> Any:
        if not isinstance(receiver, Instance) or self.ctx.dormant:
            return NOT_MINE
        keys = _attributes(receiver, "", 0)
        if not keys:
            return NOT_MINE
        self.options = (self.options or []) + [
            Option((f"--{key}",), key, None, True, default=value if isinstance(value, (str, int, float, bool)) else None,
                   type=type(value).__name__ if isinstance(value, (str, int, float, bool)) else None, syntax=JOINED)
            for key, value in keys.items()]
        return None

    def result(self) -> Found | None:
        if self.options is None:
            return None
        return Found(self.cli, self.options, notes=["configurator: values are given as --name=value, one argv item"])


FRAMEWORK = ConfiguratorFramework


def _attributes(obj: Instance, prefix: str, depth: int) -> dict[str, Any]:
    """Every attribute set on a configuration object, nested objects as dotted keys."""
    out: dict[str, Any] = {}
    for name, value in obj.attrs.items():
        if name.startswith("_"):
            continue
        if isinstance(value, Instance) and depth < 6:
            out.update(_attributes(value, f"{prefix}{name}.", depth + 1))
        elif value is None or isinstance(value, (str, int, float, bool, tuple)):
            out[f"{prefix}{name}"] = value
    return out
