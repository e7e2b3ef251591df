"""HfArgumentParser (transformers) and parsers built on it (trl's TrlParser): dataclass fields
become options.

A field `name` becomes `--name` (and `--name-with-dashes`, as recent transformers adds);
booleans defaulting to True also get `--no_name`. Dataclasses come from the repository (any
module) or, for transformers' `TrainingArguments` family, from the installed package's source
(`installed.py`); when transformers is not installed, the common fields in
`TRAINING_ARGUMENTS_FIELDS` stand in, and a note says so.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.frameworks.argparse import Parser, parser_options
from runall.plan.flags.installed import find_class
from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Class, Import, as_text, describe, scalar, type_name

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter

# Common fields of transformers' TrainingArguments: (field, takes a value, help).
TRAINING_ARGUMENTS_FIELDS: tuple[tuple[str, bool, str], ...] = (
    ("output_dir", True, "The output directory where the model predictions and checkpoints will be written."),
    ("overwrite_output_dir", False, ""),
    ("do_train", False, ""), ("do_eval", False, ""), ("do_predict", False, ""),
    ("num_train_epochs", True, "Total number of training epochs to perform."),
    ("max_steps", True, ""),
    ("per_device_train_batch_size", True, "Batch size per device for training."),
    ("per_device_eval_batch_size", True, ""),
    ("gradient_accumulation_steps", True, ""), ("learning_rate", True, ""), ("weight_decay", True, ""),
    ("warmup_steps", True, ""), ("logging_dir", True, ""), ("logging_steps", True, ""), ("save_steps", True, ""),
    ("seed", True, "Random seed that will be set at the beginning of training."),
    ("data_seed", True, ""), ("fp16", False, ""), ("bf16", False, ""), ("report_to", True, ""),
    ("resume_from_checkpoint", True, ""), ("run_name", True, ""),
)
# Where the TrainingArguments family is defined in an installed package: class -> (package, file).
KNOWN_CLASSES = {
    "TrainingArguments": ("transformers", "training_args.py"),
    "Seq2SeqTrainingArguments": ("transformers", "training_args_seq2seq.py"),
}
# Dataclasses of other packages known to extend TrainingArguments (their own extra fields unknown).
TRAINING_ARGUMENTS_SUBCLASSES = {"SFTConfig", "DPOConfig", "RewardConfig", "ORPOConfig", "KTOConfig", "CPOConfig",
                                 "GRPOConfig", "PPOConfig", "GKDConfig", "OnlineDPOConfig", "PRMConfig"}
_TYPING_ROOTS = {"abc", "typing", "typing_extensions", "enum", "dataclasses"}
_PARSER_NAMES = ("HfArgumentParser", "TrlParser")


class HfFramework(Framework):
    cli = "hf_dataclass"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.parsers: list[Parser] = []
        self.notes: list[str] = []

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any],
             subclass: Class | None = None) -> Any:
        if callee.leaf not in _PARSER_NAMES:
            return NOT_MINE
        argparse = self.ctx.framework("argparse")
        parser = argparse.new_parser(node, None, kwargs, into=self.parsers)  # type: ignore[attr-defined]
        types = args[0] if args else kwargs.get("dataclass_types")
        for dtype in types if isinstance(types, tuple) else [types]:
            parser.options.extend(self.dataclass_options(node, dtype))
        if callee.leaf == "TrlParser":
            parser.options.append(Option(("--config",), "config", None, True, help="path to the YAML config file"))
        return parser

    def dataclass_options(self, node: ast.AST, dtype: Any, depth: int = 0) -> list[Option]:
        """The options of one dataclass (a repository class, or one of a known installed package)."""
        if isinstance(dtype, Import):
            return self._installed_options(node, dtype)
        if not isinstance(dtype, Class) or depth > 8:
            self.ctx.problem(node, f"dataclass {describe(node)} cannot be read", opaque=True)
            return []
        options: dict[str, Option] = {}
        for base in dtype.bases:
            if base is not None and not (isinstance(base, Import) and base.root in _TYPING_ROOTS):
                for option in self.dataclass_options(node, base, depth + 1):
                    options.setdefault(option.strings[0], option)
        for stmt in dtype.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                for option in self._field_options(stmt, lambda expr: self.ctx.eval_in(expr, dtype.scope)):
                    options[option.strings[0]] = option
        return list(options.values())

    def _installed_options(self, node: ast.AST, dtype: Import) -> list[Option]:
        name = dtype.leaf
        if name in KNOWN_CLASSES or name in TRAINING_ARGUMENTS_SUBCLASSES:
            found = self._read_installed(name if name in KNOWN_CLASSES else "TrainingArguments")
            if found is not None:
                return found
            self.notes.append(f"{name}: transformers is not installed here, so only the {len(TRAINING_ARGUMENTS_FIELDS)} "
                              "common TrainingArguments fields of a built-in table are known")
            return [hf_option(field, not takes, help or None) for field, takes, help in TRAINING_ARGUMENTS_FIELDS]
        self.ctx.problem(node, f"dataclass {dtype.qual} is defined outside this repository", opaque=True)
        return []

    def _read_installed(self, name: str, depth: int = 0) -> list[Option] | None:
        package, relpath = KNOWN_CLASSES[name]
        found = find_class(package, relpath, name)
        if found is None:
            return None
        self.ctx.depend(str(found.path), found.digest)
        options: dict[str, Option] = {}
        for base in found.node.bases:
            base_name = ast.unparse(base).split(".")[-1]
            if base_name in KNOWN_CLASSES and depth < 4:
                for option in self._read_installed(base_name, depth + 1) or []:
                    options.setdefault(option.strings[0], option)
        for stmt in found.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                for option in self._field_options(stmt, _literal):
                    options[option.strings[0]] = option
        if depth == 0:
            version = f" {found.version}" if found.version else ""
            self.notes.append(f"{name}: fields read from the installed {package}{version} ({found.path})")
        return list(options.values())

    def _field_options(self, stmt: ast.AnnAssign, evaluate: Any) -> list[Option]:
        name = stmt.target.id  # type: ignore[union-attr]
        annotation = ast.unparse(stmt.annotation)
        if "ClassVar" in annotation or "InitVar" in annotation or name.startswith("_"):
            return []
        default, aliases, init, help = _field_spec(stmt.value, evaluate)
        if not init:
            return []
        is_bool = annotation in ("bool", "Optional[bool]", "bool | None", "typing.Optional[bool]")
        option = hf_option(name, is_bool, help, aliases, scalar(default), type_name(stmt.annotation))
        if is_bool and default is True:
            return [option, Option((f"--no_{name}",), name, None, False)]
        return [option]

    def result(self) -> Found | None:
        if not self.parsers:
            return None
        return Found(self.cli, parser_options(self.parsers), notes=self.notes)


def hf_option(name: str, is_bool: bool, help: str | None = None, aliases: tuple[str, ...] = (),
              default: Any = None, type: str | None = None) -> Option:
    strings = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else []) + list(aliases)
    return Option(tuple(dict.fromkeys(strings)), name, None, not is_bool, help=help, default=default,
                  type=type)


def _field_spec(value: ast.expr | None, evaluate: Any) -> tuple[Any, tuple[str, ...], bool, str | None]:
    """(default, aliases, init, help) of a dataclass field's right-hand side."""
    if not isinstance(value, ast.Call):
        return evaluate(value), (), True, None
    kw = {k.arg: evaluate(k.value) for k in value.keywords if k.arg}
    metadata = kw.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    aliases = kw.get("aliases", metadata.get("aliases"))
    aliases = (aliases,) if isinstance(aliases, str) else aliases if isinstance(aliases, tuple) else ()
    return (kw.get("default"), tuple(a for a in aliases if isinstance(a, str)), kw.get("init") is not False,
            as_text(metadata.get("help")))


def _literal(node: ast.expr | None) -> Any:
    """A literal value in an installed file (nothing there is interpreted)."""
    if node is None:
        return None
    if isinstance(node, ast.Dict):
        keys = [_literal(k) for k in node.keys]
        return {k: _literal(v) for k, v in zip(keys, node.values) if isinstance(k, str)}
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = _literal(node.left), _literal(node.right)
            return left + right if isinstance(left, str) and isinstance(right, str) else None
        return None


FRAMEWORK = HfFramework
