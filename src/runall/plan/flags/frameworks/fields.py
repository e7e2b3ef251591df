"""The fields of a dataclass defined in the repository, for the frameworks that build options
from one (HfArgumentParser, tyro, Hydra's structured configs)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from runall.plan.flags.values import Class, Import, as_text, scalar, type_name

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter

TYPING_ROOTS = {"abc", "typing", "typing_extensions", "enum", "dataclasses"}
BOOL_ANNOTATIONS = {"bool", "Optional[bool]", "bool | None", "typing.Optional[bool]"}


@dataclass(frozen=True)
class Field:
    """One dataclass field: its name, what its annotation names, default, help and aliases."""

    name: str
    annotation: ast.expr
    default: Any
    help: str | None
    aliases: tuple[str, ...]
    nested: Class | None = None      # the annotation is another repository class

    @property
    def is_bool(self) -> bool:
        return ast.unparse(self.annotation) in BOOL_ANNOTATIONS

    @property
    def type(self) -> str | None:
        return type_name(self.annotation)

    @property
    def scalar_default(self) -> str | int | float | bool | None:
        return scalar(self.default)


def field_from(stmt: ast.AnnAssign, evaluate: Callable[[ast.expr | None], Any]) -> Field | None:
    """The field a class-body annotation declares, or None (ClassVar, InitVar, init=False, private)."""
    if not isinstance(stmt.target, ast.Name):
        return None
    name = stmt.target.id
    annotation = ast.unparse(stmt.annotation)
    if "ClassVar" in annotation or "InitVar" in annotation or name.startswith("_"):
        return None
    value = stmt.value
    if not isinstance(value, ast.Call):
        return Field(name, stmt.annotation, evaluate(value), None, ())
    kw = {k.arg: evaluate(k.value) for k in value.keywords if k.arg}
    if kw.get("init") is False:
        return None
    metadata = kw.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    aliases = kw.get("aliases", metadata.get("aliases"))
    aliases = (aliases,) if isinstance(aliases, str) else aliases if isinstance(aliases, tuple) else ()
    help = as_text(metadata.get("help", kw.get("help")))
    return Field(name, stmt.annotation, kw.get("default"), help, tuple(a for a in aliases if isinstance(a, str)))


def fields_of(ctx: "Interpreter", cls: Any, depth: int = 0,
              resolve: Callable[[Import], list[Field] | None] | None = None) -> list[Field] | None:
    """The fields of a repository dataclass, bases first; None when a base cannot be read
    (`resolve` may read a base from outside the repository)."""
    if not isinstance(cls, Class) or depth > 8:
        return None
    found: dict[str, Field] = {}
    for base in cls.bases:
        if base is None or (isinstance(base, Import) and base.root in TYPING_ROOTS):
            continue
        if isinstance(base, Import):
            inherited = resolve(base) if resolve is not None else None
        else:
            inherited = fields_of(ctx, base, depth + 1, resolve)
        if inherited is None:
            return None
        for item in inherited:
            found.setdefault(item.name, item)
    body = cls.node.body
    for i, stmt in enumerate(body):
        if isinstance(stmt, ast.AnnAssign):
            item = field_from(stmt, lambda expr: ctx.eval_in(expr, cls.scope))
            if item is not None:
                nested = ctx.eval_in(stmt.annotation, cls.scope)
                found[item.name] = Field(item.name, item.annotation, item.default,
                                         item.help or attribute_docstring(body, i), item.aliases,
                                         nested if isinstance(nested, Class) else None)
    return list(found.values())


def attribute_docstring(body: list[ast.stmt], index: int) -> str | None:
    """The string literal right after a field (`x: int = 1` then `\"\"\"help\"\"\"`), its help by convention."""
    following = body[index + 1] if index + 1 < len(body) else None
    if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) \
            and isinstance(following.value.value, str):
        return following.value.value.strip() or None
    return None
