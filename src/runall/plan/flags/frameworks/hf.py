"""HfArgumentParser (transformers) and parsers built on it (trl's TrlParser): dataclass fields
become options.

A field `name` becomes `--name` (and `--name-with-dashes`, as recent transformers adds);
booleans defaulting to True also get `--no_name`. Dataclasses come from the repository (any
module); those imported from transformers or trl are looked up in the repository's own copy
of the package when it has one, else in the installed package's source (`installed.py`, read,
never imported). When transformers is not installed, the common fields of `TrainingArguments`
in `TRAINING_ARGUMENTS_FIELDS` stand in, and a note says so.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.frameworks.argparse import Parser, parser_options
from runall.plan.flags.frameworks.fields import Field, attribute_docstring, field_from, fields_of
from runall.plan.flags.installed import InstalledClass, find_class, find_class_in, locate_class
from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Class, Import, describe, scalar

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
# Where transformers defines the TrainingArguments family: class -> file in the package.
KNOWN_FILES = {"TrainingArguments": "training_args.py", "Seq2SeqTrainingArguments": "training_args_seq2seq.py"}
# Dataclasses of other packages known to extend TrainingArguments, for when their source is nowhere here.
TRAINING_ARGUMENTS_SUBCLASSES = {"SFTConfig", "DPOConfig", "RewardConfig", "ORPOConfig", "KTOConfig", "CPOConfig",
                                 "GRPOConfig", "PPOConfig", "GKDConfig", "OnlineDPOConfig", "PRMConfig"}
_PARSER_NAMES = ("HfArgumentParser", "TrlParser")
_PACKAGES = ("transformers", "trl")


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
            fields = self.fields(dtype)
            if fields is None:
                self.ctx.problem(node, f"dataclass {describe(node)} cannot be read", opaque=True)
                continue
            for item in fields:
                parser.options.extend(field_options(item))
        if callee.leaf == "TrlParser":
            parser.options.append(Option(("--config",), "config", None, True, help="path to the YAML config file",
                                         type="path"))
        return parser

    def fields(self, dtype: Any) -> list[Field] | None:
        """The fields of a dataclass: a repository class, or one of transformers' or trl's."""
        if isinstance(dtype, Import):
            return self._package_fields(dtype.root, dtype.leaf)
        return fields_of(self.ctx, dtype, resolve=self._import_fields)

    def _import_fields(self, base: Import) -> list[Field] | None:
        return self._package_fields(base.root, base.leaf) if base.root in _PACKAGES else None

    def _package_fields(self, package: str, name: str, depth: int = 0) -> list[Field] | None:
        if package not in _PACKAGES or depth > 6:
            return None
        repo_copy = self._repository_class(package, name)
        if repo_copy is not None:
            return fields_of(self.ctx, repo_copy, resolve=self._import_fields)
        found = find_class("transformers", KNOWN_FILES[name], name) if name in KNOWN_FILES else \
            find_class_in(package, name)
        if found is not None:
            return self._installed_fields(found, package, depth)
        if name in KNOWN_FILES or name in TRAINING_ARGUMENTS_SUBCLASSES:
            self.notes.append(f"{name}: its source is not installed here, so only the {len(TRAINING_ARGUMENTS_FIELDS)}"
                              " common TrainingArguments fields of a built-in table are known")
            return [Field(field_name, ast.Name("bool" if not takes else "str"), None, help or None, ())
                    for field_name, takes, help in TRAINING_ARGUMENTS_FIELDS]
        return None

    def _repository_class(self, package: str, name: str) -> Class | None:
        """Class `name` of the repository's own copy of `package` (e.g. inside the trl repository)."""
        main = self.ctx.main
        init = self.ctx.sources.resolve(main.path, package) if main is not None else None
        if init is None or init.name != "__init__.py":
            return None
        path = locate_class(init.parent, name)
        module = self.ctx.load(path) if path is not None else None
        value = module.scope.vars.get(name) if module is not None else None
        return value if isinstance(value, Class) else None

    def _installed_fields(self, found: InstalledClass, package: str, depth: int) -> list[Field]:
        self.ctx.depend(str(found.path), found.digest)
        if depth == 0:
            version = f" {found.version}" if found.version else ""
            self.notes.append(f"{found.node.name}: fields read from the installed {package}{version} ({found.path})")
        fields: dict[str, Field] = {}
        for base in found.node.bases:
            base_name = ast.unparse(base).split(".")[-1]
            inherited = self._package_fields("transformers" if base_name in KNOWN_FILES else package, base_name,
                                             depth + 1)
            for item in inherited or []:
                fields.setdefault(item.name, item)
        for i, stmt in enumerate(found.node.body):
            if isinstance(stmt, ast.AnnAssign):
                item = field_from(stmt, _literal)
                if item is not None:
                    fields[item.name] = replace(item, help=item.help or attribute_docstring(found.node.body, i))
        return list(fields.values())

    def result(self) -> Found | None:
        if not any(parser.live for parser in self.parsers):
            return None
        return Found(self.cli, parser_options(self.parsers), notes=list(dict.fromkeys(self.notes)))


def field_options(item: Field) -> list[Option]:
    """`--name` (and `--name-with-dashes`, aliases) for one field; `--no_name` for a True boolean."""
    strings = [f"--{item.name}"] + ([f"--{item.name.replace('_', '-')}"] if "_" in item.name else []) + list(item.aliases)
    option = Option(tuple(dict.fromkeys(strings)), item.name, None, not item.is_bool, help=item.help,
                    default=scalar(item.default), type=item.type)
    if item.is_bool and item.default is True:
        return [option, Option((f"--no_{item.name}",), item.name, None, False)]
    return [option]


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
