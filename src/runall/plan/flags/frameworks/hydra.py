"""Hydra: a `@hydra.main(config_path=..., config_name=...)` script takes `key=value` overrides.

The keys are those of the composed configuration: the primary YAML file under `config_path`
(relative to the script) and, through its `defaults` list, each chosen group option
(`trainer: default` -> `trainer/default.yaml`, placed under `trainer.` unless its
`# @package` header says otherwise), recursively; or the fields of a dataclass registered with
`ConfigStore.store(name=...)`. Every key is an option spelled without dashes
(`trainer.max_epochs`), plus `hydra.run.dir`, the run's output directory.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.model import OVERRIDE, Option
from runall.plan.flags.values import NOT_MINE, Class, Func, FrameworkValue, Import, scalar, type_name

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter, Module

RUN_DIR = Option(("hydra.run.dir",), "hydra.run.dir", None, True, help="output directory of the run",
                 type="path", syntax=OVERRIDE)
_PACKAGE = re.compile(rb"^#\s*@package\s+(\S+)", re.MULTILINE)
_MAX_FILES = 200


class HydraApp(FrameworkValue):
    """A `@hydra.main` function: calling it parses the command line as overrides."""


class Store(FrameworkValue):
    """`ConfigStore.instance()`: the structured configs registered by name."""

    def __init__(self, framework: "HydraFramework") -> None:
        self.framework = framework

    def method(self, ctx: "Interpreter", node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if name == "store":
            label = kwargs.get("name", args[0] if args else None)
            config = kwargs.get("node", args[1] if len(args) > 1 else None)
            if isinstance(label, str) and kwargs.get("group") is None:
                self.framework.store[label] = config
        return None


class HydraFramework(Framework):
    cli = "hydra"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.mains: list[tuple[ast.expr, Any, Any, "Module"]] = []
        self.store: dict[str, Any] = {}
        self.files = 0

    def decorate(self, node: ast.expr, callee: Import, args: list[Any], kwargs: dict[str, Any],
                 func: Func, bound: Any) -> Any:
        if callee.qual != "hydra.main":
            return NOT_MINE
        path = kwargs.get("config_path", args[0] if args else None)
        name = kwargs.get("config_name", args[1] if len(args) > 1 else None)
        self.mains.append((node, path, name, func.module))
        self.ctx.visited.add(func.node)   # Hydra runs it with the composed config: it parses nothing itself
        return HydraApp()

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any], subclass: Any = None) -> Any:
        if callee.qual.endswith("ConfigStore.instance"):
            return Store(self)
        return None if callee.root == "hydra" else NOT_MINE

    def result(self) -> Found | None:
        if not self.mains:
            return None
        options: dict[str, Option] = {}
        for node, path, name, module in self.mains:
            for key, value in self._keys(node, path, name, module).items():
                options.setdefault(key, Option((key,), key, None, True, default=scalar(value), syntax=OVERRIDE))
        options.setdefault(RUN_DIR.primary, RUN_DIR)
        return Found(self.cli, list(options.values()),
                     notes=["hydra: values are given as key=value overrides (no dashes)"])

    # --- composing the configuration ------------------------------------------------------------

    def _keys(self, node: ast.expr, path: Any, name: Any, module: "Module") -> dict[str, Any]:
        ctx = self.ctx
        if name is not None and not isinstance(name, str) or path is not None and not isinstance(path, str):
            ctx.problem(node, "hydra config_path/config_name are not literals", opaque=True)
            return {}
        if name is None:
            return {}
        stem = name[:-5] if name.endswith(".yaml") else name
        if stem in self.store:
            return self._dataclass_keys(node, self.store[stem], "")
        if path is None or path.startswith("pkg://"):
            ctx.problem(node, f"hydra config {name!r} is not a file under config_path", opaque=True)
            return {}
        folder = (module.path.parent / path).resolve()
        keys: dict[str, Any] = {}
        if not self._compose(folder, stem, None, keys, 0):
            ctx.problem(node, f"hydra config {name!r} not found under {path!r}", opaque=True)
        return keys

    def _compose(self, folder: Path, stem: str, package: str | None, keys: dict[str, Any], depth: int,
                 group: str = "") -> bool:
        """Add the keys of config `folder/stem.yaml` (and its defaults) under `package`; False if absent."""
        import yaml

        self.files += 1
        if depth > 8 or self.files > _MAX_FILES:
            return True
        data = self.ctx.read(folder / f"{stem}.yaml")
        if data is None:
            return False
        try:
            content = yaml.safe_load(data)
        except yaml.YAMLError:
            self.ctx.problem(0, f"{folder / stem}.yaml: invalid YAML (its keys are not listed)")
            return True
        header = _PACKAGE.search(data[:2000])
        if header is not None:
            declared = header.group(1).decode()
            package = "" if declared == "_global_" else group.replace("/", ".") if declared == "_group_" else declared
        prefix = package if package is not None else group.replace("/", ".")
        if not isinstance(content, dict):
            return True
        defaults = content.pop("defaults", None)
        for item in defaults if isinstance(defaults, list) else []:
            self._default(folder, item, keys, depth, group)
        _flatten(content, prefix, keys)
        return True

    def _default(self, folder: Path, item: Any, keys: dict[str, Any], depth: int, group: str) -> None:
        root = self._config_root(folder, group)
        if isinstance(item, str):
            if item != "_self_":
                base = root if item.startswith("/") else folder
                self._compose(base, item.strip("/"), None, keys, depth + 1, group)
            return
        if not isinstance(item, dict) or len(item) != 1:
            return
        ((raw, choice),) = item.items()
        name = str(raw).split()[-1]           # drops "override " / "optional "
        name, _, package = name.partition("@")
        name = name.strip("/") if name.startswith("/") else f"{group}/{name}" if group else name
        if name.startswith("hydra/") and not (root / name).is_dir():
            return                             # one of Hydra's own groups (job_logging, launcher, ...)
        for option in choice if isinstance(choice, list) else [choice]:
            if isinstance(option, str) and option != "???":
                self._compose(root / name, option, package or name.replace("/", "."), keys, depth + 1, name)

    @staticmethod
    def _config_root(folder: Path, group: str) -> Path:
        """The config folder a group's file lives under (`folder` minus the group's path)."""
        for _ in group.split("/") if group else ():
            folder = folder.parent
        return folder

    def _dataclass_keys(self, node: ast.expr, config: Any, prefix: str, depth: int = 0) -> dict[str, Any]:
        if not isinstance(config, Class) or depth > 6:
            self.ctx.problem(node, "hydra structured config cannot be read", opaque=True)
            return {}
        keys: dict[str, Any] = {}
        for klass in reversed(list(config.mro())):
            if not isinstance(klass, Class):
                continue
            for stmt in klass.node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                        and not stmt.target.id.startswith("_"):
                    field = f"{prefix}{stmt.target.id}"
                    nested = self.ctx.eval_in(stmt.annotation, klass.scope)
                    if isinstance(nested, Class) and type_name(stmt.annotation) is None:
                        keys.update(self._dataclass_keys(node, nested, f"{field}.", depth + 1))
                    else:
                        keys[field] = self.ctx.eval_in(stmt.value, klass.scope) if stmt.value is not None else None
        return keys


def _flatten(content: dict, prefix: str, keys: dict[str, Any]) -> None:
    for name, value in content.items():
        name = str(name)
        if name.startswith("_"):
            continue
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, dict) and value:
            _flatten(value, key, keys)
        else:
            keys.setdefault(key, value)


FRAMEWORK = HydraFramework
