"""A small abstract interpreter over a script's `ast`, following the repository's own imports.

It knows Python, no framework. It walks the script's statements in source order, tracks values
(`values.py`) through names, attributes, containers, f-strings and `%`/`format`, unrolls loops
over literal data, inlines calls to functions and classes defined in the repository (so a
parser built by `get_args_parser()` in another file is seen), and loads an imported repository
module (`Sources` resolves it as Python would) the first time one of its names is used, running
its module body once as Python does on import. Calls and decorators that name a framework's
package go to that framework (`framework.py`); code outside the repository is never read
except through a framework.

Functions of the script itself that nothing calls are walked afterwards (entry points first),
so `def add_args(parser)` helpers count; functions of imported modules count only when called.
Frameworks tell the script's own objects from a library's by `own_code` (the script's code is
running) and `dormant` (an imported module's body is running): a parser a helper module builds
for its own use adds nothing unless the script uses or parses it.
"""

from __future__ import annotations

import ast
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from runall.plan.flags import frameworks
from runall.plan.flags.framework import Framework, Found
from runall.plan.flags.values import (ARGV, MISSING, NOT_MINE, Bound, Class, Foreign, FrameworkValue, Func, Import,
                                      Instance, ModuleRef, Super, Unreadable, binop, describe, key,
                                      params_with_defaults, str_method)
from runall.plan.sources import ParsedModule, Sources

MAX_DEPTH = 12        # nested inlined calls
MAX_ITEMS = 256       # loop iterations unrolled
BUDGET = 150_000      # statements interpreted per script, all modules together

# Libraries whose command line is invisible statically (frameworks read the others).
OPAQUE_LIBS = {
    "getopt": "getopt", "simple_parsing": "simple_parsing", "optparse": "optparse",
    "plac": "plac", "defopt": "defopt", "clize": "clize", "gflags": "gflags",
}
# An imported function with one of these names, called bare from the script's own top level, is a
# delegated command line; one whose name looks like argument parsing, called anywhere, too.
ENTRY_POINTS = {"main", "cli", "cli_main", "run", "app", "entrypoint", "entry_point"}
_ARGISH = {"arg", "args", "argument", "arguments", "argv", "opt", "opts", "option", "options", "parser",
           "parse", "flags", "cli", "hparams", "hparam", "config", "cfg"}
_TEST_RUNNERS = {"unittest", "pytest", "doctest"}
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))

# Path functions of the standard library evaluated on literal strings (paths built for configs).
_PATH_FUNCTIONS: dict[str, Callable[..., str]] = {
    "os.path.join": lambda *parts: os.path.join(*parts),
    "os.path.dirname": lambda path: os.path.dirname(path),
    "os.path.basename": lambda path: os.path.basename(path),
}
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")
_COMPOUND = tuple(getattr(ast, name) for name in (
    "FunctionDef", "AsyncFunctionDef", "ClassDef", "If", "For", "AsyncFor", "While", "With", "AsyncWith",
    "Try", "TryStar", "Match", "ExceptHandler", "match_case") if hasattr(ast, name))
_LEAF_NODES = (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop)


@dataclass(frozen=True)
class ImportSpec:
    """One imported name: `import module` (name None) or `from .module import name`."""

    module: str | None
    name: str | None
    level: int
    line: int

    @property
    def qual(self) -> str:
        """The dotted origin: `pkg.mod.name`, `..mod.name`, `.name`."""
        base = "." * self.level + (self.module or "")
        if not self.name:
            return base
        return f"{base}{self.name}" if not base or base.endswith(".") else f"{base}.{self.name}"


class Scope:
    __slots__ = ("vars", "parent", "module", "is_class", "globals", "returns")

    def __init__(self, parent: "Scope | None", module: "Module", is_class: bool = False) -> None:
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.module = module
        self.is_class = is_class
        self.globals: set[str] = set()
        self.returns: list[Any] = []

    def get(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        return MISSING


@dataclass(eq=False)
class Module:
    """A module being interpreted: the script itself (`is_main`) or a repository module it imports."""

    parsed: ParsedModule
    name: str                                          # root-relative POSIX path, for messages
    is_main: bool
    imports: dict[str, ImportSpec] = field(default_factory=dict)
    stars: list[ImportSpec] = field(default_factory=list)
    resolved: dict[str, Any] = field(default_factory=dict)
    scope: Scope = field(init=False)

    def __post_init__(self) -> None:
        self.scope = Scope(None, self)
        self.scope.vars["__name__"] = "__main__" if self.is_main else self.name
        self.scope.vars["__file__"] = str(self.parsed.path)
        self.scope.vars["__doc__"] = ast.get_docstring(self.parsed.tree, clean=False)

    @property
    def path(self) -> Path:
        return self.parsed.path


def gather_imports(module: Module) -> None:
    """Every import in the module, wherever it is (only statements are visited)."""
    stack: list[list[Any]] = [module.parsed.tree.body]
    while stack:
        for stmt in stack.pop():
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    name = alias.asname or alias.name.split(".")[0]
                    target = alias.name if alias.asname else alias.name.split(".")[0]
                    module.imports[name] = ImportSpec(target, None, 0, stmt.lineno)
            elif isinstance(stmt, ast.ImportFrom):
                for alias in stmt.names:
                    spec = ImportSpec(stmt.module, alias.name, stmt.level, stmt.lineno)
                    if alias.name == "*":
                        module.stars.append(spec)
                    else:
                        module.imports[alias.asname or alias.name] = spec
            elif isinstance(stmt, _COMPOUND):
                stack.extend(inner for inner in (getattr(stmt, name, None) for name in _BODIES) if inner)


class Interpreter:
    """Walks one script (and what it uses of its repository) once; frameworks record what they see."""

    def __init__(self, sources: Sources, script: ParsedModule, name: str) -> None:
        self.sources = sources
        self.script = script
        self.script_name = name
        self.modules: dict[Path, Module | None] = {}
        self.frameworks: dict[str, Framework] = {}
        self.funcs: list[Func] = []                 # the script's own functions, walked if never called
        self.visited: set[ast.AST] = set()
        self.memo: dict[tuple, Any] = {}
        self.depth = 0
        self.importing = 0
        self.conditional = 0                        # > 0 inside a branch, loop or handler (main guard aside)
        self.calls: list[tuple[Func, list[Any]]] = []   # the functions being run, innermost last
        self.budget = BUDGET
        self.problems: dict[tuple[int, str, int, str], None] = {}   # (file order, file, line, message)
        self.files: dict[str, str] = {}             # every file read: root-relative path (or absolute) -> sha256
        self.hints: list[tuple[int, str]] = []
        self.opaque = False
        self.ignored = False
        self.main: Module | None = None
        self.current: Module | None = None
        self.scope: Scope | None = None

    # --- the API frameworks use ----------------------------------------------------------------

    @property
    def dormant(self) -> bool:
        """True while an imported module's body runs (its objects are not the script's yet)."""
        return self.importing > 0

    @property
    def own_code(self) -> bool:
        """True while the script's own code runs (not an imported module's)."""
        return self.current is not None and self.current.is_main and not self.dormant

    def problem(self, where: ast.AST | int, msg: str, opaque: bool = False) -> None:
        """Record something that could not be seen; `opaque` makes the script `unknown`."""
        line = where if isinstance(where, int) else getattr(where, "lineno", 0)
        module = self.current
        if module is None or module.is_main:
            self.problems[(0, "", line, f"line {line}: {msg}")] = None
        else:
            self.problems[(1, module.name, line, f"{module.name}:{line}: {msg}")] = None
        self.opaque = self.opaque or opaque

    def hint(self, where: ast.AST | int, msg: str) -> None:
        """A sign of a command line that cannot be seen; shown (and `unknown`) only when nothing else is found."""
        line = where if isinstance(where, int) else getattr(where, "lineno", 0)
        if self.current is not None and not self.current.is_main:
            msg = f"{msg} (in {self.current.name})"
        self.hints.append((line, msg))

    def ignore(self, where: ast.AST | int, msg: str) -> None:
        """Something that looks like a command line but was not taken (the script is `unknown`, not `none`)."""
        self.ignored = True
        self.problem(where, msg)

    def framework(self, name: str) -> Framework:
        """The framework registered as `name` (woken if needed)."""
        if name not in self.frameworks:
            entry = next(e for e in frameworks.REGISTRY if e.module == name)
            self.frameworks[name] = frameworks.load(entry)(self)
        return self.frameworks[name]

    def eval(self, node: ast.expr | None) -> Any:
        if node is None:
            return None
        return _EXPR_HANDLERS.get(type(node), Interpreter._e_generic)(self, node)

    def eval_in(self, node: ast.expr | None, scope: Scope) -> Any:
        """Evaluate `node` as if written where `scope` is (e.g. a class body's default values)."""
        if node is None:
            return None
        outer, outer_module = self.scope, self.current
        self.scope, self.current = scope, scope.module
        try:
            return self.eval(node)
        finally:
            self.scope, self.current = outer, outer_module

    def invoke(self, func: Func, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Run a repository function with these arguments (memoised; recursion and depth bounded)."""
        self.visited.add(func.node)
        memo_key = (func.node, tuple(map(key, args)), tuple(sorted((k, key(v)) for k, v in kwargs.items())))
        if memo_key in self.memo:
            return self.memo[memo_key]
        if self.depth >= MAX_DEPTH:
            return None
        self.memo[memo_key] = None  # recursion guard
        result = self._run_function(func, args, kwargs)
        self.memo[memo_key] = result
        return result

    def member(self, cls: Class, name: str, after: Class | None = None) -> Any:
        """`cls.name` through the repository classes of its bases (None when not found); with
        `after`, only in the classes that follow it (what `super()` finds)."""
        skipping = after is not None
        for klass in cls.mro():
            if skipping:
                skipping = klass is not after
                continue
            if isinstance(klass, Class) and name in klass.members:
                return klass.members[name]
        return None

    def framework_base(self, cls: Class) -> Import | None:
        """The first base from outside the repository along `cls`'s bases, if any."""
        return next((b for b in cls.mro() if isinstance(b, Import)), None)

    def load(self, path: Path) -> Module | None:
        """The repository module at `path`, its body run once (as on import); None if unreadable."""
        path = path.resolve()
        if path in self.modules:
            return self.modules[path]
        if not path.is_relative_to(self.sources.root):
            return None
        parsed = self.sources.module(path)
        name = path.relative_to(self.sources.root).as_posix()
        if name in self.sources.digests:
            self.files[name] = self.sources.digests[name]
        if parsed is None:
            self.modules[path] = None
            return None
        module = Module(parsed, name, is_main=False)
        gather_imports(module)
        self.modules[path] = module
        self._run_module(module)
        return module

    def read(self, path: Path) -> bytes | None:
        """A repository file's bytes (None if unreadable or outside), recorded as something the result depends on."""
        data = self.sources.read(path)
        if data is not None:
            name = path.resolve().relative_to(self.sources.root).as_posix()
            self.files[name] = self.sources.digests[name]
        return data

    def depend(self, path: str, digest: str) -> None:
        """Record a file outside the repository that the result depends on (installed source)."""
        self.files[path] = digest

    # --- running a script ---------------------------------------------------------------------

    def run(self) -> tuple[list[Found], bool]:
        """Interpret the script; returns each used framework's findings and whether it is opaque."""
        main = Module(self.script, self.script_name, is_main=True)
        gather_imports(main)
        self.files[main.name] = main.parsed.digest
        self.main = main
        self.modules[main.path] = main
        for entry in frameworks.REGISTRY:
            if entry.always:
                self.framework(entry.module)
        for spec in [*main.imports.values(), *main.stars]:
            self._wake(spec)
        self._run_module(main)
        self._drain_functions()
        found = [f for f in (fw.result() for fw in list(self.frameworks.values())) if f is not None]
        return found, self.opaque

    def close(self) -> None:
        """Break the reference cycles of this analysis (scopes, classes, frameworks), so that its
        objects, parsed trees included, are freed at once rather than by the cyclic collector."""
        for module in self.modules.values():
            if module is not None:
                for value in module.scope.vars.values():
                    if isinstance(value, Class):
                        value.members.clear()
                module.scope.vars.clear()
                module.scope.module = None   # type: ignore[assignment]
                module.resolved.clear()
        for framework in self.frameworks.values():
            vars(framework).clear()
        self.frameworks.clear()
        self.modules.clear()
        self.memo.clear()
        self.funcs.clear()
        self.visited.clear()
        self.scope = self.current = self.main = None

    def ordered_problems(self) -> list[str]:
        return [k[3] for k in sorted(self.problems)]

    def _wake(self, spec: ImportSpec) -> None:
        """Wake the frameworks an import names; note libraries whose command line is invisible."""
        if spec.level:
            return
        root = (spec.module or "").split(".")[0]
        for entry in frameworks.BY_ROOT.get(root, ()):
            self.framework(entry.module)
        if root in OPAQUE_LIBS:
            self.hint(spec.line, f"uses {OPAQUE_LIBS[root]}, whose options are not visible statically")
        elif spec.qual == "sys.argv":
            self.hint(spec.line, "reads sys.argv directly")

    def _run_module(self, module: Module) -> None:
        outer = (self.scope, self.current, self.depth)
        self.scope, self.current, self.depth = module.scope, module, 0 if module.is_main else self.depth
        if not module.is_main:
            self.importing += 1
        try:
            self._block(module.parsed.tree.body)
        finally:
            if not module.is_main:
                self.importing -= 1
            self.scope, self.current, self.depth = outer

    def _drain_functions(self) -> None:
        """Walk the script's functions no interpreted code called, entry points (never called by name) first."""
        while True:
            pending = [f for f in self.funcs if f.node not in self.visited]
            if not pending:
                return
            for func in self._entry_points_first(pending):
                if func.node not in self.visited:
                    self._standalone(func)

    def _entry_points_first(self, pending: list[Func]) -> list[Func]:
        """Functions whose name is not called anywhere in the text come first (a cheap over-approximation)."""
        if len(pending) < 2 or self.main is None:
            return pending
        text = self.main.parsed.source.decode("latin-1")
        defined = Counter(f.node.name for f in self.funcs)
        return sorted(pending, key=lambda f: text.count(f.node.name + "(") > defined[f.node.name])

    def _standalone(self, func: Func) -> None:
        self.visited.add(func.node)
        first: list[Any] = []
        if func.owner is not None and func.kind in ("method", "class"):
            first = [Instance(func.owner) if func.kind == "method" else func.owner]
        outer = self.current
        self.current = func.module
        try:
            self._run_function(func, first, {})
        finally:
            self.current = outer

    def _run_function(self, func: Func, args: list[Any], kwargs: dict[str, Any]) -> Any:
        outer, outer_module = self.scope, self.current
        self.scope, self.current = Scope(func.scope, func.module), func.module
        self.depth += 1
        self.calls.append((func, args))
        try:
            self._bind_params(func.node.args, args, kwargs, func.scope)
            self._block(func.node.body)
            returns = self.scope.returns
        finally:
            self.calls.pop()
            self.scope, self.current, self.depth = outer, outer_module, self.depth - 1
        interesting = [r for r in returns if isinstance(r, (FrameworkValue, Foreign, Instance, dict))]
        return (interesting or [r for r in returns if r is not None] or [None])[0]

    def _bind_params(self, spec: ast.arguments, args: list[Any], kwargs: dict[str, Any], defining: Scope) -> None:
        positional = spec.posonlyargs + spec.args
        for i, (arg, default) in enumerate(params_with_defaults(spec)):
            if i < len(positional) and i < len(args):
                value = args[i]
            elif arg.arg in kwargs:
                value = kwargs[arg.arg]
            else:
                value = self.eval_in(default, defining)
            self.scope.vars[arg.arg] = None if value is MISSING else value
        if spec.vararg is not None:
            self.scope.vars[spec.vararg.arg] = tuple(args[len(positional):]) if len(args) > len(positional) else None
        if spec.kwarg is not None:
            named = {arg.arg for arg, _ in params_with_defaults(spec)}
            extra = {k: v for k, v in kwargs.items() if k not in named and k != "**"}
            self.scope.vars[spec.kwarg.arg] = extra if extra and "**" not in kwargs else None

    # --- statements ---------------------------------------------------------------------------

    def _block(self, body: Iterable[ast.stmt]) -> None:
        for stmt in body:
            self.budget -= 1
            if self.budget < 0:
                if self.budget == -1:
                    self.problem(stmt.lineno, "script too large to analyse fully", opaque=True)
                return
            _STMT_HANDLERS.get(type(stmt), Interpreter._s_generic)(self, stmt)

    def _s_generic(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                self._block([child])
            elif isinstance(child, ast.expr):
                self.eval(child)
            elif not isinstance(child, _LEAF_NODES):
                self._s_generic(child)

    def _s_If(self, node: ast.If) -> None:
        self.eval(node.test)
        if _is_main_guard(node.test):
            if self.current is not None and not self.current.is_main:
                self._block(node.orelse)   # an imported module's `if __name__ == "__main__":` does not run
            else:
                self._block(node.body)
            return
        self._branches(node.body, node.orelse)

    def _s_While(self, node: ast.While) -> None:
        self.eval(node.test)
        self._branches(node.body, node.orelse)

    def _s_Try(self, node: ast.Try) -> None:
        self._block(node.body)
        for handler in node.handlers:
            self.eval(handler.type)
        self._branches(*(handler.body for handler in node.handlers))
        self._block(node.orelse)
        self._block(node.finalbody)

    def _branches(self, *blocks: list[ast.stmt]) -> None:
        """Statements that may or may not run (branches, loop bodies, handlers)."""
        self.conditional += 1
        try:
            for block in blocks:
                self._block(block)
        finally:
            self.conditional -= 1

    _s_TryStar = _s_Try

    def _s_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            value = self.eval(item.context_expr)
            if item.optional_vars is not None:
                self._bind(item.optional_vars, value)
        self._block(node.body)

    _s_AsyncWith = _s_With

    def _s_Pass(self, node: ast.stmt) -> None:
        """Nothing to learn."""

    _s_Break = _s_Continue = _s_Pass

    def _s_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        """The script's own top-level imports load the repository modules they name, as Python
        does (their bodies may define options, as flag libraries do); other modules' imports are resolved
        when a name is first used. One inside a function or class binds its names there."""
        if self.current is None:
            return
        if self.scope is self.current.scope:
            if self.current.is_main and self.depth == 0:
                for alias in node.names:
                    if alias.name != "*":
                        value = self.global_value(self.current, alias.asname or alias.name.split(".")[0])
                        if isinstance(value, ModuleRef):
                            self.load(value.path)
            return
        for alias in node.names:
            if isinstance(node, ast.Import):
                name = alias.asname or alias.name.split(".")[0]
                spec = ImportSpec(alias.name if alias.asname else alias.name.split(".")[0], None, 0, node.lineno)
            elif alias.name == "*":
                continue
            else:
                name, spec = alias.asname or alias.name, ImportSpec(node.module, alias.name, node.level, node.lineno)
            value = self._import_value(self.current, spec)
            self.scope.vars[name] = None if value is MISSING else value

    _s_ImportFrom = _s_Import

    def _s_Expr(self, node: ast.Expr) -> None:
        self.eval(node.value)

    def _s_Assign(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self._bind(target, value)

    def _s_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, self.eval(node.value))

    def _s_AugAssign(self, node: ast.AugAssign) -> None:
        current = self.eval(node.target)
        self._bind(node.target, binop(node.op, current, self.eval(node.value)))

    def _s_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.scope.returns.append(self.eval(node.value))

    def _s_Global(self, node: ast.Global) -> None:
        self.scope.globals.update(node.names)

    def _s_For(self, node: ast.For | ast.AsyncFor) -> None:
        items = self._iter_values(self.eval(node.iter))
        self.conditional += items is None
        try:
            for item in items if items is not None else [None]:
                self._bind(node.target, item)
                self._block(node.body)
            self._block(node.orelse)
        finally:
            self.conditional -= items is None

    _s_AsyncFor = _s_For

    def _s_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = self.scope.parent if self.scope.is_class else self.scope
        func = Func(node, scope, _func_kind(node, self.scope.is_class))
        if self.current is not None and self.current.is_main:
            self.funcs.append(func)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.eval(default)
        self._set(node.name, self._decorate(func))

    _s_AsyncFunctionDef = _s_FunctionDef

    def _s_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [self.eval(b) for b in node.bases]
        for dec in node.decorator_list:
            self.eval(dec)
        cls = Class(node.name, node, bases, self.scope)
        outer = self.scope
        self.scope = Scope(outer, outer.module, is_class=True)
        try:
            self._block(node.body)
            members = self.scope.vars
        finally:
            self.scope = outer
        for name, value in members.items():
            if isinstance(value, Func):
                value.owner = cls
            cls.members[name] = value
        self._set(node.name, cls)

    # --- binding ------------------------------------------------------------------------------

    def _set(self, name: str, value: Any) -> None:
        scope = self.current.scope if name in self.scope.globals and self.current else self.scope
        scope.vars[name] = value

    def _bind(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self._set(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts = value if isinstance(value, tuple) and len(value) == len(target.elts) else None
            for i, elt in enumerate(target.elts):
                self._bind(elt.value if isinstance(elt, ast.Starred) else elt, parts[i] if parts else None)
        elif isinstance(target, ast.Attribute):
            owner = self.eval(target.value)
            if isinstance(owner, Foreign) and owner.adopted is not None:
                owner = owner.adopted
            if isinstance(owner, Instance):
                owner.attrs[target.attr] = value
            if isinstance(owner, FrameworkValue):
                owner.set_attribute(self, target, target.attr, value)
            cls = owner.cls if isinstance(owner, (Instance, FrameworkValue)) else owner
            if isinstance(cls, Class):
                cls.members[target.attr] = value
        elif isinstance(target, ast.Subscript):
            owner, index = self.eval(target.value), self.eval(target.slice)
            if isinstance(owner, dict) and isinstance(index, (str, int)):
                owner[index] = value

    # --- expressions --------------------------------------------------------------------------

    def _e_generic(self, node: ast.AST) -> None:
        self._s_generic(node)

    def _e_Compare(self, node: ast.Compare) -> None:
        self.eval(node.left)
        for comparator in node.comparators:
            self.eval(comparator)

    def _e_BoolOp(self, node: ast.BoolOp) -> Any:
        values = [self.eval(value) for value in node.values]
        if isinstance(node.op, ast.Or):   # `x or default`: the first value known to be truthy
            return next((v for v in values if v is not None and v is not MISSING), None)
        return None

    def _e_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        if isinstance(node.op, ast.USub) and type(value) in (int, float):
            return -value
        return None

    def _e_IfExp(self, node: ast.IfExp) -> Any:
        self.eval(node.test)
        body, orelse = self.eval(node.body), self.eval(node.orelse)
        return body if key(body) == key(orelse) else None

    def _e_Await(self, node: ast.Await) -> Any:
        return self.eval(node.value)

    def _e_Lambda(self, node: ast.Lambda) -> None:
        """A lambda's body runs only when called; it defines no options here."""

    def _e_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _e_Name(self, node: ast.Name) -> Any:
        value = self.scope.get(node.id)
        if value is not MISSING:
            return value
        return self.global_value(self.current, node.id, missing=None)

    def global_value(self, module: Module, name: str, missing: Any = MISSING) -> Any:
        """`name` at the top level of `module`: its own binding, else what an import binds it to."""
        if name in module.scope.vars:
            return module.scope.vars[name]
        if name in module.resolved:
            return module.resolved[name]
        spec = module.imports.get(name)
        module.resolved[name] = None   # guards import cycles
        value = self._import_value(module, spec) if spec is not None else self._star_value(module, name)
        module.resolved[name] = value
        return missing if value is MISSING else value

    def _star_value(self, module: Module, name: str) -> Any:
        for spec in module.stars:
            path = self.sources.resolve(module.path, spec.module, spec.level)
            target = self.load(path) if path is not None else None
            if target is not None:
                value = self.global_value(target, name)
                if value is not MISSING:
                    return value
        return MISSING

    def _import_value(self, module: Module, spec: ImportSpec) -> Any:
        qual = spec.qual
        root = (spec.module or "").split(".")[0]
        if not spec.level and (root in frameworks.BY_ROOT or root in _STDLIB):
            return Import(qual)   # a framework's or the standard library's: never read as repository code
        if spec.name is None:
            path = self.sources.resolve(module.path, spec.module, spec.level)
            return ModuleRef(path) if path is not None else Import(qual)
        sub = self.sources.resolve_member(module.path, spec.module, spec.name, spec.level)
        if sub is not None:
            return ModuleRef(sub)
        path = self.sources.resolve(module.path, spec.module, spec.level)
        if path is None:
            return Unreadable(qual, "") if spec.level else Import(qual)
        target = self.load(path)
        rel = path.resolve().relative_to(self.sources.root).as_posix()
        if target is None:
            return Unreadable(qual, rel)
        value = self.global_value(target, spec.name)
        return Unreadable(qual, rel) if value is MISSING else value

    def _module_attr(self, ref: ModuleRef, name: str) -> Any:
        target = self.load(ref.path)
        rel = ref.path.resolve().relative_to(self.sources.root).as_posix()
        if target is None:
            return Unreadable(f"{rel}.{name}", rel)
        value = self.global_value(target, name)
        if value is not MISSING:
            return value
        if ref.path.name == "__init__.py":
            for candidate in (ref.path.parent / f"{name}.py", ref.path.parent / name / "__init__.py"):
                if candidate.is_file():
                    return ModuleRef(candidate)
        return Unreadable(f"{rel}.{name}", rel)

    def _e_Attribute(self, node: ast.Attribute) -> Any:
        base = self.eval(node.value)
        return self.attribute(node, base, node.attr)

    def attribute(self, node: ast.AST, base: Any, name: str) -> Any:
        if isinstance(base, Foreign) and base.adopted is not None:
            base = base.adopted
        if isinstance(base, Import):
            if base.qual == "sys" and name == "argv":
                if self.current is not None and self.current.is_main:
                    self.hint(node, "reads sys.argv directly")
                return ARGV
            made = self._ask_frameworks(base, lambda fw: fw.attribute(node, base, name))
            return Import(f"{base.qual}.{name}") if made is NOT_MINE else made
        if isinstance(base, ModuleRef):
            return self._module_attr(base, name)
        if isinstance(base, Unreadable):
            return Unreadable(f"{base.qual}.{name}", base.path)
        if isinstance(base, Instance):
            found = base.attrs[name] if name in base.attrs else self.member(base.cls, name)
            return Bound(base, name) if isinstance(found, Func) and found.kind == "method" else found
        if isinstance(base, Class):
            return self.member(base, name)
        if isinstance(base, FrameworkValue):
            if base.cls is not None:
                found = self.member(base.cls, name)
                if found is not None:
                    return Bound(base, name) if isinstance(found, Func) and found.kind == "method" else found
            found = base.attribute(self, name)
            return Bound(base, name) if found is None else found
        return None

    def _e_Tuple(self, node: ast.Tuple | ast.List | ast.Set) -> tuple:
        out: list[Any] = []
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                inner = self.eval(elt.value)
                out.extend(inner if isinstance(inner, tuple) else [None])
            else:
                out.append(self.eval(elt))
        return tuple(out)

    _e_List = _e_Tuple
    _e_Set = _e_Tuple

    def _e_Dict(self, node: ast.Dict) -> dict | None:
        out: dict[Any, Any] = {}
        exact = True
        for k, v in zip(node.keys, node.values):
            value = self.eval(v)
            if k is None:   # {**other}
                if isinstance(value, dict):
                    out.update(value)
                else:
                    exact = False
                continue
            name = self.eval(k)
            if isinstance(name, (str, int)):
                out[name] = value
            else:
                exact = False
        return out if exact else None

    def _e_JoinedStr(self, node: ast.JoinedStr) -> str | None:
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                inner = self.eval(value.value)
                self.eval(value.format_spec)
                if value.format_spec is not None or not isinstance(inner, (str, int)):
                    return None
                parts.append(repr(inner) if value.conversion == ord("r") else str(inner))
            else:
                parts.append(str(self.eval(value)))
        return "".join(parts)

    def _e_BinOp(self, node: ast.BinOp) -> Any:
        chain = [node]  # left-nested chains (`a + b + c + ...`) iteratively: they can be long
        while isinstance(chain[-1].left, ast.BinOp):
            chain.append(chain[-1].left)
        value = self.eval(chain[-1].left)
        for link in reversed(chain):
            value = binop(link.op, value, self.eval(link.right))
        return value

    def _e_Subscript(self, node: ast.Subscript) -> Any:
        base, index = self.eval(node.value), self.eval(node.slice)
        if base is ARGV:
            return ARGV
        try:
            if isinstance(base, tuple) and isinstance(index, int):
                return base[index]
            if isinstance(base, dict) and isinstance(index, (str, int)):
                return base.get(index)
        except IndexError:
            pass
        return None

    def _e_NamedExpr(self, node: ast.NamedExpr) -> Any:
        value = self.eval(node.value)
        self._bind(node.target, value)
        return value

    def _e_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> tuple | None:
        outer = self.scope
        self.scope = Scope(outer, outer.module)
        try:
            results: list[Any] = []
            exact = self._comprehend(node.generators, lambda: results.append(self.eval(node.elt)))
        finally:
            self.scope = outer
        return tuple(results) if exact else None

    _e_SetComp = _e_ListComp
    _e_GeneratorExp = _e_ListComp

    def _e_DictComp(self, node: ast.DictComp) -> dict | None:
        outer = self.scope
        self.scope = Scope(outer, outer.module)
        try:
            pairs: list[tuple[Any, Any]] = []
            exact = self._comprehend(node.generators, lambda: pairs.append((self.eval(node.key), self.eval(node.value))))
        finally:
            self.scope = outer
        if not exact or not all(isinstance(k, (str, int)) for k, _ in pairs):
            return None
        return dict(pairs)

    def _comprehend(self, generators: list[ast.comprehension], emit: Callable[[], None]) -> bool:
        """Unroll comprehension loops over literal data; True when the result is exact."""
        first, rest = generators[0], generators[1:]
        items = self._iter_values(self.eval(first.iter))
        exact = items is not None and not first.ifs
        for item in items if items is not None else [None]:
            self._bind(first.target, item)
            for cond in first.ifs:
                self.eval(cond)
            if rest:
                exact = self._comprehend(rest, emit) and exact
            else:
                emit()
        return exact

    def _iter_values(self, value: Any) -> list[Any] | None:
        if isinstance(value, tuple):
            return list(value[:MAX_ITEMS])
        if isinstance(value, dict):
            return list(value)[:MAX_ITEMS]
        return None

    # --- calls ----------------------------------------------------------------------------------

    def _e_Call(self, node: ast.Call) -> Any:
        func = node.func
        receiver = self.eval(func.value) if isinstance(func, ast.Attribute) else MISSING
        callee = self.eval(func) if receiver is MISSING else None
        args: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                inner = self.eval(arg.value)
                args.extend(inner if isinstance(inner, tuple) else [MISSING])
            else:
                args.append(self.eval(arg))
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            value = self.eval(keyword.value)
            if keyword.arg:
                kwargs[keyword.arg] = value
            elif isinstance(value, dict) and all(isinstance(k, str) for k in value):
                kwargs.update(value)
            else:
                kwargs["**"] = MISSING
        if receiver is not MISSING:
            return self._method(node, receiver, func.attr, args, kwargs)  # type: ignore[union-attr]
        if callee is None and isinstance(func, ast.Name) and self.scope.get(func.id) is MISSING \
                and func.id not in self.current.imports:
            return self._builtin(node, func.id, args, kwargs)
        return self.call(node, callee, args, kwargs)

    def call(self, node: ast.Call, callee: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call `callee` (a value) with evaluated arguments."""
        if isinstance(callee, Func):
            return self.invoke(callee, args, kwargs)
        if isinstance(callee, Class):
            return self._instantiate(node, callee, args, kwargs)
        if isinstance(callee, Import):
            return self._call_import(node, callee, args, kwargs)
        if isinstance(callee, Unreadable):
            self._external_call(node, callee.qual, args, kwargs, readable=False)
            return Foreign(node, callee.qual)
        if isinstance(callee, Bound):
            return self._method(node, callee.obj, callee.name, args, kwargs)
        if isinstance(callee, FrameworkValue):
            return callee.method(self, node, "__call__", args, kwargs)
        return None

    def _method(self, node: ast.Call, receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if isinstance(receiver, Foreign) and receiver.adopted is not None:
            receiver = receiver.adopted
        if isinstance(receiver, (Import, ModuleRef, Unreadable)):
            return self.call(node, self.attribute(node, receiver, name), args, kwargs)
        if isinstance(receiver, Super):
            member = self.member(receiver.owner, name, after=receiver.owner)
            if isinstance(member, Func):
                bound = member.kind == "method" or member.kind == "class"
                return self.invoke(member, [receiver.obj, *args] if bound else args, kwargs)
            if isinstance(receiver.obj, FrameworkValue) and name != "__init__":
                return receiver.obj.method(self, node, name, args, kwargs)
            return None
        if isinstance(receiver, (Instance, Class)):
            if any(a is ARGV for a in args):
                for framework in list(self.frameworks.values()):
                    if framework.argv_call(node, receiver, name) is not NOT_MINE:
                        return None
            return self._call_member(node, receiver, name, args, kwargs)
        if isinstance(receiver, FrameworkValue):
            if receiver.cls is not None:
                member = self.member(receiver.cls, name)
                if isinstance(member, Func):
                    return self.invoke(member, [receiver, *args], kwargs)
            return receiver.method(self, node, name, args, kwargs)
        if isinstance(receiver, str):
            return str_method(receiver, name, args, kwargs)
        if isinstance(receiver, dict):
            return _dict_method(receiver, name, args, kwargs)
        if receiver is None or isinstance(receiver, Foreign):
            for framework in list(self.frameworks.values()):
                made = framework.unknown_method(node, receiver, name, args, kwargs)
                if made is not NOT_MINE:
                    return made
        return None

    def _call_member(self, node: ast.Call, receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        cls = receiver.cls if isinstance(receiver, Instance) else receiver
        member = receiver.attrs.get(name) if isinstance(receiver, Instance) and name in receiver.attrs else None
        if member is not None:
            return self.call(node, member, args, kwargs)
        member = self.member(cls, name)
        if isinstance(member, Func):
            bound = (isinstance(receiver, Instance) and member.kind == "method") or member.kind == "class"
            return self.invoke(member, [receiver, *args] if bound else args, kwargs)
        return self.call(node, member, args, kwargs)

    def _instantiate(self, node: ast.Call, cls: Class, args: list[Any], kwargs: dict[str, Any]) -> Any:
        base = self.framework_base(cls)
        made: Any = NOT_MINE
        if base is not None:
            made = self._ask_frameworks(base, lambda fw: fw.call(node, base, args, kwargs, subclass=cls))
        if made is NOT_MINE or made is None:
            made = Instance(cls)
        elif isinstance(made, FrameworkValue):
            made.cls = cls
        init = self.member(cls, "__init__")
        if isinstance(init, Func):
            self.invoke(init, [made, *args], kwargs)
        return made

    def _ask_frameworks(self, callee: Import, ask: Callable[[Framework], Any]) -> Any:
        for entry in frameworks.BY_ROOT.get(callee.root, ()):
            made = ask(self.framework(entry.module))
            if made is not NOT_MINE:
                return made
        return NOT_MINE

    def _call_import(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if callee.qual in _PATH_FUNCTIONS and args and all(isinstance(a, str) for a in args) and not kwargs:
            return _PATH_FUNCTIONS[callee.qual](*args)
        made = self._ask_frameworks(callee, lambda fw: fw.call(node, callee, args, kwargs))
        if made is not NOT_MINE:
            return made
        self._external_call(node, callee.qual, args, kwargs, readable=True)
        return Foreign(node, callee.qual)

    def _external_call(self, node: ast.Call, qual: str, args: list[Any], kwargs: dict[str, Any],
                       readable: bool) -> None:
        """A call into code outside the repository, or into a repository module that cannot be read:
        framework objects handed to it escape, and one that may build the command line is a hint."""
        for value in [*args, *kwargs.values()]:
            if isinstance(value, Foreign) and value.adopted is not None:
                value = value.adopted
            if isinstance(value, FrameworkValue):
                value.escapes(self, node, qual)
        if not readable:
            self.hint(node, f"calls {describe(node.func)}() from {qual.rsplit('.', 1)[0]}, which cannot be read")
            return
        root = qual.lstrip(".").split(".")[0]
        leaf = qual.split(".")[-1]
        if root in _STDLIB or root in _TEST_RUNNERS or self.current is None or not self.current.is_main:
            return
        words = set(leaf.lower().split("_"))
        if (self.depth == 0 and not args and not kwargs and leaf in ENTRY_POINTS) or words & _ARGISH:
            self.hint(node, f"calls {describe(node.func)}() from {qual.rsplit('.', 1)[0] or qual}, "
                            "defined outside this repository")

    def _builtin(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        for entry in frameworks.BY_BUILTIN.get(name, ()):
            made = self.framework(entry.module).builtin(node, name, args, kwargs)
            if made is not NOT_MINE:
                return made
        if name == "super" and self.calls:
            func, call_args = self.calls[-1]
            if func.owner is not None and call_args:
                return Super(func.owner, call_args[0])
            return None
        if name == "dict":
            base = args[0] if args and isinstance(args[0], dict) else {} if not args else None
            if base is None or "**" in kwargs:
                return None
            return {**base, **kwargs}
        if name in ("list", "tuple", "sorted") and len(args) == 1:
            items = self._iter_values(args[0])
            return tuple(sorted(items, key=str) if name == "sorted" else items) if items is not None else None
        if name == "str" and len(args) == 1 and isinstance(args[0], (str, int, float)):
            return str(args[0])
        if name == "getattr" and len(args) >= 2 and isinstance(args[1], str):
            return self.attribute(node, args[0], args[1])
        return None

    # --- decorators -------------------------------------------------------------------------------

    def _decorate(self, func: Func) -> Any:
        """Apply the decorators frameworks understand (innermost first); returns the name's binding."""
        bound: Any = func
        for dec in reversed(func.node.decorator_list):
            call = dec if isinstance(dec, ast.Call) else None
            expr = call.func if call else dec
            owner = self.eval(expr.value) if isinstance(expr, ast.Attribute) else MISSING
            target = self.attribute(expr, owner, expr.attr) if owner is not MISSING else self.eval(expr)  # type: ignore[union-attr]
            args = [self.eval(a) for a in call.args] if call else []
            kwargs = {k.arg: self.eval(k.value) for k in call.keywords if k.arg} if call else {}
            made: Any = NOT_MINE
            if isinstance(owner, FrameworkValue):
                made = owner.decorate(self, dec, expr.attr, args, kwargs, func, bound)  # type: ignore[union-attr]
            elif isinstance(target, FrameworkValue):
                made = target.decorate(self, dec, "", args, kwargs, func, bound)
            elif isinstance(target, Import):
                made = self._ask_frameworks(target, lambda fw: fw.decorate(dec, target, args, kwargs, func, bound))
            if made is not NOT_MINE:
                bound = made
        return bound


def _dict_method(receiver: dict, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if name == "items":
        return tuple(receiver.items())
    if name == "keys":
        return tuple(receiver)
    if name == "values":
        return tuple(receiver.values())
    if name == "get" and args and isinstance(args[0], (str, int)):
        return receiver.get(args[0], args[1] if len(args) > 1 else None)
    if name == "copy":
        return dict(receiver)
    if name == "update":
        if args and isinstance(args[0], dict):
            receiver.update(args[0])
        receiver.update({k: v for k, v in kwargs.items() if k != "**"})
    if name == "setdefault" and args and isinstance(args[0], (str, int)):
        return receiver.setdefault(args[0], args[1] if len(args) > 1 else None)
    if name == "pop" and args and isinstance(args[0], (str, int)):
        return receiver.pop(args[0], None)
    return None


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _func_kind(node: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> str:
    if not in_class:
        return "function"
    names = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
    return "static" if "staticmethod" in names else "class" if "classmethod" in names else "method"


def _handlers(prefix: str) -> dict[type, Any]:
    """Node type -> the `Interpreter` method named after it (e.g. `_e_Call` for `ast.Call`)."""
    return {getattr(ast, name[len(prefix):]): method for name, method in vars(Interpreter).items()
            if name.startswith(prefix) and hasattr(ast, name[len(prefix):])}


_STMT_HANDLERS = _handlers("_s_")
_EXPR_HANDLERS = _handlers("_e_")
