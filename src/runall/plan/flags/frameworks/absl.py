"""absl flags (also `tf.compat.v1.flags` / `tf.app.flags`, and ml_collections' `config_flags`).

Every `flags.DEFINE_*(name, default, help)` run by the script or by a module it imports is an
option `--name` (booleans also `--noname`): absl flags are global, so a flag defined on import
counts. `config_flags.DEFINE_config_file("config")` is `--config` (a config file; its
`--config.key=value` overrides are listed when its default file can be read: the keys its
`get_config()` sets). A flag the script always replaces before use (`FLAGS.workdir = ...`) is
taken off the command line. absl is given values as `--name=value`, in one argv item.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from pathlib import Path

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.model import JOINED, Option
from runall.plan.flags.values import NOT_MINE, Func, FrameworkValue, Import, as_text, scalar

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


class Flags(FrameworkValue):
    """absl's `FLAGS`: a flag assigned unconditionally by the script is replaced before use."""

    def __init__(self, framework: "AbslFramework") -> None:
        self.framework = framework
        self.read: set[str] = set()

    def attribute(self, ctx: "Interpreter", name: str) -> Any:
        self.read.add(name)
        return None

    def set_attribute(self, ctx: "Interpreter", node: ast.AST, name: str, value: Any) -> None:
        if not ctx.conditional and not ctx.dormant and name not in self.read:
            self.framework.replaced.add(name)


class ConfigDict(FrameworkValue):
    """An ml_collections `ConfigDict` being filled by a `get_config()`."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set_attribute(self, ctx: "Interpreter", node: ast.AST, name: str, value: Any) -> None:
        self.values[name] = value

    def attribute(self, ctx: "Interpreter", name: str) -> Any:
        return self.values.get(name)

    def method(self, ctx: "Interpreter", node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if name == "update":
            self.values.update(args[0] if args and isinstance(args[0], dict) else {})
            self.values.update(kwargs)
        return None

    def keys(self, prefix: str, depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.values.items():
            if isinstance(value, ConfigDict) and depth < 6:
                out.update(value.keys(f"{prefix}{name}.", depth + 1))
            elif isinstance(value, dict) and depth < 6:
                out.update({f"{prefix}{name}.{k}": v for k, v in value.items() if isinstance(k, str)})
            else:
                out[f"{prefix}{name}"] = value
        return out


class AbslFramework(Framework):
    cli = "absl"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.options: list[Option] = []
        self.used = False
        self.replaced: set[str] = set()
        self.flags = Flags(self)

    def attribute(self, node: ast.AST, base: Import, name: str) -> Any:
        return self.flags if name == "FLAGS" and _is_flags_module(base.qual) else NOT_MINE

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any], subclass: Any = None) -> Any:
        if callee.qual in ("ml_collections.ConfigDict", "ml_collections.config_dict.ConfigDict"):
            made = ConfigDict()
            made.values.update(args[0] if args and isinstance(args[0], dict) else {})
            return made
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
        if kind == "config_file" and isinstance(default, str):
            self._config_keys(node, name, default)

    def _config_keys(self, node: ast.Call, name: str, default: str) -> None:
        """`--name.key` for each key the default config file's `get_config()` sets."""
        main = self.ctx.main
        here = self.ctx.current
        for base in (here.path.parent if here else None, main.path.parent if main else None, self.ctx.sources.root):
            path = Path(base) / default.split(":")[0] if base is not None else None
            module = self.ctx.load(path) if path is not None and path.is_file() else None
            if module is None:
                continue
            make = module.scope.vars.get("get_config")
            made = self.ctx.invoke(make, [], {}) if isinstance(make, Func) else None
            if isinstance(made, ConfigDict):
                self.options += [Option((f"--{name}.{key}",), f"{name}.{key}", None, True, default=scalar(value),
                                        syntax=JOINED) for key, value in made.keys("").items()]
            return

    def result(self) -> Found | None:
        if not self.used:
            return None
        kept = [o for o in self.options if o.dest not in self.replaced]
        dropped = [o.primary for o in self.options if o.dest in self.replaced]
        notes = [f"{', '.join(dropped)}: replaced by the script before use, so not passed"] if dropped else []
        return Found(self.cli, kept, notes=notes)


FRAMEWORK = AbslFramework
