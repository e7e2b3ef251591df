"""Entry points: what a Python file is, read statically (ast; nothing imported or run).

`Reader.facts` says whether a file is an *entry point* — an `if __name__ == "__main__":` block,
a command line parsed or a CLI started at module level (argparse, HfArgumentParser, fire,
absl, docopt, LightningCLI, jsonargparse), or module-level code that does work — and, when
asked, whether the code that entry point runs *trains*: calls a training API (loss.backward(),
optimizer.step(), .fit(), trainer.train(), .learn(), apply_gradients, ...) in the file or in
the repository's own functions and classes it reaches, up to `MAX_HOPS` imports away
(resolved through `Sources`). A file holding only imports and assignments is a configuration
file. The facts depend on the file and on the files its imports led to (`Facts.deps`), so
they are cached under the file's path with the content hash of each of them.

`name_says` reads a file name: a training convention (train.py, train_*.py, *_train.py,
finetune*.py, pretrain*.py, T5_training.py, ...) or the kind of script a name announces by its
first or last word (eval*, predict*, export*, prepare*, benchmark*, plot*, *_convert, ...); a
name starting with a training word is a training name whatever follows. The search for a
training call does not enter functions whose names announce such a kind (evaluate, profile, ...).
"""

from __future__ import annotations

import ast
import re
import sys
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator

from runall.plan.sources import Sources

MAX_HOPS = 3                 # imports followed from the entry point to a training call
RULES_VERSION = "1"           # bump when a rule changes: cached facts and decisions follow it



def _lazily(pattern: str | bytes, flags: int = 0) -> Callable[[Any], re.Match | None]:
    """The `search` of a pattern compiled on first use: a run that reads no file (a warm one)
    does not pay for compiling it."""
    compiled: list[re.Pattern] = []

    def search(text: Any) -> re.Match | None:
        if not compiled:
            compiled.append(re.compile(pattern, flags))
        return compiled[0].search(text)
    return search


# Bytes without any of these cannot hold an entry point or module-level work (checked before parsing).
# (Training calls inside functions are indented: only an entry point can make them run.)
_WORTH_PARSING = _lazily(
    rb"__main__|parse_args|parse_known_args|Fire\(|app\.run|CLI\(|docopt|hydra"
    rb"|^(?:[A-Za-z_][\w.]*\(|(?:for|while|with|async)\b|raise\b)"
    rb"|^[A-Za-z_][^\n=]*=[^\n]*\.(?:fit|fit_generator|train|learn|backward|step)\(", re.M)

TRAINING_TOKENS = frozenset({"train", "training", "finetune", "finetuning", "pretrain", "pretraining"})
# First word of a file name -> the kind of script it announces (unless the name starts with a
# training word); the words of _LAST_WORDS announce it at the end of a name too.
NOT_TRAINING = {
    **dict.fromkeys(("eval", "evaluate", "evaluation", "evaluator", "val", "valid", "validate", "validation"),
                    "evaluation script"),
    **dict.fromkeys(("infer", "inference", "predict", "prediction", "predictor", "detect", "demo", "sample",
                     "sampling", "generate", "serve", "server", "enjoy", "play", "record"), "inference script"),
    **dict.fromkeys(("export", "convert", "converter", "quantize", "onnx", "publish", "push", "upload"),
                    "export/conversion script"),
    **dict.fromkeys(("prepare", "preprocess", "preprocessing", "download", "fetch", "split"),
                    "data preparation script"),
    **dict.fromkeys(("benchmark", "benchmarks", "bench", "profile", "profiling"), "benchmark script"),
    **dict.fromkeys(("test", "tests", "testing"), "test script"),
    **dict.fromkeys(("visualize", "visualise", "visualization", "vis", "viz", "plot", "browse"),
                    "visualisation script"),
    **dict.fromkeys(("analyze", "analyse", "analysis"), "analysis script"),
    **dict.fromkeys(("submit", "launch", "launcher", "slurm"), "launcher"),
    **dict.fromkeys(("hpo", "hpopt", "hyperopt", "hparam", "hparams", "optuna", "sweep", "tuner"),
                    "hyper-parameter search driver"),
    **dict.fromkeys(("probe", "probing"), "probing evaluation"),
}
# Words that announce a kind at the end of a name too (`model_eval.py`, `weights_convert.py`).
_LAST_WORDS = frozenset({"eval", "evaluate", "evaluation", "inference", "predict", "demo", "export", "convert",
                         "converter", "benchmark", "plot", "visualize", "download", "preprocess", "probe"})
# Functions the search for a training call does not enter.
_OTHER_WORK_FUNCTIONS = frozenset({"eval", "evaluate", "evaluation", "val", "validate", "validation", "test",
                                   "profile", "benchmark", "bench", "predict", "infer", "inference", "visualize",
                                   "plot", "export", "convert", "download"})
_CLI_STARTS = {"parse_args": "argparse", "parse_known_args": "argparse", "parse_args_into_dataclasses":
               "HfArgumentParser", "parse_yaml_file": "HfArgumentParser", "parse_json_file": "HfArgumentParser",
               "Fire": "fire.Fire", "docopt": "docopt", "LightningCLI": "LightningCLI", "CLI": "jsonargparse CLI"}
_PREPROCESSOR = _lazily(r"scaler|encoder|vectori[sz]er|tokeni[sz]er|imputer|pca|normali[sz]er|binarizer|"
                        r"selector|discreti[sz]er|featuri[sz]er", re.I)
_RUNS_ITS_ARGUMENT = frozenset({*_CLI_STARTS, "run"})   # fire.Fire(main), app.run(main), typer.run(main)
_FIT_CALLS = frozenset({"backward", "manual_backward", "zero_grad", "fit", "fit_generator", "train_on_batch", "learn",
                        "apply_gradients", "apply_updates"})
_OPTIMIZER = re.compile(r"optim|^opt|scaler", re.I)
_MODULE = _lazily(r"model|net|module|encoder|decoder|backbone|head|policy|classifier|generator|"
                  r"discriminator|critic|actor", re.I)
_TRAINER = re.compile(r"train|runner|learner|solver|engine|booster|loop", re.I)
_NOT_OPTIMIZER = re.compile(r"env|prof|bar|progress|timer|clock|sched_", re.I)
_SETUP_ROOTS = frozenset({"sys", "warnings", "logging", "os", "matplotlib", "mpl", "logger", "log", "LOGGER",
                          "_logger", "setattr", "__all__", "copyreg", "faulthandler", "mp", "multiprocessing"})
_MUTATORS = frozenset({"update", "setdefault", "append", "extend", "insert", "pop", "remove", "clear"})
_LAUNCHER_MODULES = frozenset({"submitit"})
_SEARCH_MODULES = frozenset({"optuna", "hyperopt", "nevergrad", "skopt"})
_MAIN_GUARD = re.compile(rb"""^if\s+__name__\s*==\s*['"]__main__['"]\s*:""", re.M).search
_DRIVER_IMPORT = re.compile(rb"^\s*(?:import|from)\s+(?:%s)\b" % "|".join(
    sorted(_LAUNCHER_MODULES | _SEARCH_MODULES)).encode(), re.M).search
_STDLIB = frozenset(sys.stdlib_module_names) - {"__main__"}


@dataclass
class Facts:
    """What reading one file (and the files its imports led to) found."""

    entry: str | None = None        # how it starts, e.g. "__main__ block"; None: not an entry point
    trains: str | None = None       # the training call found, e.g. "loss.backward() (engine.py:40)"
    config: bool = False            # imports and assignments only
    driver: str | None = None       # "launcher: ..." or "hyper-parameter search driver: ..."
    error: str | None = None        # unreadable or not valid Python
    deps: dict[str, str] = field(default_factory=dict)   # other files read: root-relative path -> sha256

    def compact(self) -> dict[str, Any]:
        """The fields that differ from their defaults (`Facts(**compact())` gives it back)."""
        return {name: value for name in _FACT_FIELDS if (value := getattr(self, name))}


_FACT_FIELDS = tuple(f.name for f in fields(Facts))
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_FIRST_WORD = re.compile(r"[^A-Za-z]*([A-Za-z][a-z]*)").match
_LAST_WORD_REVERSED = re.compile(r"[^A-Za-z]*([a-z]*[A-Za-z])").match


def words(stem: str) -> list[str]:
    """`main_pretrain` -> [main, pretrain]; `trainModel` -> [train, model]."""
    return [w for w in _SEPARATORS.split(_CAMEL.sub(r"\1_\2", stem).lower()) if w]


def name_says(rel: str) -> tuple[str, str] | None:
    """What a file name announces: ("train", word) for a training convention, (kind, word) for a
    script that is not training by its first (or telling last) word, or None."""
    name = rel.rsplit("/", 1)[-1]
    stem = name[:-3] if name.endswith(".py") else name
    if not may_say_something(stem):
        return None
    parts = _joined([w for w in words(stem) if not w.isdigit()])
    if not parts:
        return None
    if _is_training_word(parts[0]):
        return "train", parts[0]
    for word in (parts[0], parts[-1] if parts[-1] in _LAST_WORDS else ""):
        if word in NOT_TRAINING:
            return NOT_TRAINING[word], word
    return next((("train", w) for w in parts if _is_training_word(w)), None)


def may_say_something(stem: str) -> bool:
    """False for a file name (without .py) that says nothing: no training fragment, no telling
    first or last word, not a test or packaging name. A cheap look before splitting the name into
    words, since every Python file's name is read (it may be true when the words say nothing)."""
    low = stem.lower()
    if "train" in low or "tun" in low or low.startswith(("test", "setup", "__init__", "conftest")) \
            or low.endswith(("_test", "_tests")):
        return True
    first = _FIRST_WORD(stem)
    if first and first.group(1).lower() in NOT_TRAINING:
        return True
    last = _LAST_WORD_REVERSED(stem[::-1])
    return bool(last) and last.group(1)[::-1].lower() in _LAST_WORDS


def _joined(parts: list[str]) -> list[str]:
    """`fine_tuning` and `pre_train` read as one word."""
    out: list[str] = []
    for word in parts:
        if out and out[-1] in ("fine", "pre") and word.startswith(("tun", "train")):
            out[-1] += word
        else:
            out.append(word)
    return out


def _is_training_word(word: str) -> bool:
    """train, training, finetune(s/ing), pretrain(ing), ...; not `pretrained` (a model, not the act)."""
    return word in TRAINING_TOKENS or (word.startswith(("finetun", "pretrain")) and not word.endswith("ed"))


_DEFINITION = re.compile(rb"^(?:async\s+def|def|class|@)", re.M).search
_ASSIGNMENT = re.compile(rb"^[A-Za-z_][\w.]*(?:\[[^\]\n]*\])?\s*(?::[^=\n]*)?=(?!=)", re.M).search


def _looks_like_config(data: bytes) -> bool:
    """For bytes already known to hold no module-level work: assignments and no definitions."""
    return _DEFINITION(data) is None and _ASSIGNMENT(data) is not None


def worth_parsing(data: bytes) -> bool:
    """False when the bytes show no entry-point marker, training call or module-level statement."""
    return _WORTH_PARSING(data) is not None


class Reader:
    """Reads the facts of the files of one planning pass, sharing what they have in common:
    parsed modules (through `Sources`) and where imports lead."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self._modules: dict[Path, _Module | None] = {}
        self._resolved: dict[tuple[Path, str | None, int], Path | None] = {}

    def facts(self, path: Path, data: bytes, need_training: bool = True) -> Facts:
        """The facts of the file at `path` whose content is `data`; training is searched only when
        `need_training` (a name that already says training needs no search)."""
        if not worth_parsing(data):
            return Facts(config=_looks_like_config(data))
        if not need_training and _MAIN_GUARD(data) and not _DRIVER_IMPORT(data):
            return Facts(entry="__main__ block")          # all a training name needs, without parsing
        try:
            tree = ast.parse(data, filename=str(path))
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            line = getattr(exc, "lineno", None)
            return Facts(error=f"not valid Python ({type(exc).__name__}{f' at line {line}' if line else ''})")
        guards = [stmt for stmt in tree.body if _is_main_guard(stmt)]
        top = list(_module_statements(tree.body))
        entry = "__main__ block" if guards else _module_entry(top)
        if entry is None:
            return Facts(config=_is_config(tree.body))
        module = _index(path.resolve(), tree)
        driver = _driver(module, top + guards)
        if driver or not need_training:
            return Facts(entry=entry, driver=driver)
        search = _Search(self, module)
        trains = search.run(guards, top)
        return Facts(entry=entry, trains=trains, deps=search.deps())

    def resolve(self, importer: Path, module: str | None, level: int) -> Path | None:
        """`Sources.resolve`, remembered per folder; standard-library modules are never looked for."""
        if not level and module and module.split(".", 1)[0] in _STDLIB:
            return None
        key = (importer.parent, module, level)
        if key not in self._resolved:
            found = self.sources.resolve(importer, module, level)
            self._resolved[key] = found.resolve() if found is not None else None
        return self._resolved[key]

    def module(self, path: Path) -> _Module | None:
        """The index of a repository file (parsed once per pass), or None when it cannot be parsed."""
        if path not in self._modules:
            parsed = self.sources.module(path)
            self._modules[path] = _index(path, parsed.tree) if parsed is not None else None
        return self._modules[path]


# What the module does when run


def _is_main_guard(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    test = stmt.test
    names = [test.left, *test.comparators]
    return (len(names) == 2 and any(isinstance(n, ast.Name) and n.id == "__name__" for n in names)
            and any(isinstance(n, ast.Constant) and n.value == "__main__" for n in names))


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements that run on import, outside definitions and `__main__` blocks
    (the bodies of top-level if/try/with blocks included)."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            continue
        if _is_main_guard(stmt):
            continue
        if isinstance(stmt, ast.If):
            yield from _module_statements(stmt.body)
            yield from _module_statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody):
                yield from _module_statements(block)
        elif isinstance(stmt, ast.With):
            yield from _module_statements(stmt.body)
        else:
            yield stmt


def _dotted(node: ast.AST) -> str:
    """`a.b.c` for a Name/Attribute chain (calls in the chain shown as `()`), else ''."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    if isinstance(node, ast.Call):
        inner = _dotted(node.func)
        return f"{inner}()" if inner else ""
    return ""


def _callee_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    return (n for n in ast.walk(node) if isinstance(n, ast.Call))


def _module_entry(top: list[ast.stmt]) -> str | None:
    """How module-level code starts the program, or None when it does no work."""
    work = None
    for stmt in top:
        for call in _calls(stmt):
            name = _callee_name(call)
            if name in _CLI_STARTS:
                return f"{_CLI_STARTS[name]} at module level"
            if name == "run" and _dotted(call.func).endswith("app.run"):
                return "absl app.run at module level"
        if work is None and _does_work(stmt):
            work = "module-level code"
    return work


def _does_work(stmt: ast.stmt) -> bool:
    """A module-level statement a script runs, as opposed to set-up or a configuration value."""
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.Raise)):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Call, ast.Await)):
        call = stmt.value if isinstance(stmt.value, ast.Call) else None
        if call is None:
            return True
        if _mutates_data(call):
            return False
        dotted = _dotted(call.func)
        root = dotted.split(".", 1)[0]
        return not (root in _SETUP_ROOTS or "register" in dotted.rsplit(".", 1)[-1].lower()
                    or dotted.startswith(("torch.backends", "torch.set_", "torch.manual_seed", "tf.config")))
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and stmt.value is not None:
        return any(_training_call(call) for call in _calls(stmt.value))
    return False


def _mutates_data(call: ast.Call) -> bool:
    """`cfg.update(lr=0.1)`, `hooks.append(...)`: a configuration value changed, not work done."""
    return isinstance(call.func, ast.Attribute) and call.func.attr in _MUTATORS


def _is_config(body: list[ast.stmt]) -> bool:
    """Only imports, assignments, deletions, docstrings and in-place updates of values
    (`cfg.update(...)`), inside if/with blocks too."""
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Delete,
                             ast.Pass)):
            continue
        if isinstance(stmt, ast.Expr) and (isinstance(stmt.value, ast.Constant) or (
                isinstance(stmt.value, ast.Call) and _mutates_data(stmt.value))):
            continue
        if isinstance(stmt, ast.If) and _is_config(stmt.body) and _is_config(stmt.orelse):
            continue
        if isinstance(stmt, (ast.With, ast.Try)) and _is_config(stmt.body):
            continue
        return False
    return bool(body)


def _driver(module: _Module, run: list[ast.stmt]) -> str | None:
    """A launcher or hyper-parameter search driver: it runs training elsewhere or many times."""
    modules = {source.split(".", 1)[0] for source, level, _ in module.imports.values() if source and not level}
    launcher = modules & _LAUNCHER_MODULES
    if launcher:
        return f"launcher: submits jobs through {min(launcher)}"
    search = modules & _SEARCH_MODULES
    if search and any(_callee_name(c) in ("optimize", "fmin", "minimize") for s in run for c in _calls(s)):
        return f"hyper-parameter search driver ({min(search)})"
    return None


def _training_call(call: ast.Call) -> str | None:
    """`loss.backward()` when this call trains a model, else None."""
    func = call.func
    name = _callee_name(call)
    if name == "LightningCLI":
        return "LightningCLI(...)"
    if not isinstance(func, ast.Attribute):
        return None
    receiver = _dotted(func.value).rsplit(".", 1)[-1]
    if receiver in ("self", "cls", "super()"):
        return None                      # a method of the class itself, e.g. Module.train(mode) overridden
    shown = f"{_dotted(func)}()"
    if name == "fit" and _PREPROCESSOR(receiver):
        return None                      # StandardScaler().fit(X): data preparation
    if name in _FIT_CALLS:
        return shown
    if name == "update" and _OPTIMIZER.search(receiver) and call.args:
        return shown                     # MLX / optax: optimizer.update(model, grads)
    if name == "train":
        return None if _mode_switch(call) or (not call.args and not call.keywords and _MODULE(receiver)) \
            else shown
    if name == "step":
        if _NOT_OPTIMIZER.search(receiver):
            return None
        if not call.args and not call.keywords:
            return shown
        return shown if _OPTIMIZER.search(receiver) else None
    if name == "minimize" and _OPTIMIZER.search(receiver):
        return shown
    return None


def _mode_switch(call: ast.Call) -> bool:
    """`model.train(False)` or `model.train(mode)`: a module's mode set or restored, not training."""
    if any(k.arg == "mode" for k in call.keywords):
        return True
    if len(call.args) != 1 or call.keywords:
        return False
    if _TRAINER.search(_dotted(call.func.value) if isinstance(call.func, ast.Attribute) else ""):
        return False
    arg = call.args[0]
    return not (isinstance(arg, ast.Constant) and arg.value in (True, 1))


def _announces_other_work(name: str) -> bool:
    """A function named like evaluate/profile/test_*: the search does not enter it."""
    parts = words(name)
    return bool(parts) and parts[0] in _OTHER_WORK_FUNCTIONS


# Following the code an entry point runs


@dataclass
class _Module:
    """One parsed file: its top-level definitions and what its imports bind."""

    path: Path
    defs: dict[str, ast.AST]
    imports: dict[str, tuple[str | None, int, str | None]]   # name -> (module, level, imported member)
    stars: list[tuple[str | None, int]]


def _index(path: Path, tree: ast.Module) -> _Module:
    defs: dict[str, ast.AST] = {}
    imports: dict[str, tuple[str | None, int, str | None]] = {}
    stars: list[tuple[str | None, int]] = []

    def visit(body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs[stmt.name] = stmt
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        imports[alias.asname] = (alias.name, 0, None)
                    else:
                        top = alias.name.split(".")[0]
                        imports[top] = (top, 0, None)
            elif isinstance(stmt, ast.ImportFrom):
                for alias in stmt.names:
                    if alias.name == "*":
                        stars.append((stmt.module, stmt.level))
                    else:
                        imports[alias.asname or alias.name] = (stmt.module, stmt.level, alias.name)
            elif isinstance(stmt, ast.If):
                visit(stmt.body)
                visit(stmt.orelse)
            elif isinstance(stmt, ast.Try):
                for block in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody):
                    visit(block)
            elif isinstance(stmt, ast.With):
                visit(stmt.body)

    visit(tree.body)
    return _Module(path, defs, imports, stars)


@dataclass
class _Item:
    """Code to search: nodes of one file, reached `hops` imports away through the name `via`."""

    path: Path
    nodes: list[ast.AST]
    hops: int
    via: str
    every_name: bool                 # follow every name read (True) or only called names
    owner: ast.ClassDef | None       # the class whose methods these are (for self.method)


class _Search:
    """Breadth-first search from an entry point's code for the nearest training call."""

    def __init__(self, reader: Reader, module: _Module) -> None:
        self.reader = reader
        self.sources = reader.sources
        self.start = module.path
        self.start_module = module
        self.read: set[Path] = set()

    def deps(self) -> dict[str, str]:
        """Root-relative path -> sha256 of every other file this search read."""
        rels = sorted(p.relative_to(self.sources.root).as_posix() for p in self.read)
        return {rel: self.sources.digests[rel] for rel in rels}

    def run(self, guards: list[ast.stmt], top: list[ast.stmt]) -> str | None:
        # From a __main__ block every name read is followed (mp.Process(target=train)); from other
        # module-level code only what it calls (it also registers and patches things).
        queue: deque[_Item] = deque()
        if guards:
            queue.append(_Item(self.start, list(guards), 0, "", True, None))
        if top:
            queue.append(_Item(self.start, list(top), 0, "", False, None))
        seen: set[int] = set()
        while queue:
            item = queue.popleft()
            found = self._training_in(item)
            if found:
                return found
            for target, chain, scan, owner in self._references(item):
                fresh = [node for node in scan if id(node) not in seen]
                seen.update(id(node) for node in fresh)
                if fresh:
                    queue.append(_Item(target, fresh, item.hops + (target != item.path), item.via or chain,
                                       item.every_name, owner))
        return None

    def _training_in(self, item: _Item) -> str | None:
        for node in item.nodes:
            if isinstance(node, (ast.Name, ast.Attribute)) and _dotted(node).endswith("LightningCLI"):
                return f"a LightningCLI subclass (line {node.lineno})"   # a base class of a class reached
            for call in _calls(node):
                shown = _training_call(call)
                if shown:
                    where = f"line {call.lineno}" if item.path == self.start else \
                        f"{item.path.relative_to(self.sources.root).as_posix()}:{call.lineno}"
                    return f"{shown} ({where}{f', through {item.via}' if item.via else ''})"
        return None

    def _references(self, item: _Item) -> Iterator[tuple[Path, str, list[ast.AST], ast.ClassDef | None]]:
        """(file, name, nodes to search, their class) for each repository definition the item's code uses."""
        module = self._module_at(item.path)
        assert module is not None
        chains: set[str] = set()
        calls = [call for node in item.nodes for call in _calls(node)]
        for node in item.nodes:
            if item.every_name:
                _collect_chains(node, chains)
        if not item.every_name:      # what is called, and what a CLI start runs (fire.Fire(main))
            chains.update(d for d in (_dotted(c.func) for c in calls) if d and "()" not in d)
            chains.update(_dotted(a) for c in calls if _callee_name(c) in _RUNS_ITS_ARGUMENT
                          for a in c.args if isinstance(a, (ast.Name, ast.Attribute)))
        called = {c.func.attr for c in calls if isinstance(c.func, ast.Attribute)}
        for chain in sorted(chains):
            parts = chain.split(".")
            if item.owner is not None and parts[0] in ("self", "cls") and len(parts) > 1:
                yield item.path, chain, _searchable(item.owner, parts[1:2], True, called), item.owner
                continue
            found = self._lookup(module, parts, item.hops)
            if found is not None:
                target, node, rest = found
                whole = target == self.start or (isinstance(node, ast.ClassDef) and _TRAINER.search(node.name))
                owner = node if isinstance(node, ast.ClassDef) else None
                yield target, chain, _searchable(node, rest, bool(whole), called), owner

    def _lookup(self, module: _Module, parts: list[str], hops: int) -> tuple[Path, ast.AST, list[str]] | None:
        """(file, definition, attribute names after it) that a dotted name used in `module` names."""
        head = parts[0]
        if head in module.defs:
            return module.path, module.defs[head], parts[1:]
        if hops >= MAX_HOPS:
            return None
        if head in module.imports:
            return self._definition(module, head, parts[1:], hops)
        for star_module, level in module.stars:
            found = self._module_at(self.reader.resolve(module.path, star_module, level))
            if found is not None and head in found.defs:
                return found.path, found.defs[head], parts[1:]
        return None

    def _definition(self, module: _Module, name: str, rest: list[str],
                    hops: int) -> tuple[Path, ast.AST, list[str]] | None:
        source, level, member = module.imports[name]
        if member is None:                       # import a.b [as name]: name.rest... is a module path
            return self._in_module(module.path, source, level, rest, hops)
        dotted = f"{source}.{member}" if source else member
        submodule = self._module_at(self.reader.resolve(module.path, dotted, level))
        if submodule is not None:                # from package import submodule
            return self._find(submodule, rest, hops + 1)
        target = self._module_at(self.reader.resolve(module.path, source, level))
        if target is None:
            return None
        return self._find(target, [member, *rest], hops + 1)

    def _in_module(self, importer: Path, source: str | None, level: int, rest: list[str],
                   hops: int) -> tuple[Path, ast.AST, list[str]] | None:
        """`import pkg` then `pkg.sub.func`: the longest prefix of `rest` that is a module, then a def."""
        for split in range(len(rest) - 1, -1, -1):
            dotted = ".".join([source or "", *rest[:split]]).strip(".")
            target = self._module_at(self.reader.resolve(importer, dotted, level))
            if target is not None:
                return self._find(target, rest[split:], hops + 1)
        return None

    def _find(self, module: _Module, parts: list[str], hops: int) -> tuple[Path, ast.AST, list[str]] | None:
        """A top-level definition `parts[0]` of `module`, following re-exports."""
        if not parts:
            return None
        name = parts[0]
        if name in module.defs:
            return module.path, module.defs[name], parts[1:]
        if name in module.imports and hops < MAX_HOPS:
            return self._definition(module, name, parts[1:], hops)
        return None

    def _module_at(self, path: Path | None) -> _Module | None:
        if path is None:
            return None
        if path == self.start:
            return self.start_module
        found = self.reader.module(path)
        if found is not None:
            self.read.add(path)
        return found


def _collect_chains(node: ast.AST, out: set[str]) -> None:
    """Every maximal dotted name read in `node` (`a.b.c`, not also `a.b` and `a`)."""
    if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
        dotted = _dotted(node)
        if dotted and "()" not in dotted:
            out.add(dotted)
            return
    for child in ast.iter_child_nodes(node):
        _collect_chains(child, out)


def _searchable(node: ast.AST, rest: list[str], whole_class: bool, called: set[str]) -> list[ast.AST]:
    """What to search in a definition reached as `node.rest...`: a function's body; one method of a
    class (`Class.method`); or a class — all of it when the entry point's own file defines it or
    its name says it trains (Trainer, TrainLoop, Runner, ...), else its bases, `__init__`,
    `__call__` and the methods the referring code calls by name. Never a function named like
    evaluate, profile or test."""
    if isinstance(node, ast.ClassDef):
        methods = {m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if rest:
            method = methods.get(rest[0])
            return [method] if method is not None and not _announces_other_work(method.name) else []
        wanted = [m for name, m in methods.items() if not _announces_other_work(name) and (
            whole_class or name in ("__init__", "__call__") or name in called)]
        return [*node.bases, *wanted]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [] if rest or _announces_other_work(node.name) else [node]
    return []
