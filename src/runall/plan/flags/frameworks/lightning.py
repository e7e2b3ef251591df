"""LightningCLI: options from the Trainer, the LightningModule and the LightningDataModule.

`LightningCLI(Model, DataModule)` gives `--trainer.<Trainer parameter>` (read from the installed
Lightning's source, else a built-in table), `--model.<param>` and `--data.<param>` from the
classes' `__init__` where they are repository classes, `--seed_everything`, `--config` and
`--print_config`; a subclass's `add_arguments_to_parser` adds its own. Unless `run=False`, the
script needs a subcommand first: jobs run it as `SCRIPT fit ...` (`leading`).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from runall.plan.flags.framework import Found, Framework
from runall.plan.flags.frameworks.argparse import Parser, parser_options
from runall.plan.flags.frameworks.jsonargparse import CONFIG, PRINT_CONFIG
from runall.plan.flags.installed import find_class
from runall.plan.flags.model import Option
from runall.plan.flags.values import NOT_MINE, Class, FrameworkValue, Import, params_with_defaults, scalar

if TYPE_CHECKING:
    from runall.plan.flags.interpreter import Interpreter

# Trainer parameters when Lightning is not installed: (name, takes a value, help).
TRAINER_PARAMETERS: tuple[tuple[str, bool, str], ...] = (
    ("accelerator", True, ""), ("strategy", True, ""), ("devices", True, ""), ("num_nodes", True, ""),
    ("precision", True, ""), ("logger", True, ""), ("callbacks", True, ""), ("fast_dev_run", True, ""),
    ("max_epochs", True, "Stop training once this number of epochs is reached."),
    ("min_epochs", True, "Force training for at least these many epochs."),
    ("max_steps", True, ""), ("min_steps", True, ""), ("max_time", True, ""),
    ("limit_train_batches", True, ""), ("limit_val_batches", True, ""), ("limit_test_batches", True, ""),
    ("limit_predict_batches", True, ""), ("overfit_batches", True, ""), ("val_check_interval", True, ""),
    ("check_val_every_n_epoch", True, ""), ("num_sanity_val_steps", True, ""), ("log_every_n_steps", True, ""),
    ("enable_checkpointing", True, ""), ("enable_progress_bar", True, ""), ("enable_model_summary", True, ""),
    ("accumulate_grad_batches", True, ""), ("gradient_clip_val", True, ""), ("gradient_clip_algorithm", True, ""),
    ("deterministic", True, ""), ("benchmark", True, ""), ("inference_mode", True, ""),
    ("use_distributed_sampler", True, ""), ("profiler", True, ""), ("detect_anomaly", True, ""),
    ("barebones", True, ""), ("plugins", True, ""), ("sync_batchnorm", True, ""),
    ("reload_dataloaders_every_n_epochs", True, ""),
    ("default_root_dir", True, "Default path for logs and weights when no logger/ckpt_callback passed."),
)
_TRAINER_HELP = {name: help for name, _, help in TRAINER_PARAMETERS if help}
_INSTALLED = (("lightning", "pytorch/trainer/trainer.py"), ("pytorch_lightning", "trainer/trainer.py"))


class LightningCliValue(FrameworkValue):
    """The object `LightningCLI(...)` returns (its attributes are not followed)."""


class LightningFramework(Framework):
    cli = "lightning"

    def __init__(self, ctx: "Interpreter") -> None:
        super().__init__(ctx)
        self.parsers: list[Parser] = []
        self.notes: list[str] = []
        self.leading: tuple[str, ...] = ()

    def call(self, node: ast.Call, callee: Import, args: list[Any], kwargs: dict[str, Any],
             subclass: Class | None = None) -> Any:
        if callee.leaf == "add_argparse_args" and "Trainer" in callee.qual.split("."):
            return self._add_argparse_args(node, args[0] if args else kwargs.get("parent_parser"))
        if callee.leaf != "LightningCLI":
            return NOT_MINE
        made = LightningCliValue()
        made.cls = subclass
        if kwargs.get("args") is not None:
            self.ctx.problem(node, "LightningCLI(args=...) does not read the command line")
            self.parsers.append(Parser(self.ctx.framework("argparse"), None, live=True))  # type: ignore[arg-type]
            return made
        parser = self.ctx.framework("jsonargparse").new_parser(node, into=self.parsers)  # type: ignore[attr-defined]
        parser.live = True
        parser.options += [CONFIG, PRINT_CONFIG,
                           Option(("--seed_everything",), "seed_everything", None, True,
                                  help="Set to an int to run seed_everything with this value before classes "
                                       "instantiation", type="int")]
        defaults = kwargs.get("trainer_defaults")
        parser.options += self._trainer(defaults if isinstance(defaults, dict) else {})
        model = args[0] if args else kwargs.get("model_class")
        data = args[1] if len(args) > 1 else kwargs.get("datamodule_class")
        parser.add_class(self.ctx, node, model, "model", subclass=bool(kwargs.get("subclass_mode_model")))
        if data is not None or kwargs.get("subclass_mode_data"):
            parser.add_class(self.ctx, node, data, "data", subclass=bool(kwargs.get("subclass_mode_data")))
        if subclass is not None:
            hook = self.ctx.member(subclass, "add_arguments_to_parser")
            if hook is not None:
                self.ctx.invoke(hook, [made, parser], {})
        if kwargs.get("run", True) is not False:
            self.leading = ("fit",)
            self.notes.append("LightningCLI runs a subcommand: jobs run the script as `SCRIPT fit [options]`")
        return made

    def _add_argparse_args(self, node: ast.Call, target: Any) -> Any:
        """Lightning 1.x `Trainer.add_argparse_args(parser)`: every Trainer parameter as `--name`."""
        argparse = self.ctx.framework("argparse")
        parser = argparse.as_parser(node, target, "add_argument") if target is not None \
            else argparse.implicit(node)  # type: ignore[attr-defined]
        if parser is None:
            self.ctx.problem(node, "Trainer.add_argparse_args on a parser that cannot be followed", opaque=True)
            return None
        parser.live = parser.live or self.ctx.own_code
        parser.options += [Option((f"--{o.dest.split('.', 1)[1]}",), o.dest.split(".", 1)[1], None, o.takes_value,
                                  o.help, o.default) for o in self._trainer({})]
        return parser

    def _trainer(self, defaults: dict[str, Any]) -> list[Option]:
        for package, relpath in _INSTALLED:
            found = find_class(package, relpath, "Trainer")
            init = next((s for s in found.node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"),
                        None) if found else None
            if found is None or init is None:
                continue
            self.ctx.depend(str(found.path), found.digest)
            self.notes.append(f"Trainer parameters read from the installed {package}"
                              f"{' ' + found.version if found.version else ''} ({found.path})")
            return [Option((f"--trainer.{arg.arg}",), f"trainer.{arg.arg}", None, True,
                           help=_TRAINER_HELP.get(arg.arg), default=scalar(defaults.get(arg.arg)))
                    for arg, _ in params_with_defaults(init.args) if arg.arg != "self"]
        self.notes.append(f"Lightning is not installed here: the {len(TRAINER_PARAMETERS)} common Trainer "
                          "parameters of a built-in table are listed")
        return [Option((f"--trainer.{name}",), f"trainer.{name}", None, takes, help=help or None,
                       default=scalar(defaults.get(name))) for name, takes, help in TRAINER_PARAMETERS]

    def result(self) -> Found | None:
        if not self.parsers:
            return None
        return Found(self.cli, parser_options(self.parsers), self.leading, self.notes)


FRAMEWORK = LightningFramework
