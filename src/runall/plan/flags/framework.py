"""The protocol between the generic interpreter and one command-line framework.

The interpreter (`interpreter.py`) knows Python, not argparse: when the code it walks calls or
decorates with a name imported from a framework's package, or calls a builtin a framework
claims (`exec`), it asks that framework. A framework answers with its own values (a parser,
a command: `values.FrameworkValue`), which then answer their own method calls, and at the end
says what it found (`Found`). Adding a framework is one module under `frameworks/` defining
`FRAMEWORK` (a `Framework` subclass) plus one line in `frameworks.REGISTRY`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Class, Func, Import

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter


@dataclass
class Found:
    """What one framework saw in a script: the `cli` kind it reports, its options, argv items
    the script needs before them, and notes for `--inspect`."""

    cli: str
    options: list[Option] = field(default_factory=list)
    leading: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


class Framework:
    """One command-line framework; every hook may return `NOT_MINE` to let the next one try."""

    def __init__(self, ctx: "Interpreter") -> None:
        self.ctx = ctx

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any],
             subclass: Class | None = None) -> Any:
        """`callee(*args, **kwargs)`, or instantiating `subclass`, a repository class deriving from it."""
        return NOT_MINE

    def decorate(self, node: ast.expr, callee: Import, args: list[Any], kwargs: dict[str, Any],
                 func: Func, bound: Any) -> Any:
        """Decorator `callee(*args, **kwargs)` (or bare `callee`) on `func`; `bound` is what the
        name is bound to so far. Returns the new binding."""
        return NOT_MINE

    def attribute(self, node: ast.AST, base: Import, name: str) -> Any:
        """`base.name` for a name from the framework's package (e.g. absl's `flags.FLAGS`)."""
        return NOT_MINE

    def unknown_method(self, node: ast.Call, receiver: Any, name: str, args: list[Any],
                       kwargs: dict[str, Any]) -> Any:
        """`receiver.name(...)` where the receiver is not known (None) or came from outside (`Foreign`)."""
        return NOT_MINE

    def argv_call(self, node: ast.Call, receiver: Any, name: str) -> Any:
        """`receiver.name(sys.argv[1:])` on a repository object: the object may be a configuration
        filled from the command line."""
        return NOT_MINE

    def builtin(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A call of builtin `name` (only for the builtins the registry line names)."""
        return NOT_MINE

    def result(self) -> Found | None:
        """What the script's command line holds, or None when this framework was not used."""
        return None
