"""absl flags (also `tf.compat.v1.flags` / `tf.app.flags`, and ml_collections' `config_flags`).

Every `flags.DEFINE_*(name, default, help)` run by the script or by a module it imports is an
option `--name` (booleans also `--noname`): absl flags are global, so a flag defined on import
counts. `config_flags.DEFINE_config_file("config")` is `--config` (a config file; its
`--config.key=value` overrides depend on the file and are not listed). absl is given values as
`--name=value`, in one argv item.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.model import JOINED, Option
from runall.plan.flags.values import NOT_MINE, Import, as_text, scalar

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter

_KINDS = {"string": "str", "integer": "int", "float": "float", "bool": "bool", "boolean": "bool", "enum": "str",
          "list": None, "spaceseplist": None, "multi_string": None, "multi_integer": None, "multi_float": None,
          "multi_enum": None, "enum_class": None, "multi_enum_class": None, "config_file": "path",
          "config_dict": None, "config_dataclass": None}
_HELP_AT = {"enum": 3, "multi_enum": 3, "enum_class": 3, "multi_enum_class": 3}  # positional index of help


def _is_flags_module(qual: str) -> bool:
    parts = qual.split(".")
    return parts[0] in ("absl", "tensorflow", "ml_collections") and ("flags" in parts or "config_flags" in parts)


class AbslFramework(Framework):
    cli = "absl"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.options: list[Option] = []
        self.used = False

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any], subclass: Any = None) -> Any:
        leaf = callee.leaf
        if leaf.startswith("DEFINE_") and _is_flags_module(callee.qual.rsplit(".", 1)[0]):
            self._define(node, leaf[len("DEFINE_"):], args, kwargs)
            return None
        if callee.qual in ("absl.app.run", "tensorflow.compat.v1.app.run", "tensorflow.app.run"):
            self.used = True
            return None
        return NOT_MINE

    def _define(self, node: ast.Call, kind: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.used = True
        if kind not in _KINDS:
            return   # DEFINE_alias, DEFINE_flag, ...: nothing new to pass
        name = args[0] if args else kwargs.get("name")
        if not isinstance(name, str):
            self.ctx.problem(node, "absl flag name is not a literal", opaque=True)
            return
        default = args[1] if len(args) > 1 else kwargs.get("default")
        at = _HELP_AT.get(kind, 2)
        help = args[at] if len(args) > at else kwargs.get("help", kwargs.get("help_string"))
        boolean = _KINDS[kind] == "bool"
        strings = (f"--{name}",) + ((f"--no{name}",) if boolean else ())
        short = kwargs.get("short_name")
        if isinstance(short, str):
            strings += (f"-{short}",)
        self.options.append(Option(strings, name, None, not boolean, help=as_text(help), default=scalar(default),
                                   type=_KINDS[kind], syntax=JOINED))

    def result(self) -> Found | None:
        if not self.used:
            return None
        return Found(self.cli, self.options)


FRAMEWORK = AbslFramework
