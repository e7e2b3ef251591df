"""tyro: `tyro.cli(Config)` turns a dataclass's fields (or a function's parameters) into options.

A field `batch_size` is `--batch-size` (tyro also accepts `--batch_size`); a nested dataclass
field `optim: Optim` gives `--optim.lr`; booleans are flags (`--cuda` / `--no-cuda`).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.frameworks.fields import Field, fields_of
from runall.plan.flags.frameworks.signatures import signature_options
from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Class, Func, Import

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter


class TyroFramework(Framework):
    cli = "tyro"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.options: list[Option] | None = None

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any], subclass: Any = None) -> Any:
        if callee.qual not in ("tyro.cli", "tyro.extras.cli"):
            return NOT_MINE
        target = args[0] if args else kwargs.get("f")
        options = self._options(target, "")
        if options is None:
            self.ctx.problem(node, "tyro target cannot be read", opaque=True)
            options = []
        self.options = (self.options or []) + options
        return None

    def _options(self, target: Any, prefix: str, depth: int = 0) -> list[Option] | None:
        if isinstance(target, Func):
            return [Option(tuple(dict.fromkeys((o.strings[0].replace("_", "-"), o.strings[0]))), o.dest, None,
                           o.takes_value, o.help, o.default, o.type)
                    for o in signature_options(self.ctx, target, skip_first=target.kind != "function")]
        fields = fields_of(self.ctx, target) if isinstance(target, Class) and depth < 6 else None
        if fields is None:
            return None
        out: list[Option] = []
        for item in fields:
            if item.nested is not None:
                out += self._options(item.nested, f"{prefix}{item.name}.", depth + 1) or []
            else:
                out += _field_options(item, prefix)
        return out

    def result(self) -> Found | None:
        return None if self.options is None else Found(self.cli, self.options)


def _field_options(item: Field, prefix: str) -> list[Option]:
    hyphen = f"--{prefix}{item.name.replace('_', '-')}"
    strings = tuple(dict.fromkeys((hyphen, f"--{prefix}{item.name}")))
    if item.is_bool:
        return [Option(strings + (f"--{prefix}no-{item.name.replace('_', '-')}",), item.name, None, False, item.help)]
    return [Option(strings, item.name, None, True, item.help, item.scalar_default, item.type)]


FRAMEWORK = TyroFramework
