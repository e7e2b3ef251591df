"""Stage 3, flags: learn which command-line options a training script defines, by reading it.

The script is parsed with `ast` and walked by a small abstract interpreter; it is never
imported or run. The interpreter follows names bound to parsers (argparse, configargparse,
HfArgumentParser), argument groups and subparsers, resolves option strings held in string
constants, f-strings, tuples and loops over literals, inlines calls to functions and methods
defined in the same file (so helper-built parsers, `parents=` parsers and
`def add_args(parser)` helpers are seen with the right subcommand), and reads click and typer
commands from decorators and signatures. Text that merely mentions an option (docstrings,
comments, help strings, prints) never counts, because only calls on parsers are read.

Whatever cannot be seen is reported as a problem line. A script whose parser is built from
code or data outside the file (an imported parser, an option string that is not a literal,
a parser handed to an imported function) is `cli == "unknown"`, as is a script whose only
command line is `sys.argv`, getopt, fire, absl flags, docopt, hydra and the like.

Dataclass fields of `HfArgumentParser` become `--field_name` (plus `--field-name`, as recent
transformers adds, and `--no_field_name` for booleans defaulting to True). Fields of the
imported `transformers.TrainingArguments` cannot be read; for it, and for
`Seq2SeqTrainingArguments`, the well-known fields in `TRAINING_ARGUMENTS_FIELDS` are recorded
instead (the real class has about a hundred more) and a problem line says so.
"""

from __future__ import annotations

import ast
import pathlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator

ANALYSER_VERSION = 1  # bump whenever the analyser's output for some source changes

CLI_KINDS = ("argparse", "click", "typer", "hf_dataclass", "mixed", "none", "unknown")

# Well-known fields of transformers' TrainingArguments: (field, takes_value). Roles use
# output_dir, num_train_epochs, per_device_train_batch_size and seed.
TRAINING_ARGUMENTS_FIELDS: tuple[tuple[str, bool], ...] = (
    ("output_dir", True),
    ("overwrite_output_dir", False),
    ("do_train", False),
    ("do_eval", False),
    ("do_predict", False),
    ("num_train_epochs", True),
    ("max_steps", True),
    ("per_device_train_batch_size", True),
    ("per_device_eval_batch_size", True),
    ("gradient_accumulation_steps", True),
    ("learning_rate", True),
    ("weight_decay", True),
    ("warmup_steps", True),
    ("logging_dir", True),
    ("logging_steps", True),
    ("save_steps", True),
    ("seed", True),
    ("data_seed", True),
    ("fp16", False),
    ("bf16", False),
    ("report_to", True),
    ("resume_from_checkpoint", True),
    ("run_name", True),
)
_TRAINING_ARGUMENTS_CLASSES = {"TrainingArguments", "Seq2SeqTrainingArguments"}

_PARSER_FACTORIES = {"argparse.ArgumentParser", "configargparse.ArgumentParser", "configargparse.ArgParser"}
# Uses that make a value from outside the file count as a parser; builders also create the
# implicit parser behind an unknown receiver (`def add_args(parser): parser.add_argument(...)`).
_PARSER_USES = {"add_argument", "add", "add_argument_group", "add_mutually_exclusive_group", "add_subparsers",
                "parse_args", "parse_known_args", "parse_intermixed_args", "parse_args_into_dataclasses", "parents"}
_PARSER_BUILDERS = {"add_argument", "add_argument_group", "add_mutually_exclusive_group", "add_subparsers"}
_ARGPARSE_MODULES = {"argparse", "configargparse"}
_OPAQUE_LIBS = {
    "absl": "absl flags", "getopt": "getopt", "fire": "fire", "docopt": "docopt",
    "hydra": "hydra", "tyro": "tyro", "jsonargparse": "jsonargparse",
    "simple_parsing": "simple_parsing", "optparse": "optparse", "plac": "plac",
    "defopt": "defopt", "clize": "clize", "gflags": "gflags", "ml_collections": "ml_collections",
}
_TYPING_ROOTS = {"abc", "typing", "typing_extensions", "enum"}  # dataclass bases that add no fields
# Imported functions that take a parser without adding options to it.
_HARMLESS_ROOTS = {"argparse", "argcomplete", "logging", "pprint", "typing", "copy", "json"}
# An imported function with one of these names, called bare from module level, is a delegated CLI.
_ENTRY_POINTS = {"main", "cli", "cli_main", "run", "app", "entrypoint", "entry_point"}
_TEST_RUNNERS = {"unittest", "pytest", "doctest"}
_FLAG_ACTIONS = {"store_true", "store_false", "store_const", "append_const", "count", "help", "version"}
_CLICK_SPECIAL = {  # decorator -> (default option string, takes a value, leading non-decl args)
    "click.version_option": ("--version", False, 1),
    "click.confirmation_option": ("--yes", False, 0),
    "click.password_option": ("--password", True, 0),
}
_MAX_DEPTH = 12        # nested inlined calls
_MAX_ITEMS = 256       # loop iterations unrolled
_BUDGET = 100_000      # statements interpreted per script
_FMT_FIELD = re.compile(r"\{(\w*)\}")
_PCT_FIELD = re.compile(r"%[sd%]")


@dataclass(frozen=True)
class Option:
    """One option a script accepts, with every spelling it can be given by."""

    strings: tuple[str, ...]
    dest: str | None = None
    subcommand: str | None = None
    takes_value: bool = True

    @property
    def primary(self) -> str:
        """The preferred spelling: the first long (`--`) string, else the first."""
        return next((s for s in self.strings if s.startswith("--")), self.strings[0])

    def to_dict(self) -> dict[str, Any]:
        return {"strings": list(self.strings), "dest": self.dest,
                "subcommand": self.subcommand, "takes_value": self.takes_value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Option":
        return cls(tuple(d["strings"]), d.get("dest"), d.get("subcommand"), bool(d.get("takes_value", True)))


@dataclass
class ScriptFlags:
    """What the flags stage learned about one script."""

    path: str
    cli: str
    options: list[Option] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def known(self) -> bool:
        """False when a parser exists but cannot be seen statically."""
        return self.cli != "unknown"

    @property
    def option_strings(self) -> list[str]:
        """Every option string, in definition order, without duplicates."""
        return list(dict.fromkeys(s for o in self.options for s in o.strings))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "cli": self.cli, "known": self.known,
                "options": [o.to_dict() for o in self.options], "problems": list(self.problems)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ScriptFlags":
        return cls(str(d["path"]), str(d["cli"]), [Option.from_dict(o) for o in d["options"]],
                   [str(p) for p in d.get("problems", [])])


def sniff_source(source: str | bytes, path: str = "<string>") -> ScriptFlags:
    """Analyse Python source text (bytes honour a PEP 263 coding line); never raises."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return ScriptFlags(path, "unknown", problems=[f"line {exc.lineno or 0}: cannot parse: {exc.msg}"])
    except (ValueError, RecursionError, MemoryError) as exc:
        return ScriptFlags(path, "unknown", problems=[f"line 0: cannot parse: {exc}"])
    try:
        return _Analyzer(tree, source).run(path)
    except RecursionError:
        return ScriptFlags(path, "unknown", problems=["line 0: source nested too deeply to analyse"])


def sniff_file(path: pathlib.Path) -> ScriptFlags:
    """Read and analyse one script; an unreadable or unparsable file is `unknown`, never an error."""
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as exc:
        return ScriptFlags(str(path), "unknown", problems=[f"line 0: cannot read: {exc.strerror or exc}"])
    return sniff_source(data, str(path))


# --- values the interpreter tracks -------------------------------------------------------------


@dataclass(frozen=True)
class _Import:
    """A name bound by an import, as its dotted origin, e.g. `argparse.ArgumentParser`."""

    qual: str


@dataclass(eq=False)
class _Parser:
    """An argparse parser (argument groups are the parser itself)."""

    sub: str | None
    hf: bool = False
    cls: "_Class | None" = None  # a subclass defined in this file, whose methods are inlined
    options: list[Option] = field(default_factory=list)
    parents: list["_Parser"] = field(default_factory=list)
    is_parent: bool = False


@dataclass(eq=False)
class _Subparsers:
    owner: _Parser


@dataclass(eq=False)
class _Foreign:
    """The result of calling code outside this file; becomes a parser if used as one."""

    node: ast.Call
    parser: _Parser | None = None


@dataclass(eq=False)
class _Func:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    scope: "_Scope"
    kind: str = "function"  # "function", "method", "static", "class"
    owner: "_Class | None" = None


@dataclass(eq=False)
class _Class:
    name: str
    node: ast.ClassDef
    bases: list[Any]
    is_parser: bool


@dataclass(eq=False)
class _Instance:
    cls: _Class


@dataclass(eq=False)
class _Command:
    """A click command/group or a typer app/command."""

    family: str
    name: str
    is_group: bool = False
    options: list[Option] = field(default_factory=list)
    parent: "_Command | None" = None
    children: list["_Command"] = field(default_factory=list)
    has_callback: bool = False


_MISSING = object()
_LEAF_NODES = (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop)


class _Scope:
    __slots__ = ("vars", "parent", "is_class", "globals", "returns")

    def __init__(self, parent: "_Scope | None", is_class: bool = False) -> None:
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.is_class = is_class
        self.globals: set[str] = set()
        self.returns: list[Any] = []

    def get(self, name: str) -> Any:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        return _MISSING


# --- imports, gathered up front -----------------------------------------------------------------


@dataclass
class _Facts:
    imports: dict[str, str] = field(default_factory=dict)      # local name -> dotted origin
    hints: list[tuple[int, str]] = field(default_factory=list)  # signs of a CLI we cannot see
    argparse_used: bool = False


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")
_COMPOUND = tuple(getattr(ast, name) for name in (
    "FunctionDef", "AsyncFunctionDef", "ClassDef", "If", "For", "AsyncFor", "While", "With", "AsyncWith",
    "Try", "TryStar", "Match", "ExceptHandler", "match_case") if hasattr(ast, name))


def _gather(tree: ast.Module) -> _Facts:
    """Every import in the module, wherever it is; only statements are visited."""
    facts = _Facts()
    stack: list[list[Any]] = [tree.body]
    while stack:
        for stmt in stack.pop():
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    root = alias.name.split(".")[0]
                    facts.imports[alias.asname or root] = alias.name if alias.asname else root
                    _note_import(facts, alias.name, stmt.lineno)
            elif isinstance(stmt, ast.ImportFrom):
                module = "." * stmt.level + (stmt.module or "")
                for alias in stmt.names:
                    facts.imports[alias.asname or alias.name] = f"{module}.{alias.name}"
                    _note_import(facts, f"{module}.{alias.name}", stmt.lineno)
            elif isinstance(stmt, _COMPOUND):
                stack.extend(inner for inner in (getattr(stmt, name, None) for name in _BODIES) if inner)
    return facts


def _note_import(facts: _Facts, qual: str, line: int) -> None:
    root = qual.split(".")[0]
    if root in _ARGPARSE_MODULES or qual.endswith("HfArgumentParser"):
        facts.argparse_used = True
    if qual.endswith("LightningCLI"):
        facts.hints.append((line, "uses LightningCLI, whose options are not visible statically"))
    elif root in _OPAQUE_LIBS:
        facts.hints.append((line, f"uses {_OPAQUE_LIBS[root]}, whose options are not visible statically"))
    elif qual == "sys.argv":
        facts.hints.append((line, "reads sys.argv directly"))


# --- the interpreter ---------------------------------------------------------------------------


class _Analyzer:
    """Walks one module once, in source order, inlining local calls."""

    def __init__(self, tree: ast.Module, source: str | bytes) -> None:
        self.tree = tree
        self.source = source
        self.facts = _gather(tree)
        self.module = _Scope(None)
        self.scope = self.module
        self.parsers: list[_Parser] = []
        self.commands: list[_Command] = []
        self.funcs: list[_Func] = []
        self.visited: set[ast.AST] = set()
        self.memo: dict[tuple, Any] = {}
        self.depth = 0
        self.budget = _BUDGET
        self.problems: dict[str, None] = {}
        self.opaque = False
        self.ignored = False
        self.ambient: _Parser | None = None
        self.argv_seen = False

    # entry point

    def run(self, path: str) -> ScriptFlags:
        self._block(self.tree.body)
        self._drain_functions()
        options = _dedupe(self._parser_options() + self._command_options())
        cli = self._cli()
        if cli == "unknown" and not self.opaque:
            for line, msg in self.facts.hints:
                self._problem(line, msg)
        problems = sorted(self.problems, key=lambda p: int(p.split(":")[0][5:]))
        return ScriptFlags(path, cli, options, problems)

    def _cli(self) -> str:
        families = {"hf_dataclass" if p.hf else "argparse" for p in self.parsers}
        families |= {c.family for c in self.commands}
        if self.opaque:
            return "unknown"
        if not families:
            return "unknown" if self.facts.hints or self.ignored else "none"
        return families.pop() if len(families) == 1 else "mixed"

    def _problem(self, line: int, msg: str, opaque: bool = False) -> None:
        self.problems[f"line {line}: {msg}"] = None
        self.opaque = self.opaque or opaque

    def _drain_functions(self) -> None:
        """Analyse functions no interpreted code called, entry points (never called by name) first."""
        while True:
            pending = [f for f in self.funcs if f.node not in self.visited]
            if not pending:
                return
            for func in self._entry_points_first(pending):
                if func.node not in self.visited:
                    self._standalone(func)

    def _entry_points_first(self, pending: list[_Func]) -> list[_Func]:
        """Functions whose name is not called anywhere in the text come first (a cheap over-approximation)."""
        if len(pending) < 2:
            return pending
        text = self.source.decode("latin-1") if isinstance(self.source, bytes) else self.source
        defined = Counter(f.node.name for f in self.funcs)
        return sorted(pending, key=lambda f: text.count(f.node.name + "(") > defined[f.node.name])

    # statements

    def _block(self, body: Iterable[ast.stmt]) -> None:
        for stmt in body:
            self.budget -= 1
            if self.budget < 0:
                if self.budget == -1:
                    self._problem(stmt.lineno, "script too large to analyse fully", opaque=True)
                return
            _STMT_HANDLERS.get(type(stmt), _Analyzer._s_generic)(self, stmt)

    def _s_generic(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                self._block([child])
            elif isinstance(child, ast.expr):
                self._eval(child)
            elif not isinstance(child, _LEAF_NODES):
                self._s_generic(child)

    def _s_If(self, node: ast.If | ast.While) -> None:
        self._eval(node.test)
        self._block(node.body)
        self._block(node.orelse)

    _s_While = _s_If

    def _s_Try(self, node: ast.Try) -> None:
        self._block(node.body)
        for handler in node.handlers:
            self._eval(handler.type)
            self._block(handler.body)
        self._block(node.orelse)
        self._block(node.finalbody)

    _s_TryStar = _s_Try

    def _s_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            value = self._eval(item.context_expr)
            if item.optional_vars is not None:
                self._bind(item.optional_vars, value)
        self._block(node.body)

    _s_AsyncWith = _s_With

    def _s_Pass(self, node: ast.stmt) -> None:
        """Nothing to learn."""

    _s_Break = _s_Continue = _s_Pass

    def _s_Expr(self, node: ast.Expr) -> None:
        self._eval(node.value)

    def _s_Assign(self, node: ast.Assign) -> None:
        value = self._eval(node.value)
        for target in node.targets:
            self._bind(target, value)

    def _s_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, self._eval(node.value))

    def _s_AugAssign(self, node: ast.AugAssign) -> None:
        current = self._eval(node.target)
        self._bind(node.target, _binop(node.op, current, self._eval(node.value)))

    def _s_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.scope.returns.append(self._eval(node.value))

    def _s_Global(self, node: ast.Global) -> None:
        self.scope.globals.update(node.names)

    def _s_Import(self, node: ast.AST) -> None:
        """Imports were gathered up front."""

    _s_ImportFrom = _s_Import

    def _s_For(self, node: ast.For | ast.AsyncFor) -> None:
        items = self._iter_values(self._eval(node.iter))
        for item in items if items is not None else [None]:
            self._bind(node.target, item)
            self._block(node.body)
        self._block(node.orelse)

    _s_AsyncFor = _s_For

    def _s_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = self.scope.parent if self.scope.is_class else self.scope
        func = _Func(node, scope, _func_kind(node, self.scope.is_class))
        self.funcs.append(func)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self._eval(default)
        self._set(node.name, self._decorate(func))

    _s_AsyncFunctionDef = _s_FunctionDef

    def _s_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [self._eval(b) for b in node.bases]
        for dec in node.decorator_list:
            self._eval(dec)
        cls = _Class(node.name, node, bases, any(_is_parser_class(b) for b in bases))
        outer = self.scope
        self.scope = _Scope(outer, is_class=True)
        try:
            self._block(node.body)
            members = self.scope.vars
        finally:
            self.scope = outer
        for name, value in members.items():
            if isinstance(value, _Func):
                value.owner = cls
            self.module.vars[f"{node.name}.{name}"] = value
        self._set(node.name, cls)

    # binding

    def _set(self, name: str, value: Any) -> None:
        scope = self.module if name in self.scope.globals else self.scope
        scope.vars[name] = value

    def _bind(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self._set(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts = value if isinstance(value, tuple) and len(value) == len(target.elts) else None
            for i, elt in enumerate(target.elts):
                self._bind(elt.value if isinstance(elt, ast.Starred) else elt, parts[i] if parts else None)
        elif isinstance(target, ast.Attribute):
            owner = self._eval(target.value)
            cls = owner.cls if isinstance(owner, _Instance) else owner
            if isinstance(cls, _Class):
                self.module.vars[f"{cls.name}.{target.attr}"] = value
        elif isinstance(target, ast.Subscript):
            self._eval(target.value)
            self._eval(target.slice)

    # expressions

    def _eval(self, node: ast.expr | None) -> Any:
        if node is None:
            return None
        return _EXPR_HANDLERS.get(type(node), _Analyzer._e_generic)(self, node)

    def _e_generic(self, node: ast.AST) -> None:
        self._s_generic(node)

    def _e_Compare(self, node: ast.Compare) -> None:
        self._eval(node.left)
        for comparator in node.comparators:
            self._eval(comparator)

    def _e_BoolOp(self, node: ast.BoolOp) -> None:
        for value in node.values:
            self._eval(value)

    def _e_UnaryOp(self, node: ast.UnaryOp) -> None:
        self._eval(node.operand)

    def _e_IfExp(self, node: ast.IfExp) -> Any:
        self._eval(node.test)
        body, orelse = self._eval(node.body), self._eval(node.orelse)
        return body if _key(body) == _key(orelse) else None

    def _e_Await(self, node: ast.Await) -> Any:
        return self._eval(node.value)

    def _e_Lambda(self, node: ast.Lambda) -> None:
        """A lambda's body runs only when called; it defines no parser options here."""

    def _e_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _e_Name(self, node: ast.Name) -> Any:
        value = self.scope.get(node.id)
        if value is not _MISSING:
            return value
        qual = self.facts.imports.get(node.id)
        return _Import(qual) if qual else None

    def _e_Attribute(self, node: ast.Attribute) -> Any:
        base = self._eval(node.value)
        if isinstance(base, _Import):
            if base.qual == "sys" and node.attr == "argv" and not self.argv_seen:
                self.argv_seen = True
                self.facts.hints.append((node.lineno, "reads sys.argv directly"))
            return _Import(f"{base.qual}.{node.attr}")
        if isinstance(base, _Instance):
            return self._member(base.cls, node.attr)
        if isinstance(base, _Class):
            return self._member(base, node.attr)
        return None

    def _member(self, cls: _Class, name: str, depth: int = 0) -> Any:
        value = self.module.vars.get(f"{cls.name}.{name}", _MISSING)
        if value is not _MISSING or depth > 8:
            return None if value is _MISSING else value
        for base in cls.bases:
            if isinstance(base, _Class):
                found = self._member(base, name, depth + 1)
                if found is not None:
                    return found
        return None

    def _e_Tuple(self, node: ast.Tuple | ast.List | ast.Set) -> tuple:
        out: list[Any] = []
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                inner = self._eval(elt.value)
                out.extend(inner if isinstance(inner, tuple) else [None])
            else:
                out.append(self._eval(elt))
        return tuple(out)

    _e_List = _e_Tuple
    _e_Set = _e_Tuple

    def _e_Dict(self, node: ast.Dict) -> dict | None:
        keys = [self._eval(k) for k in node.keys]
        values = [self._eval(v) for v in node.values]
        if all(isinstance(k, (str, int)) for k in keys):
            return dict(zip(keys, values))
        return None

    def _e_JoinedStr(self, node: ast.JoinedStr) -> str | None:
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                inner = self._eval(value.value)
                self._eval(value.format_spec)
                if value.format_spec is not None or not isinstance(inner, (str, int)):
                    return None
                parts.append(repr(inner) if value.conversion == ord("r") else str(inner))
            else:
                parts.append(str(self._eval(value)))
        return "".join(parts)

    def _e_BinOp(self, node: ast.BinOp) -> Any:
        chain = [node]  # left-nested chains (`a + b + c + ...`) iteratively: they can be long
        while isinstance(chain[-1].left, ast.BinOp):
            chain.append(chain[-1].left)
        value = self._eval(chain[-1].left)
        for link in reversed(chain):
            value = _binop(link.op, value, self._eval(link.right))
        return value

    def _e_Subscript(self, node: ast.Subscript) -> Any:
        base, index = self._eval(node.value), self._eval(node.slice)
        try:
            if isinstance(base, tuple) and isinstance(index, int):
                return base[index]
            if isinstance(base, dict) and isinstance(index, (str, int)):
                return base.get(index)
        except IndexError:
            pass
        return None

    def _e_NamedExpr(self, node: ast.NamedExpr) -> Any:
        value = self._eval(node.value)
        self._bind(node.target, value)
        return value

    def _e_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> tuple | None:
        outer = self.scope
        self.scope = _Scope(outer)
        try:
            results: list[Any] = []
            exact = self._comprehend(node.generators, lambda: results.append(self._eval(node.elt)))
        finally:
            self.scope = outer
        return tuple(results) if exact else None

    _e_SetComp = _e_ListComp
    _e_GeneratorExp = _e_ListComp

    def _comprehend(self, generators: list[ast.comprehension], emit: Any) -> bool:
        """Unroll comprehension loops over literal data; True when the result is exact."""
        first, rest = generators[0], generators[1:]
        items = self._iter_values(self._eval(first.iter))
        exact = items is not None and not first.ifs
        for item in items if items is not None else [None]:
            self._bind(first.target, item)
            for cond in first.ifs:
                self._eval(cond)
            if rest:
                exact = self._comprehend(rest, emit) and exact
            else:
                emit()
        return exact

    def _iter_values(self, value: Any) -> list[Any] | None:
        if isinstance(value, tuple):
            return list(value[:_MAX_ITEMS])
        if isinstance(value, dict):
            return list(value)[:_MAX_ITEMS]
        return None

    # calls

    def _e_Call(self, node: ast.Call) -> Any:
        func = node.func
        receiver = self._eval(func.value) if isinstance(func, ast.Attribute) else _MISSING
        callee = self._eval(func) if receiver is _MISSING else None
        args: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                inner = self._eval(arg.value)
                args.extend(inner if isinstance(inner, tuple) else [_MISSING])
            else:
                args.append(self._eval(arg))
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            value = self._eval(keyword.value)
            kwargs[keyword.arg or "**"] = value if keyword.arg else _MISSING
        if receiver is not _MISSING:
            return self._method(node, receiver, func.attr, args, kwargs)  # type: ignore[union-attr]
        return self._call(node, callee, args, kwargs)

    def _call(self, node: ast.Call, callee: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if isinstance(callee, _Func):
            return self._invoke(callee, args, kwargs)
        if isinstance(callee, _Class):
            return self._instantiate(callee, args, kwargs)
        if isinstance(callee, _Import):
            return self._call_import(node, callee.qual, args, kwargs)
        return None

    def _method(self, node: ast.Call, receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if isinstance(receiver, _Import):
            return self._call_import(node, f"{receiver.qual}.{name}", args, kwargs)
        if isinstance(receiver, (_Instance, _Class)):
            return self._call_member(node, receiver, name, args, kwargs)
        if isinstance(receiver, _Subparsers):
            return self._add_parser(node, receiver, args, kwargs) if name == "add_parser" else None
        if isinstance(receiver, _Command):
            return self._command_method(receiver, name, args, kwargs)
        if isinstance(receiver, str):
            return _str_method(receiver, name, args, kwargs)
        if isinstance(receiver, dict) and name in ("items", "keys", "values"):
            return {"items": lambda: tuple(receiver.items()), "keys": lambda: tuple(receiver),
                    "values": lambda: tuple(receiver.values())}[name]()
        if isinstance(receiver, _Parser) and receiver.cls is not None:
            member = self._member(receiver.cls, name)
            if isinstance(member, _Func):
                return self._invoke(member, [receiver, *args], kwargs)
        parser = self._as_parser(node.lineno, receiver, name)
        return self._parser_method(node, parser, name, args, kwargs) if parser else None

    def _call_member(self, node: ast.Call, receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        cls = receiver.cls if isinstance(receiver, _Instance) else receiver
        member = self._member(cls, name)
        if isinstance(member, _Func):
            bound = (isinstance(receiver, _Instance) and member.kind == "method") or member.kind == "class"
            return self._invoke(member, [receiver, *args] if bound else args, kwargs)
        return self._call(node, member, args, kwargs)

    def _call_import(self, node: ast.Call, qual: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if qual in _PARSER_FACTORIES:
            return self._new_parser(node.lineno, None, kwargs)
        if qual.endswith(".HfArgumentParser"):
            return self._hf_parser(node, args, kwargs)
        if qual == "typer.Typer":
            return self._new_command("typer", "", True, has_callback=kwargs.get("callback") is not None)
        if qual == "click.Group":
            return self._new_command("click", _str_or(kwargs.get("name"), ""), True)
        if qual == "typer.run" and args:
            return self._typer_run(args[0])
        if qual == "click.option":
            self._problem(node.lineno, "click option built outside a decorator (where it goes is not tracked)",
                          opaque=True)
        root = qual.lstrip(".").split(".")[0]
        if self.depth == 0 and not args and not kwargs and qual.split(".")[-1] in _ENTRY_POINTS \
                and root not in _TEST_RUNNERS:
            self.facts.hints.append((node.lineno, f"delegates to {_describe(node)}(), defined outside this file"))
        if root not in _HARMLESS_ROOTS:
            for value in [*args, *kwargs.values()]:
                if isinstance(value, _Parser) or isinstance(value, _Foreign) and value.parser is not None:
                    self._problem(node.lineno, f"parser passed to {_describe(node)}, defined outside this file",
                                  opaque=True)
        return None if root in _ARGPARSE_MODULES else _Foreign(node)

    # parsers

    def _new_parser(self, line: int, sub: str | None, kwargs: dict[str, Any], hf: bool = False) -> _Parser:
        parser = _Parser(sub, hf=hf)
        self.parsers.append(parser)
        parents = kwargs.get("parents")
        for parent in parents if isinstance(parents, tuple) else ([] if parents is None else [_MISSING]):
            resolved = self._as_parser(line, parent, "parents")
            if resolved is None:
                self._problem(line, "parents= parser cannot be resolved", opaque=True)
            else:
                resolved.is_parent = True
                parser.parents.append(resolved)
        return parser

    def _as_parser(self, line: int, value: Any, use: str) -> _Parser | None:
        """The parser `value` stands for, if any; unknown receivers count only where argparse is used."""
        if isinstance(value, _Parser):
            return value
        if isinstance(value, _Foreign):
            if value.parser is None and use in _PARSER_USES:
                value.parser = self._new_parser(line, None, {})
                self._problem(value.node.lineno,
                              f"parser comes from {_describe(value.node)}, defined outside this file", opaque=True)
            return value.parser
        if value is None and use in _PARSER_BUILDERS:
            if self.facts.argparse_used:
                if self.ambient is None:
                    self.ambient = self._new_parser(line, None, {})
                return self.ambient
            if use == "add_argument":
                self.ignored = True
                self._problem(line, "add_argument on an object not known to be a parser (ignored)")
        return None

    def _parser_method(self, node: ast.Call, parser: _Parser, name: str, args: list[Any],
                       kwargs: dict[str, Any]) -> Any:
        if name in ("add_argument", "add") and (name == "add_argument" or not parser.hf):
            self._add_argument(node, parser, args, kwargs)
        elif name in ("add_argument_group", "add_mutually_exclusive_group"):
            return parser
        elif name == "add_subparsers":
            return _Subparsers(parser)
        return None

    def _add_parser(self, node: ast.Call, subparsers: _Subparsers, args: list[Any], kwargs: dict[str, Any]) -> Any:
        name = args[0] if args else kwargs.get("name")
        if not isinstance(name, str):
            self._problem(node.lineno, "subcommand name is not a literal", opaque=True)
            name = "?"
        owner = subparsers.owner.sub
        return self._new_parser(node.lineno, f"{owner} {name}" if owner else name, kwargs)

    def _add_argument(self, node: ast.Call, parser: _Parser, args: list[Any], kwargs: dict[str, Any]) -> None:
        if not args:
            self._problem(node.lineno, "add_argument without literal option strings", opaque=True)
            return
        if not all(isinstance(a, str) for a in args):
            self._problem(node.lineno, f"option strings are not literals: {_describe(node, args=True)}", opaque=True)
            return
        if not args[0].startswith("-"):
            return  # a positional argument, not an option
        action = kwargs.get("action")
        boolean = isinstance(action, _Import) and action.qual.endswith("BooleanOptionalAction")
        strings = args + [f"--no-{s[2:]}" for s in args if boolean and s.startswith("--")]
        takes_value = not boolean and not (isinstance(action, str) and action in _FLAG_ACTIONS)
        dest = kwargs.get("dest")
        parser.options.append(Option(tuple(strings), dest if isinstance(dest, str) else _derive_dest(args), None,
                                     takes_value))

    # HfArgumentParser

    def _hf_parser(self, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> _Parser:
        parser = self._new_parser(node.lineno, None, kwargs, hf=True)
        types = args[0] if args else kwargs.get("dataclass_types")
        for dtype in types if isinstance(types, tuple) else [types]:
            parser.options.extend(self._dataclass_options(node, dtype))
        return parser

    def _dataclass_options(self, node: ast.Call, dtype: Any, depth: int = 0) -> list[Option]:
        if isinstance(dtype, _Import) and dtype.qual.split(".")[-1] in _TRAINING_ARGUMENTS_CLASSES:
            self._problem(node.lineno, f"{dtype.qual.split('.')[-1]} is imported: only its well-known fields "
                                       "are recorded")
            return [_hf_option(name, not takes) for name, takes in TRAINING_ARGUMENTS_FIELDS]
        if not isinstance(dtype, _Class) or depth > 8:
            self._problem(node.lineno, f"dataclass {_describe(node, args=True)} is not defined in this file",
                          opaque=True)
            return []
        options: dict[str, Option] = {}
        for base in dtype.bases:
            if base is not None and not (isinstance(base, _Import) and base.qual.split(".")[0] in _TYPING_ROOTS):
                for option in self._dataclass_options(node, base, depth + 1):
                    options.setdefault(option.strings[0], option)
        for stmt in dtype.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                for option in self._field_options(stmt):
                    options[option.strings[0]] = option
        return list(options.values())

    def _field_options(self, stmt: ast.AnnAssign) -> list[Option]:
        name = stmt.target.id  # type: ignore[union-attr]
        annotation = ast.unparse(stmt.annotation)
        if "ClassVar" in annotation or "InitVar" in annotation:
            return []
        default, aliases, init = self._field_spec(stmt.value)
        if not init:
            return []
        is_bool = annotation in ("bool", "Optional[bool]", "bool | None", "typing.Optional[bool]")
        option = _hf_option(name, is_bool, aliases)
        if is_bool and default is True:
            return [option, Option((f"--no_{name}",), name, None, False)]
        return [option]

    def _field_spec(self, value: ast.expr | None) -> tuple[Any, tuple[str, ...], bool]:
        """(default, aliases, init) of a dataclass field's right-hand side."""
        if not isinstance(value, ast.Call):
            return self._eval_in(value, self.module), (), True
        kw = {k.arg: self._eval_in(k.value, self.module) for k in value.keywords if k.arg}
        metadata = kw.get("metadata")
        aliases = kw.get("aliases", metadata.get("aliases") if isinstance(metadata, dict) else None)
        aliases = (aliases,) if isinstance(aliases, str) else aliases if isinstance(aliases, tuple) else ()
        return kw.get("default"), tuple(a for a in aliases if isinstance(a, str)), kw.get("init") is not False

    # click and typer

    def _new_command(self, family: str, name: str, is_group: bool, parent: _Command | None = None,
                     has_callback: bool = False) -> _Command:
        command = _Command(family, name, is_group, has_callback=has_callback)
        self.commands.append(command)
        if parent is not None:
            _attach(parent, command)
        return command

    def _decorate(self, func: _Func) -> Any:
        """Apply click/typer decorators; returns what the function name is bound to."""
        bound: Any = func
        options: list[Option] = []
        for dec in func.node.decorator_list:
            call = dec if isinstance(dec, ast.Call) else None
            target = self._eval(call.func if call else dec)
            args = [self._eval(a) for a in call.args] if call else []
            kwargs = {k.arg: self._eval(k.value) for k in call.keywords if k.arg} if call else {}
            made = self._apply_decorator(dec, target, args, kwargs, func, options)
            bound = made if made is not None else bound
        if isinstance(bound, _Command):
            bound.options = options if bound.family == "click" else self._typer_options(func.node)
        return bound

    def _apply_decorator(self, dec: ast.expr, target: Any, args: list[Any], kwargs: dict[str, Any],
                         func: _Func, options: list[Option]) -> _Command | None:
        name = _str_or(args[0] if args else kwargs.get("name"), _command_name(func.node.name))
        if isinstance(target, _Import):
            if target.qual in ("click.command", "click.group"):
                return self._new_command("click", name, target.qual == "click.group")
            if target.qual == "click.option":
                self._click_option(dec, args, kwargs, options)
            elif target.qual in _CLICK_SPECIAL:
                options.append(_click_special(target.qual, args))
            return None
        if isinstance(dec, (ast.Call, ast.Attribute)):
            attr = (dec.func if isinstance(dec, ast.Call) else dec)
            owner = self._eval(attr.value) if isinstance(attr, ast.Attribute) else None
            if isinstance(owner, _Command) and isinstance(attr, ast.Attribute):
                return self._sub_decorator(owner, attr.attr, name)
        return None

    def _sub_decorator(self, owner: _Command, attr: str, name: str) -> _Command | None:
        if attr in ("command", "group"):
            return self._new_command(owner.family, name, attr == "group", owner)
        if attr == "callback" and owner.family == "typer":
            owner.has_callback = True
            return owner
        return None

    def _command_method(self, command: _Command, name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        child = args[0] if args else None
        if name in ("add_command", "add_typer") and isinstance(child, _Command):
            label = args[1] if len(args) > 1 else kwargs.get("name")
            child.name = _str_or(label, child.name)
            _attach(command, child)

    def _click_option(self, dec: ast.expr, args: list[Any], kwargs: dict[str, Any], options: list[Option]) -> None:
        if not all(isinstance(a, str) for a in args):
            self._problem(dec.lineno, "click option names are not literals", opaque=True)
            return
        strings = [part.strip() for a in args if a.startswith("-") or "/" in a for part in a.split("/")]
        strings = [s for s in strings if s]
        if not strings:
            return
        names = [a for a in args if not a.startswith("-") and "/" not in a]
        is_flag = any("/" in a for a in args) or bool(kwargs.get("is_flag")) or bool(kwargs.get("count")) \
            or "flag_value" in kwargs
        options.append(Option(tuple(strings), names[0] if names else _derive_dest(strings), None, not is_flag))

    def _typer_run(self, target: Any) -> None:
        if isinstance(target, _Func):
            command = self._new_command("typer", "", False)
            command.options = self._typer_options(target.node)

    def _typer_options(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Option]:
        options = []
        for arg, default in _params_with_defaults(node.args):
            option = self._typer_param(arg, default)
            if option is not None:
                options.append(option)
        return options

    def _typer_param(self, arg: ast.arg, default: ast.expr | None) -> Option | None:
        marker, decls = self._typer_marker(arg.annotation, default)
        if marker == "Argument" or (marker is None and default is None):
            return None  # typer turns parameters without defaults into positional arguments
        if decls is None:
            self._problem(arg.lineno, "typer option names are not literals", opaque=True)
            return None
        annotation = ast.unparse(arg.annotation) if arg.annotation is not None else ""
        if "Context" in annotation:
            return None
        is_bool = "bool" in annotation or (isinstance(default, ast.Constant) and isinstance(default.value, bool))
        if not decls:
            long = "--" + arg.arg.lower().replace("_", "-")
            decls = [f"{long}/--no-{long[2:]}" if is_bool else long]
        strings = tuple(s.strip() for d in decls for s in d.split("/") if s.strip())
        return Option(strings, arg.arg, None, not is_bool)

    def _typer_marker(self, annotation: ast.expr | None,
                      default: ast.expr | None) -> tuple[str | None, list[str] | None]:
        """("Option"/"Argument"/None, explicit option declarations) from `Annotated[...]` or the default."""
        candidates: list[tuple[ast.expr, int]] = []
        if isinstance(annotation, ast.Subscript) and isinstance(annotation.slice, ast.Tuple):
            candidates += [(e, 0) for e in annotation.slice.elts[1:]]
        if default is not None:
            candidates.append((default, 1))
        for expr, skip in candidates:
            if not isinstance(expr, ast.Call):
                continue
            func = self._eval(expr.func)
            kind = func.qual.split(".")[-1] if isinstance(func, _Import) and func.qual.startswith("typer.") else None
            if kind in ("Option", "Argument"):
                values = [self._eval(a) for a in expr.args[skip:]]
                if not all(isinstance(v, str) for v in values):
                    return kind, None
                return kind, [v for v in values if v.startswith("-")]
        return None, []

    def _command_options(self) -> list[Option]:
        out: list[Option] = []
        for command in self.commands:
            if command.parent is None:
                self._emit_command(command, None, out, 0)
        return out

    def _emit_command(self, command: _Command, path: str | None, out: list[Option], depth: int) -> None:
        kids = command.children
        if depth > 8:
            return
        if path is None and command.family == "typer" and command.is_group and not command.has_callback \
                and len(kids) == 1 and not kids[0].is_group:
            out.extend(kids[0].options)  # typer runs a lone command without a subcommand name
            return
        out.extend(replace(o, subcommand=path) for o in command.options)
        for kid in kids:
            self._emit_command(kid, f"{path} {kid.name}" if path else kid.name, out, depth + 1)

    # local functions and classes

    def _invoke(self, func: _Func, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.visited.add(func.node)
        key = (func.node, tuple(map(_key, args)), tuple(sorted((k, _key(v)) for k, v in kwargs.items())))
        if key in self.memo:
            return self.memo[key]
        if self.depth >= _MAX_DEPTH:
            return None
        self.memo[key] = None  # recursion guard
        result = self._run_function(func, args, kwargs)
        self.memo[key] = result
        return result

    def _standalone(self, func: _Func) -> None:
        self.visited.add(func.node)
        first: list[Any] = []
        if func.owner is not None and func.kind in ("method", "class"):
            first = [_Instance(func.owner) if func.kind == "method" else func.owner]
        self._run_function(func, first, {})

    def _run_function(self, func: _Func, args: list[Any], kwargs: dict[str, Any]) -> Any:
        outer, self.scope = self.scope, _Scope(func.scope)
        self.depth += 1
        try:
            self._bind_params(func.node.args, args, kwargs, func.scope)
            self._block(func.node.body)
            returns = self.scope.returns
        finally:
            self.scope, self.depth = outer, self.depth - 1
        interesting = [r for r in returns if isinstance(r, (_Parser, _Foreign, _Subparsers, _Command, _Instance))]
        return (interesting or [r for r in returns if r is not None] or [None])[0]

    def _bind_params(self, spec: ast.arguments, args: list[Any], kwargs: dict[str, Any], defining: _Scope) -> None:
        positional = spec.posonlyargs + spec.args
        for i, (arg, default) in enumerate(_params_with_defaults(spec)):
            if i < len(positional) and i < len(args):
                value = args[i]
            elif arg.arg in kwargs:
                value = kwargs[arg.arg]
            else:
                value = self._eval_in(default, defining)
            self.scope.vars[arg.arg] = None if value is _MISSING else value
        for extra in (spec.vararg, spec.kwarg):
            if extra is not None:
                self.scope.vars[extra.arg] = None

    def _eval_in(self, node: ast.expr | None, scope: _Scope) -> Any:
        if node is None:
            return None
        outer, self.scope = self.scope, scope
        try:
            return self._eval(node)
        finally:
            self.scope = outer

    def _instantiate(self, cls: _Class, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if cls.is_parser:
            made: Any = self._new_parser(cls.node.lineno, None, kwargs)
            made.cls = cls
        else:
            made = _Instance(cls)
        init = self._member(cls, "__init__")
        if isinstance(init, _Func):
            self._invoke(init, [made, *args], kwargs)
        return made

    # results

    def _parser_options(self) -> list[Option]:
        out: list[Option] = []
        for parser in self.parsers:
            if not parser.is_parent:
                out.extend(replace(o, subcommand=parser.sub) for o in _with_parents(parser, set()))
        return out


def _handlers(prefix: str) -> dict[type, Any]:
    """Node type -> the `_Analyzer` method named after it (e.g. `_e_Call` for `ast.Call`)."""
    return {getattr(ast, name[len(prefix):]): method for name, method in vars(_Analyzer).items()
            if name.startswith(prefix) and hasattr(ast, name[len(prefix):])}


_STMT_HANDLERS = _handlers("_s_")
_EXPR_HANDLERS = _handlers("_e_")


# --- small pure helpers ------------------------------------------------------------------------


def _with_parents(parser: _Parser, seen: set[int]) -> Iterator[Option]:
    if id(parser) in seen:
        return
    seen.add(id(parser))
    for parent in parser.parents:
        yield from _with_parents(parent, seen)
    yield from parser.options


def _dedupe(options: list[Option]) -> list[Option]:
    first: dict[tuple[tuple[str, ...], str | None], Option] = {}
    for option in options:
        first.setdefault((option.strings, option.subcommand), option)
    return list(first.values())


def _derive_dest(strings: list[str] | tuple[str, ...]) -> str:
    """argparse's dest: the first long option, else the first short one, without dashes."""
    chosen = next((s for s in strings if s.startswith("--")), strings[0])
    return chosen.lstrip("-").replace("-", "_")


def _hf_option(name: str, is_bool: bool, aliases: tuple[str, ...] = ()) -> Option:
    strings = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else []) + list(aliases)
    return Option(tuple(dict.fromkeys(strings)), name, None, not is_bool)


def _click_special(qual: str, args: list[Any]) -> Option:
    default, takes_value, skip = _CLICK_SPECIAL[qual]
    decls = tuple(a for a in args[skip:] if isinstance(a, str) and a.startswith("-")) or (default,)
    return Option(decls, _derive_dest(decls), None, takes_value)


def _command_name(func_name: str) -> str:
    return func_name.lower().replace("_", "-")


def _attach(parent: _Command, child: _Command) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


def _params_with_defaults(spec: ast.arguments) -> Iterator[tuple[ast.arg, ast.expr | None]]:
    positional = spec.posonlyargs + spec.args
    padded: list[ast.expr | None] = [None] * (len(positional) - len(spec.defaults)) + list(spec.defaults)
    yield from zip(positional, padded)
    yield from zip(spec.kwonlyargs, spec.kw_defaults)


def _func_kind(node: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> str:
    if not in_class:
        return "function"
    names = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
    return "static" if "staticmethod" in names else "class" if "classmethod" in names else "method"


def _is_parser_class(base: Any) -> bool:
    if isinstance(base, _Import):
        return base.qual in _PARSER_FACTORIES
    return isinstance(base, _Class) and base.is_parser


def _binop(op: ast.operator, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Add) and type(left) is type(right) and isinstance(left, (str, tuple)):
        return left + right
    if isinstance(op, ast.Mod) and isinstance(left, str):
        values = right if isinstance(right, tuple) else (right,)
        if all(isinstance(v, (str, int)) for v in values) and "%" not in _PCT_FIELD.sub("", left):
            try:
                return left % values
            except (TypeError, ValueError):
                return None
    return None


def _str_method(text: str, name: str, args: list[Any], kwargs: dict[str, Any]) -> str | None:
    """The few str methods option strings are built with: format (plain fields), replace, lower, upper, strip."""
    if name == "format":
        if text.count("{") != len(_FMT_FIELD.findall(text)):
            return None
        automatic = iter(args)

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if not key:
                value = next(automatic, None)
            elif key.isdigit():
                value = args[int(key)] if int(key) < len(args) else None
            else:
                value = kwargs.get(key)
            return str(value) if isinstance(value, (str, int)) else "\0"

        result = _FMT_FIELD.sub(fill, text)
        return None if "\0" in result else result
    if name == "replace" and len(args) == 2 and all(isinstance(a, str) for a in args):
        return text.replace(args[0], args[1])
    if name in ("lower", "upper", "strip") and not args:
        return getattr(text, name)()
    return None


def _str_or(value: Any, fallback: str) -> str:
    return value if isinstance(value, str) else fallback


def _key(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, tuple):
        return tuple(map(_key, value))
    return id(value)


def _describe(node: ast.Call, args: bool = False) -> str:
    text = ast.unparse(node if args else node.func)
    return text if len(text) <= 60 else text[:57] + "..."
