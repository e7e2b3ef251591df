"""Options from a function's signature, for the frameworks that build a command line from one
(fire, jsonargparse, LightningCLI): names, defaults, annotations and docstring help."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from runall.plan.flags.frameworks.fields import fields_of
from runall.plan.flags.model import SEPARATE, Option
from runall.plan.flags.values import Class, Func, params_with_defaults, scalar, type_name

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter

_GOOGLE = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")
_SPHINX = re.compile(r":param\s+(?:\w+\s+)?(\w+)\s*:\s*(.+)")


def docstring_help(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> dict[str, str]:
    """Parameter -> first line of its description, from Google, NumPy or Sphinx style docstrings."""
    doc = ast.get_docstring(node) or ""
    found: dict[str, str] = {m.group(1): m.group(2).strip() for m in _SPHINX.finditer(doc)}
    lines = doc.splitlines()
    section = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.lower().rstrip(":") in ("args", "arguments", "parameters", "params", "keyword args"):
            section = True
            continue
        if not section or not stripped or set(stripped) <= {"-"}:
            continue
        if not line.startswith((" ", "\t")) and stripped.endswith(":"):
            section = False   # the next section
            continue
        match = _GOOGLE.match(line)
        if match:
            found.setdefault(match.group(1), match.group(2).strip())
        elif re.match(r"^\s*\w+\s*:\s*\S", line) is None and re.match(r"^\s*(\w+)\s*$|^\s*(\w+) : ", line):
            name = re.match(r"^\s*(\w+)", line).group(1)  # type: ignore[union-attr]
            follow = lines[i + 1].strip() if i + 1 < len(lines) else ""
            found.setdefault(name, follow)
    return found


def init_of(ctx: "Interpreter", cls: Class) -> Func | None:
    """The `__init__` a class runs (its own or a repository base's)."""
    init = ctx.member(cls, "__init__")
    return init if isinstance(init, Func) else None


def signature_options(ctx: "Interpreter", func: Func, *, prefix: str = "--", skip_first: bool = False,
                      required: bool = True, syntax: str = SEPARATE, subcommand: str | None = None,
                      dashes: bool = False, nested: bool = False) -> list[Option]:
    """One option per named parameter of `func` (`prefix` + name).

    `required` False leaves out parameters without a default (positional in that framework);
    `skip_first` drops `self`/`cls`; booleans with a default take no value; `dashes` also
    accepts `--name-with-dashes`; `nested` spells a parameter typed with a repository
    dataclass as its fields (`--train.epochs`), as jsonargparse does.
    """
    help_text = docstring_help(func.node)
    if func.owner is not None and func.node.name == "__init__":
        help_text = {**docstring_help(func.owner.node), **help_text}
    out: list[Option] = []
    params = list(params_with_defaults(func.node.args))
    if skip_first and params and func.node.args.posonlyargs + func.node.args.args:
        params = params[1:]
    for arg, default in params:
        if default is None and not required:
            continue
        annotated = ctx.eval_in(arg.annotation, func.scope) if nested and arg.annotation is not None else None
        fields = fields_of(ctx, annotated) if isinstance(annotated, Class) else None
        if fields:
            out += [Option((f"{prefix}{arg.arg}.{item.name}",), f"{arg.arg}.{item.name}", subcommand, not item.is_bool,
                           help=item.help, default=item.scalar_default, type=item.type, syntax=syntax)
                    for item in fields if item.nested is None]
            continue
        value = ctx.eval_in(default, func.scope) if default is not None else None
        kind = type_name(arg.annotation) or (type(value).__name__ if isinstance(value, (bool, int, float, str)) else None)
        if nested and kind is None and isinstance(_unwrapped(ctx, func, arg.annotation), Class):
            kind = "class"   # jsonargparse takes a class path (and its init arguments) here
        if kind == "bool" and isinstance(value, bool):
            strings = (f"{prefix}{arg.arg}",)
            takes = False
        else:
            strings = (f"{prefix}{arg.arg}",)
            takes = True
        if dashes and "_" in arg.arg:
            strings += (f"{prefix}{arg.arg.replace('_', '-')}",)
        out.append(Option(strings, arg.arg, subcommand, takes, help=help_text.get(arg.arg),
                          default=scalar(value), type=kind if kind != "NoneType" else None, syntax=syntax))
    return out


def _unwrapped(ctx: "Interpreter", func: Func, annotation: ast.expr | None) -> Any:
    """What an annotation names, inside `Optional[...]` / `X | None`."""
    while isinstance(annotation, ast.Subscript) and ast.unparse(annotation.value).split(".")[-1] in ("Optional", "Union"):
        annotation = annotation.slice.elts[0] if isinstance(annotation.slice, ast.Tuple) else annotation.slice
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        annotation = annotation.left
    return ctx.eval_in(annotation, func.scope) if annotation is not None else None


def public_methods(cls: Class) -> list[Func]:
    """A class's own public methods (what fire and jsonargparse make subcommands of)."""
    return [v for k, v in cls.members.items() if isinstance(v, Func) and not k.startswith("_") and v.kind != "static"]


def component_options(ctx: "Interpreter", component: Any, *, required: bool, syntax: str = SEPARATE,
                      dashes: bool = False, nested: bool = False) -> list[Option] | None:
    """Options of a function, a class (its `__init__`, methods as subcommands) or a dict/list of
    them (each a subcommand); None when the component cannot be read."""
    if isinstance(component, Func):
        return signature_options(ctx, component, required=required, syntax=syntax, dashes=dashes, nested=nested,
                                 skip_first=component.kind in ("method", "class"))
    if isinstance(component, Class):
        init = init_of(ctx, component)
        out = signature_options(ctx, init, required=required, skip_first=True, syntax=syntax, dashes=dashes,
                                nested=nested) if init else []
        for method in public_methods(component):
            out += signature_options(ctx, method, required=required, skip_first=True, syntax=syntax,
                                     subcommand=method.node.name, dashes=dashes, nested=nested)
        return out
    if isinstance(component, (dict, tuple)):
        items = component.items() if isinstance(component, dict) else \
            [(c.node.name if isinstance(c, Func) else c.name if isinstance(c, Class) else None, c) for c in component]
        out = []
        for name, value in items:
            inner = component_options(ctx, value, required=required, syntax=syntax, dashes=dashes, nested=nested)
            if inner is None or not isinstance(name, str):
                return None
            out += [o.__class__(**{**o.__dict__, "subcommand": f"{name} {o.subcommand}" if o.subcommand else name})
                    for o in inner]
        return out
    return None
