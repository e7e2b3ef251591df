"""typer: options from the signatures of `typer.run(f)`, `@app.command()` and `@app.callback()`.

An app counts only where the script calls it (`app()`): typer's decorators return the plain
function, so a script that calls `train()` itself parses no command line.

A parameter with a default becomes `--name-with-dashes` (booleans `--x/--no-x`); one without a
default, or marked `typer.Argument`, is positional. `typer.Option("--out", "-o")` and
`Annotated[..., typer.Option(...)]` declare the spellings explicitly.
"""

from __future__ import annotations

import ast
from typing import Any

from runall.plan.flags.frameworks.click import Command, CommandFramework
from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Func, Import, as_text, params_with_defaults, scalar, type_name



class TyperFramework(CommandFramework):
    cli = "typer"

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any], subclass: Any = None) -> Any:
        if callee.qual == "typer.Typer":
            return self.new_command("", True, has_callback=kwargs.get("callback") is not None)
        if callee.qual == "typer.run" and args and isinstance(args[0], Func):
            command = self.new_command("", False)
            command.invoked = True
            self.fill(command, args[0])
            return None
        return NOT_MINE

    def runs(self, command: Command) -> bool:
        """A typer app parses the command line only when called (`app()`); calling a decorated
        function runs it without one."""
        return command.invoked

    def fill(self, command: Command, func: Func) -> None:
        command.options = [o for o in (self._param(func, arg, default)
                                       for arg, default in params_with_defaults(func.node.args)) if o is not None]

    def _param(self, func: Func, arg: ast.arg, default: ast.expr | None) -> Option | None:
        marker, decls, help = self._marker(func, arg.annotation, default)
        if marker == "Argument" or (marker is None and default is None):
            return None  # typer turns parameters without defaults into positional arguments
        if decls is None:
            self.ctx.problem(arg, "typer option names are not literals", opaque=True)
            return None
        annotation = ast.unparse(arg.annotation) if arg.annotation is not None else ""
        if "Context" in annotation:
            return None
        is_bool = "bool" in annotation or (isinstance(default, ast.Constant) and isinstance(default.value, bool))
        if not decls:
            long = "--" + arg.arg.lower().replace("_", "-")
            decls = [f"{long}/--no-{long[2:]}" if is_bool else long]
        strings = tuple(s.strip() for d in decls for s in d.split("/") if s.strip())
        value = default.value if isinstance(default, ast.Constant) else None
        annotated = arg.annotation.slice.elts[0] if isinstance(arg.annotation, ast.Subscript) \
            and isinstance(arg.annotation.slice, ast.Tuple) else arg.annotation
        return Option(strings, arg.arg, None, not is_bool, help=help, default=scalar(value),
                      type=type_name(annotated))

    def _marker(self, func: Func, annotation: ast.expr | None,
                default: ast.expr | None) -> tuple[str | None, list[str] | None, str | None]:
        """("Option"/"Argument"/None, explicit declarations, help) from `Annotated[...]` or the default."""
        candidates: list[tuple[ast.expr, int]] = []
        if isinstance(annotation, ast.Subscript) and isinstance(annotation.slice, ast.Tuple):
            candidates += [(e, 0) for e in annotation.slice.elts[1:]]
        if default is not None:
            candidates.append((default, 1))
        for expr, skip in candidates:
            if not isinstance(expr, ast.Call):
                continue
            target = self.ctx.eval_in(expr.func, func.scope)
            kind = target.leaf if isinstance(target, Import) and target.qual.startswith("typer.") else None
            if kind in ("Option", "Argument"):
                values = [self.ctx.eval_in(a, func.scope) for a in expr.args[skip:]]
                help = next((as_text(self.ctx.eval_in(k.value, func.scope)) for k in expr.keywords if k.arg == "help"),
                            None)
                if not all(isinstance(v, str) for v in values):
                    return kind, None, help
                return kind, [v for v in values if v.startswith("-")], help
        return None, [], None


FRAMEWORK = TyperFramework
