"""Unit tests of the flags stage's static analyser, and the labelled corpus."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from runall.plan.flags.model import Option, ScriptFlags, sniff_file, sniff_source
from runall.plan.flags.roles import ROLES, roles_for

CORPUS = Path(__file__).parent / "flag_corpus"
LABELS = json.loads((CORPUS / "labels.json").read_text())


def sniff(source: str) -> ScriptFlags:
    return sniff_source(textwrap.dedent(source))


def strings(flags: ScriptFlags) -> set[str]:
    return set(flags.option_strings)


def by_primary(flags: ScriptFlags) -> dict[str, Option]:
    return {o.primary: o for o in flags.options}


# --- argparse basics ---------------------------------------------------------------------------


def test_add_argument_records_all_strings_dest_and_value_kind():
    flags = sniff("""
        import argparse
        p = argparse.ArgumentParser()
        p.add_argument("-e", "--epochs", type=int)
        p.add_argument("--out", dest="output_dir")
        p.add_argument("--fast", action="store_true")
        p.add_argument("-v", action="count")
        p.add_argument("--amp", action=argparse.BooleanOptionalAction)
        p.add_argument("data_path")
    """)
    opts = by_primary(flags)
    assert flags.cli == "argparse" and flags.known and flags.problems == []
    assert opts["--epochs"] == Option(("-e", "--epochs"), "epochs", None, True)
    assert opts["--out"].dest == "output_dir"
    assert not opts["--fast"].takes_value and not opts["-v"].takes_value
    assert opts["--amp"].strings == ("--amp", "--no-amp") and not opts["--amp"].takes_value
    assert "data_path" not in strings(flags)


def test_dest_derivation_follows_argparse():
    opts = by_primary(sniff("""
        from argparse import ArgumentParser
        p = ArgumentParser()
        p.add_argument("-b", "--batch-size")
        p.add_argument("-s")
    """))
    assert opts["--batch-size"].dest == "batch_size"
    assert opts["-s"].dest == "s"


def test_groups_and_mutually_exclusive_groups():
    flags = sniff("""
        import argparse
        parser = argparse.ArgumentParser()
        g = parser.add_argument_group("io")
        g.add_argument("--output-dir")
        m = g.add_mutually_exclusive_group()
        m.add_argument("--kfold", type=int)
        parser.add_mutually_exclusive_group().add_argument("--holdout")
    """)
    assert strings(flags) == {"--output-dir", "--kfold", "--holdout"}
    assert all(o.subcommand is None for o in flags.options)


@pytest.mark.parametrize("imports, make", [
    ("import argparse as ap", "ap.ArgumentParser()"),
    ("from argparse import ArgumentParser", "ArgumentParser()"),
    ("from argparse import ArgumentParser as AP", "AP(description='x')"),
    ("import configargparse", "configargparse.ArgParser()"),
])
def test_parser_import_styles(imports, make):
    flags = sniff(f"""
        {imports}
        parser = {make}
        parser.add_argument("--epochs")
    """)
    assert flags.cli == "argparse" and strings(flags) == {"--epochs"}


def test_configargparse_add_alias():
    flags = sniff("""
        import configargparse
        p = configargparse.ArgParser()
        p.add("-c", "--config", is_config_file=True)
    """)
    assert strings(flags) == {"-c", "--config"}


# --- where the parser is built -----------------------------------------------------------------


def test_helper_built_parser_returned_and_extended():
    flags = sniff("""
        import argparse
        def main():
            parser = build_parser()
            parser.add_argument("--extra")
            return parser.parse_args()
        def build_parser():
            p = argparse.ArgumentParser()
            p.add_argument("--epochs")
            return p
        if __name__ == "__main__":
            main()
    """)
    assert strings(flags) == {"--epochs", "--extra"}
    assert flags.known


def test_module_parser_filled_inside_functions():
    flags = sniff("""
        import argparse
        parser = argparse.ArgumentParser()
        def add_training():
            parser.add_argument("--epochs")
        add_training()
    """)
    assert strings(flags) == {"--epochs"}


def test_parser_passed_as_parameter_to_uncalled_function_counts():
    flags = sniff("""
        import argparse
        def add_args(parser):
            parser.add_argument("--seed")
    """)
    assert strings(flags) == {"--seed"} and flags.cli == "argparse"


def test_add_argument_on_unknown_object_without_argparse_is_ignored():
    flags = sniff("""
        builder = make_command()
        builder.add_argument("--epochs")
    """)
    assert flags.options == [] and flags.cli == "unknown"
    assert any("not known to be a parser" in p for p in flags.problems)


def test_parents_from_same_file():
    flags = sniff("""
        import argparse
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("--seed")
        parser = argparse.ArgumentParser(parents=[common])
        parser.add_argument("--epochs")
        sub = parser.add_subparsers()
        train = sub.add_parser("train", parents=[common])
    """)
    got = {(o.primary, o.subcommand) for o in flags.options}
    assert got == {("--seed", None), ("--epochs", None), ("--seed", "train")}


def test_parents_from_helper_function():
    flags = sniff("""
        import argparse
        def base():
            p = argparse.ArgumentParser(add_help=False)
            p.add_argument("--data-dir")
            return p
        parser = argparse.ArgumentParser(parents=[base()])
    """)
    assert strings(flags) == {"--data-dir"} and flags.known


def test_unresolvable_parents_make_script_unknown():
    flags = sniff("""
        import argparse
        from shared import common_parser
        parser = argparse.ArgumentParser(parents=[common_parser])
        parser.add_argument("--epochs")
    """)
    assert not flags.known and "--epochs" in strings(flags)


def test_options_on_a_class_attribute_parser():
    flags = sniff("""
        import argparse
        class Options:
            def __init__(self):
                self.parser = argparse.ArgumentParser()
            def initialize(self):
                self.parser.add_argument("--n_epochs")
            def parse(self):
                self.initialize()
                return self.parser.parse_args()
        opt = Options().parse()
    """)
    assert strings(flags) == {"--n_epochs"}


def test_argument_parser_subclass():
    flags = sniff("""
        import argparse
        class MyParser(argparse.ArgumentParser):
            def __init__(self):
                super().__init__()
                self.add_argument("--epochs")
                self.more()
            def more(self):
                self.add_argument("--folds")
        args = MyParser().parse_args()
    """)
    assert strings(flags) == {"--epochs", "--folds"}


def test_static_method_adding_arguments():
    flags = sniff("""
        import argparse
        class Model:
            @staticmethod
            def add_model_specific_args(parser):
                parser.add_argument("--hidden")
                return parser
        parser = argparse.ArgumentParser()
        parser = Model.add_model_specific_args(parser)
    """)
    assert strings(flags) == {"--hidden"} and flags.known


def test_global_parser_and_loop_over_parsers():
    flags = sniff("""
        import argparse
        parser = None
        def setup():
            global parser
            parser = argparse.ArgumentParser()
            sub = parser.add_subparsers()
            train, test = sub.add_parser("train"), sub.add_parser("test")
            for p in (train, test):
                p.add_argument("--data-dir")
        def extend():
            parser.add_argument("--seed")
        setup()
        extend()
    """)
    got = {(o.primary, o.subcommand) for o in flags.options}
    assert got == {("--seed", None), ("--data-dir", "train"), ("--data-dir", "test")}


# --- resolving option strings ------------------------------------------------------------------


def test_constants_tuples_and_star_args():
    flags = sniff("""
        import argparse
        EPOCHS = "--epochs"
        OUT = ("-o", "--output-dir")
        SEEDS = ["--seed"]
        class Flags:
            FOLDS = "--folds"
        p = argparse.ArgumentParser()
        p.add_argument(EPOCHS)
        p.add_argument(*OUT)
        p.add_argument(*SEEDS, type=int)
        p.add_argument(Flags.FOLDS)
    """)
    assert strings(flags) == {"--epochs", "-o", "--output-dir", "--seed", "--folds"}
    assert flags.known


def test_computed_strings():
    flags = sniff("""
        import argparse
        P = "train"
        def flag(name):
            return "--" + name
        p = argparse.ArgumentParser()
        p.add_argument(f"--{P}-epochs")
        p.add_argument("--{}".format("seed"))
        p.add_argument("--{name}-dir".format(name="data"))
        p.add_argument("--%s" % "folds")
        p.add_argument(flag("output-dir"))
        p.add_argument("--Batch_Size".lower())
    """)
    assert strings(flags) == {"--train-epochs", "--seed", "--data-dir", "--folds", "--output-dir", "--batch_size"}


def test_loops_and_comprehensions_over_literals():
    flags = sniff("""
        import argparse
        DEFAULTS = {"--lr": 0.1, "--wd": 0.0}
        p = argparse.ArgumentParser()
        for name in ("--a", "--b"):
            p.add_argument(name)
        for name, kind in [("--epochs", int), ("--folds", int)]:
            p.add_argument(name, type=kind)
        for flag, default in DEFAULTS.items():
            p.add_argument(flag, default=default)
        [p.add_argument(f"--{n}") for n in ("x", "y")]
    """)
    assert strings(flags) == {"--a", "--b", "--epochs", "--folds", "--lr", "--wd", "--x", "--y"}
    assert flags.known


@pytest.mark.parametrize("body", [
    "for f in fields(Config):\n    p.add_argument(f'--{f.name}')",
    "p.add_argument(*sys.argv[1:])",
    "p.add_argument(**spec)",
    "[p.add_argument(name) for name in load_names()]",
])
def test_non_literal_option_strings_make_script_unknown(body):
    flags = sniff("import argparse, sys\np = argparse.ArgumentParser()\np.add_argument('--ok')\n" + body + "\n")
    assert flags.cli == "unknown" and not flags.known
    assert "--ok" in strings(flags)
    assert any("line" in p for p in flags.problems)


# --- subcommands -------------------------------------------------------------------------------


def test_subparsers_record_their_subcommand():
    flags = sniff("""
        import argparse
        def add_common(p):
            p.add_argument("--data-dir")
        parser = argparse.ArgumentParser()
        parser.add_argument("--seed")
        sub = parser.add_subparsers(dest="cmd")
        train = sub.add_parser("train")
        add_common(train)
        train.add_argument("--epochs")
        ev = sub.add_parser(name="eval")
        add_common(ev)
        nested = ev.add_subparsers().add_parser("full")
        nested.add_argument("--folds")
    """)
    got = {(o.primary, o.subcommand) for o in flags.options}
    assert got == {("--seed", None), ("--data-dir", "train"), ("--epochs", "train"),
                   ("--data-dir", "eval"), ("--folds", "eval full")}


# --- click and typer ---------------------------------------------------------------------------


def test_click_command_options_and_arguments():
    flags = sniff("""
        import click
        @click.command()
        @click.argument("data")
        @click.option("--epochs", "-e", default=3)
        @click.option("-o", "--out", "output_dir")
        @click.option("--shout/--no-shout", default=False)
        @click.option("--debug", is_flag=True)
        @click.option("-v", "--verbose", count=True)
        @click.version_option("1.0")
        def main(data, epochs, output_dir, shout, debug, verbose):
            pass
    """)
    opts = by_primary(flags)
    assert flags.cli == "click"
    assert set(opts) == {"--epochs", "--out", "--shout", "--debug", "--verbose", "--version"}
    assert opts["--epochs"].strings == ("--epochs", "-e") and opts["--epochs"].takes_value
    assert opts["--out"].dest == "output_dir"
    assert opts["--shout"].strings == ("--shout", "--no-shout")
    assert not any(opts[k].takes_value for k in ("--shout", "--debug", "--verbose", "--version"))


def test_click_group_subcommands_and_add_command():
    flags = sniff("""
        import click as c
        @c.group()
        @c.option("--seed")
        def cli(seed):
            pass
        @cli.command()
        @c.option("--epochs")
        def train_model(epochs):
            pass
        @cli.command("evaluate")
        @c.option("--checkpoint-dir")
        def ev(checkpoint_dir):
            pass
        @cli.group()
        def data():
            pass
        @data.command(name="fetch")
        @c.option("--data-dir")
        def fetch(data_dir):
            pass
        @c.command()
        @c.option("--folds")
        def cv(folds):
            pass
        cli.add_command(cv, "crossval")
    """)
    got = {(o.primary, o.subcommand) for o in flags.options}
    assert got == {("--seed", None), ("--epochs", "train-model"), ("--checkpoint-dir", "evaluate"),
                   ("--data-dir", "data fetch"), ("--folds", "crossval")}


def test_typer_run_implicit_options():
    flags = sniff("""
        import typer
        from pathlib import Path
        def main(data: Path, num_epochs: int = 3, output_dir: str = "out", resume: bool = False):
            pass
        typer.run(main)
    """)
    opts = by_primary(flags)
    assert flags.cli == "typer"
    assert set(opts) == {"--num-epochs", "--output-dir", "--resume"}
    assert opts["--resume"].strings == ("--resume", "--no-resume") and not opts["--resume"].takes_value
    assert opts["--num-epochs"].dest == "num_epochs"


def test_typer_explicit_options_annotated_and_arguments():
    flags = sniff("""
        from typing import Annotated
        import typer
        from typer import Option
        app = typer.Typer()
        @app.command()
        def train(
            epochs: int = Option(3, "--epochs", "-e"),
            seed: Annotated[int, typer.Option("--random-seed")] = 0,
            force: bool = typer.Option(False, "--force"),
            accept: bool = typer.Option(True, "--accept/--reject"),
            cfg: Annotated[str, typer.Argument()] = "x.yaml",
            name: str = typer.Argument("run"),
            folds: int = typer.Option(5),
        ):
            pass
    """)
    opts = by_primary(flags)
    assert set(opts) == {"--epochs", "--random-seed", "--force", "--accept", "--folds"}
    assert opts["--force"].strings == ("--force",)
    assert opts["--accept"].strings == ("--accept", "--reject")
    assert all(o.subcommand is None for o in flags.options)  # a lone command runs without its name


def test_typer_several_commands_are_subcommands():
    flags = sniff("""
        import typer
        app = typer.Typer()
        @app.callback()
        def main(seed: int = 0):
            pass
        @app.command()
        def train(num_epochs: int = 1):
            pass
        @app.command("predict")
        def predict_cmd(model_dir: str = "m"):
            pass
    """)
    got = {(o.primary, o.subcommand) for o in flags.options}
    assert got == {("--seed", None), ("--num-epochs", "train"), ("--model-dir", "predict")}


def test_click_option_outside_a_decorator_is_unknown():
    flags = sniff("""
        import click
        common = [click.option("--seed"), click.option("--epochs")]
        @click.command()
        @click.option("--lr")
        def main(lr, seed, epochs):
            pass
    """)
    assert not flags.known and "--lr" in strings(flags)


def test_typer_context_and_plain_defaults():
    flags = sniff("""
        import typer
        def main(ctx: typer.Context, verbose: int = typer.Option(0, "-v", count=True), name="x"):
            pass
        typer.run(main)
    """)
    assert {o.strings for o in flags.options} == {("-v",), ("--name",)}


def test_click_and_argparse_together_is_mixed():
    flags = sniff("""
        import argparse, click
        @click.command()
        @click.option("--a")
        def one(a):
            pass
        p = argparse.ArgumentParser()
        p.add_argument("--b")
    """)
    assert flags.cli == "mixed" and strings(flags) == {"--a", "--b"}


# --- HfArgumentParser --------------------------------------------------------------------------


def test_hf_dataclasses_from_this_file():
    flags = sniff("""
        from dataclasses import dataclass, field
        from typing import ClassVar, Optional
        from transformers import HfArgumentParser
        @dataclass
        class Base:
            seed: int = 1
        @dataclass
        class Args(Base):
            num_train_epochs: int = 3
            output_dir: str = field(default="o", metadata={"aliases": ["-o"]})
            do_train: bool = True
            verbose: Optional[bool] = False
            registry: ClassVar[dict] = {}
            cache: dict = field(default_factory=dict, init=False)
        parser = HfArgumentParser(Args)
        (args,) = parser.parse_args_into_dataclasses()
    """)
    opts = by_primary(flags)
    assert flags.cli == "hf_dataclass" and flags.known
    assert set(opts) == {"--seed", "--num_train_epochs", "--output_dir", "--do_train", "--no_do_train", "--verbose"}
    assert opts["--num_train_epochs"].strings == ("--num_train_epochs", "--num-train-epochs")
    assert opts["--output_dir"].strings == ("--output_dir", "--output-dir", "-o")
    assert not opts["--do_train"].takes_value and not opts["--verbose"].takes_value


def test_hf_arg_aliases_and_dataclass_types_keyword():
    flags = sniff("""
        import dataclasses
        import transformers
        from transformers.hf_argparser import HfArg
        @dataclasses.dataclass
        class Args:
            epochs: int = HfArg(default=3, aliases="-e")
        parser = transformers.HfArgumentParser(dataclass_types=[Args])
        parser.add_argument("--extra")
    """)
    assert {o.strings for o in flags.options} == {("--epochs", "-e"), ("--extra",)}


def test_hf_imported_training_arguments_use_builtin_fields():
    flags = sniff("""
        from dataclasses import dataclass
        from transformers import HfArgumentParser, TrainingArguments
        @dataclass
        class ModelArguments:
            model_name_or_path: str = "bert"
        parser = HfArgumentParser((ModelArguments, TrainingArguments))
    """)
    assert flags.known
    assert {"--model_name_or_path", "--num_train_epochs", "--output_dir", "--per_device_train_batch_size",
            "--seed"} <= strings(flags)
    assert any("TrainingArguments is imported" in p for p in flags.problems)


def test_hf_other_imported_dataclass_is_unknown():
    flags = sniff("""
        from transformers import HfArgumentParser
        from .args import ScriptArguments
        parser = HfArgumentParser(ScriptArguments)
    """)
    assert not flags.known


# --- none versus unknown -----------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "EPOCHS = 3\nprint('train for', EPOCHS)\n",
    "import argparse\nimport yaml\nargs = argparse.Namespace(**yaml.safe_load(open('c.yaml')))\n",
    "import os\nepochs = int(os.environ.get('EPOCHS', 3))\n",
    "import subprocess, sys\nsubprocess.run([sys.executable, 'train.py', '--epochs', '3'])\n",
    "import unittest\nif __name__ == '__main__':\n    unittest.main()\n",
])
def test_no_cli_is_none(source):
    flags = sniff_source(source)
    assert flags.cli == "none" and flags.known and flags.options == []


@pytest.mark.parametrize("source, reason", [
    ("import sys\nepochs = int(sys.argv[1])\n", "sys.argv"),
    ("from sys import argv\nprint(argv)\n", "sys.argv"),
    ("import getopt, sys\nopts, _ = getopt.getopt(sys.argv[1:], 'e:', ['epochs='])\n", "getopt"),
    ("import fire\ndef train(epochs=3):\n    pass\nfire.Fire(train)\n", "fire"),
    ("from absl import flags\nflags.DEFINE_integer('epochs', 3, 'n')\n", "absl"),
    ("from docopt import docopt\nargs = docopt(__doc__)\n", "docopt"),
    ("from lightning.pytorch.cli import LightningCLI\nLightningCLI()\n", "LightningCLI"),
    ("from common import get_parser\nargs = get_parser().parse_args()\n", "get_parser"),
    ("from pkg.train import main\nif __name__ == '__main__':\n    main()\n", "delegates to main()"),
    ("import argparse\nfrom pl import Trainer\np = argparse.ArgumentParser()\nTrainer.add_argparse_args(p)\n",
     "parser passed to Trainer.add_argparse_args"),
])
def test_invisible_cli_is_unknown(source, reason):
    flags = sniff_source(source)
    assert flags.cli == "unknown" and not flags.known
    assert any(reason in p for p in flags.problems), flags.problems


def test_argparse_parser_with_sys_argv_is_still_known():
    flags = sniff("""
        import argparse, sys
        p = argparse.ArgumentParser()
        p.add_argument("--epochs")
        args = p.parse_args(sys.argv[1:])
    """)
    assert flags.cli == "argparse" and flags.problems == []


# --- mentions never count ----------------------------------------------------------------------


def test_mentions_in_prose_do_not_count():
    flags = sniff('''
        """Usage: train.py --epochs N --folds K --output-dir DIR"""
        import argparse
        # parser.add_argument("--seed")
        parser = argparse.ArgumentParser(description="use --batch-size elsewhere")
        parser.add_argument("--lr", help="not --epochs; see --data-path")
        print("--config is gone")
        log = "--epochs %d" % 3
        CMD = ["python", "other.py", "--epochs", "3"]
    ''')
    assert strings(flags) == {"--lr"}
    assert roles_for(flags) == {role: None for role in ROLES}


# --- robustness --------------------------------------------------------------------------------


def test_sniff_file_never_raises(tmp_path):
    missing = sniff_file(tmp_path / "missing.py")
    (tmp_path / "bad.py").write_text("def broken(:\n")
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "dir.py").mkdir()
    for path in ("bad.py", "latin.py", "nul.py", "dir.py"):
        flags = sniff_file(tmp_path / path)
        assert flags.cli == "unknown" and len(flags.problems) == 1, path
    assert missing.cli == "unknown" and "cannot read" in missing.problems[0]


def test_coding_cookie_is_honoured(tmp_path):
    script = tmp_path / "latin1.py"
    script.write_bytes(b"# -*- coding: latin-1 -*-\nimport argparse\n'\xe9'\n"
                       b"argparse.ArgumentParser().add_argument('--epochs')\n")
    assert strings(sniff_file(script)) == {"--epochs"}


def test_script_is_never_imported_or_run(tmp_path):
    marker = tmp_path / "ran"
    script = tmp_path / "evil.py"
    script.write_text(f"import argparse, pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n"
                      "import module_that_does_not_exist\nraise SystemExit(3)\n")
    flags = sniff_file(script)
    assert not marker.exists() and "module_that_does_not_exist" not in sys.modules
    assert flags.cli == "none"


def test_recursion_and_deep_nesting_terminate():
    flags = sniff("""
        import argparse
        def add(p, n):
            p.add_argument("--x")
            return add(p, n)
        add(argparse.ArgumentParser(), 1)
    """)
    assert strings(flags) == {"--x"}
    long_chain = sniff_source("y = " + " + ".join(["'a'"] * 900) + "\nx = " + "(" * 150 + "1" + ")" * 150 + "\n")
    assert long_chain.cli == "none"
    for extreme in ("y = " + " + ".join(["'a'"] * 5000), "y = a" + ".b" * 5000, "x = " + "(" * 300 + ")" * 300):
        result = sniff_source(extreme + "\n")  # parser or analyser limits: never an exception
        assert result.cli in ("none", "unknown") and (result.known or result.problems)


def test_round_trip_and_primary():
    flags = sniff("import argparse\np = argparse.ArgumentParser()\np.add_argument('-e', '--epochs')\n")
    assert ScriptFlags.from_dict(json.loads(json.dumps(flags.to_dict()))) == flags
    assert flags.to_dict()["known"] is True
    assert Option(("-e", "--epochs")).primary == "--epochs"
    assert Option(("-e",)).primary == "-e"


# --- labelled corpus ---------------------------------------------------------------------------


def test_corpus_is_complete():
    scripts = {p.name for p in CORPUS.glob("*.py")}
    assert scripts == set(LABELS) and len(scripts) >= 30


@pytest.mark.parametrize("name", sorted(LABELS))
def test_corpus_label(name):
    label = LABELS[name]
    flags = sniff_file(CORPUS / name)
    assert flags.known == label["known"], flags.problems
    roles = roles_for(flags)
    if label["known"]:
        assert sorted(flags.option_strings) == sorted(label["options"])
        assert roles == label["roles"]
    else:
        assert roles == {role: None for role in ROLES}
        assert flags.problems
