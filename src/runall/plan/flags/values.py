"""The values the interpreter tracks, and small pure helpers over them.

Python constants (str, int, float, bool, None), tuples (lists and sets too) and dicts stand for
themselves; everything else is one of the classes below. A framework's own objects (a parser,
a click command) subclass `FrameworkValue`. `None` also means "not known".
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter, Module, Scope

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
ARGV: Any = type("Argv", (), {"__repr__": lambda self: "ARGV"})()   # `sys.argv` (or a slice of it)
NOT_MINE: Any = type("NotMine", (), {"__repr__": lambda self: "NOT_MINE"})()   # a framework passes


@dataclass(frozen=True)
class Import:
    """A name from outside the repository, as its dotted origin, e.g. `argparse.ArgumentParser`."""

    qual: str

    @property
    def root(self) -> str:
        return self.qual.lstrip(".").split(".")[0]

    @property
    def leaf(self) -> str:
        return self.qual.split(".")[-1]


@dataclass(frozen=True)
class Unreadable:
    """A name from a repository module that cannot be read or parsed."""

    qual: str
    path: str


@dataclass(eq=False)
class Foreign:
    """The result of calling code outside the repository; a framework may adopt it (`adopted`)."""

    node: ast.Call
    qual: str
    adopted: Any = None


@dataclass(eq=False)
class Func:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    scope: "Scope"
    kind: str = "function"  # "function", "method", "static", "class"
    owner: "Class | None" = None

    @property
    def module(self) -> "Module":
        return self.scope.module


@dataclass(eq=False)
class Class:
    name: str
    node: ast.ClassDef
    bases: list[Any]
    scope: "Scope"                                       # where the class statement ran
    members: dict[str, Any] = field(default_factory=dict)  # class body names and attributes set on instances

    @property
    def module(self) -> "Module":
        return self.scope.module

    def mro(self, depth: int = 0) -> Iterator[Any]:
        """The class, then its bases depth first (repository classes and imports alike)."""
        yield self
        if depth > 8:
            return
        for base in self.bases:
            if isinstance(base, Class):
                yield from base.mro(depth + 1)
            elif base is not None:
                yield base


@dataclass(eq=False)
class Instance:
    """An object of a repository class; attributes set on it are its own (`attrs`)."""

    cls: Class
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Bound:
    """A method taken from an object without calling it (`add = parser.add_argument`)."""

    obj: Any
    name: str


@dataclass(eq=False)
class Super:
    """`super()` inside a method of `owner` called on `obj`."""

    owner: Class
    obj: Any


@dataclass(eq=False)
class ModuleRef:
    """A repository module bound by `import pkg.mod` or `from pkg import mod`."""

    path: Path


class FrameworkValue:
    """An object a framework made (a parser, a command); it answers its own methods.

    `cls` is set when it was made from a repository subclass, whose methods win.
    """

    cls: Class | None = None

    def method(self, ctx: "Interpreter", node: ast.Call, name: str, args: list[Any],
               kwargs: dict[str, Any]) -> Any:
        return None

    def attribute(self, ctx: "Interpreter", name: str) -> Any:
        return None

    def escapes(self, ctx: "Interpreter", node: ast.Call, qual: str) -> None:
        """Called when the value is handed to code outside the repository."""

    def decorate(self, ctx: "Interpreter", node: ast.expr, name: str, args: list[Any], kwargs: dict[str, Any],
                 func: Func, bound: Any) -> Any:
        """`@value.name(*args)` (name "" for `@value(...)` or `@value`) on `func`; returns the new binding."""
        return NOT_MINE

    def set_attribute(self, ctx: "Interpreter", node: ast.AST, name: str, value: Any) -> None:
        """`value.name = ...` in the code (`ctx.conditional` says whether it always runs)."""


# --- pure helpers -----------------------------------------------------------------------------

_FMT_FIELD = re.compile(r"\{(\w*)\}")
_PCT_FIELD = re.compile(r"%[sd%]")


def key(value: Any) -> Any:
    """A hashable stand-in for a value, for memoising calls."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, tuple):
        return tuple(map(key, value))
    return id(value)


def binop(op: ast.operator, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Add) and type(left) is type(right) and isinstance(left, (str, tuple)):
        return left + right
    if isinstance(op, ast.BitOr) and isinstance(left, dict) and isinstance(right, dict):
        return {**left, **right}
    if isinstance(op, ast.Mod) and isinstance(left, str):
        values = right if isinstance(right, tuple) else (right,)
        if all(isinstance(v, (str, int)) for v in values) and "%" not in _PCT_FIELD.sub("", left):
            try:
                return left % values
            except (TypeError, ValueError):
                return None
    if type(left) in (int, float) and type(right) in (int, float):
        try:
            return {ast.Add: lambda: left + right, ast.Sub: lambda: left - right, ast.Mult: lambda: left * right,
                    }.get(type(op), lambda: None)()
        except OverflowError:
            return None
    return None


def str_method(text: str, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The few str methods option strings are built with: format (plain fields), replace, lower,
    upper, strip, split, join."""
    if name == "format":
        if text.count("{") != len(_FMT_FIELD.findall(text)):
            return None
        automatic = iter(args)

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if not name:
                value = next(automatic, None)
            elif name.isdigit():
                value = args[int(name)] if int(name) < len(args) else None
            else:
                value = kwargs.get(name)
            return str(value) if isinstance(value, (str, int)) else "\0"

        result = _FMT_FIELD.sub(fill, text)
        return None if "\0" in result else result
    if name == "replace" and len(args) == 2 and all(isinstance(a, str) for a in args):
        return text.replace(args[0], args[1])
    if name in ("lower", "upper", "strip", "lstrip", "rstrip") and not args:
        return getattr(text, name)()
    if name == "split" and all(isinstance(a, str) for a in args[:1]) and len(args) <= 1:
        return tuple(text.split(*args))
    if name == "join" and len(args) == 1 and isinstance(args[0], tuple) and all(isinstance(a, str) for a in args[0]):
        return text.join(args[0])
    return None


def as_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def scalar(value: Any) -> str | int | float | bool | None:
    """A default worth recording: a JSON scalar, else None."""
    return value if isinstance(value, (str, int, float, bool)) else None


def describe(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def params_with_defaults(spec: ast.arguments) -> Iterator[tuple[ast.arg, ast.expr | None]]:
    positional = spec.posonlyargs + spec.args
    padded: list[ast.expr | None] = [None] * (len(positional) - len(spec.defaults)) + list(spec.defaults)
    yield from zip(positional, padded)
    yield from zip(spec.kwonlyargs, spec.kw_defaults)


def type_name(annotation: ast.expr | None) -> str | None:
    """`int`, `str`, `float`, `bool` or `path` from an annotation or a `type=` expression."""
    if annotation is None:
        return None
    text = ast.unparse(annotation).replace("typing.", "").replace("pathlib.", "")
    for prefix in ("Optional[", "Union["):
        if text.startswith(prefix):
            text = text[len(prefix):].split(",")[0].rstrip("]")
    text = text.split("|")[0].strip()
    if text in ("int", "str", "float", "bool"):
        return text
    if text in ("Path", "os.PathLike", "PathLike"):
        return "path"
    return None
