"""argparse (and configargparse): parsers, groups, subparsers, parents, helpers, and parsers
built in other modules of the repository."""

from __future__ import annotations

import pytest

from flagtools import by_primary, in_repo, sniff, strings
from runall.plan.flags.model import Option


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
    assert opts["--epochs"] == Option(("-e", "--epochs"), "epochs", None, True, type="int")
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


def test_argparse_parser_with_sys_argv_is_still_known():
    flags = sniff("""
        import argparse, sys
        p = argparse.ArgumentParser()
        p.add_argument("--epochs")
        args = p.parse_args(sys.argv[1:])
    """)
    assert flags.cli == "argparse" and flags.problems == []

# --- options read across the repository's modules -----------------------------------------------


def test_parser_from_get_args_parser_in_another_file_through_parents(tmp_path):
    flags = in_repo(tmp_path, {
        "main.py": """
            import argparse
            def get_args_parser():
                parser = argparse.ArgumentParser("deit", add_help=False)
                parser.add_argument("--epochs", default=300, type=int)
                parser.add_argument("--output_dir", default="", help="path where to save, empty for no saving")
                return parser
            if __name__ == "__main__":
                raise SystemExit("not while imported")
        """,
        "run_with_submitit.py": """
            import argparse
            import main as trainer
            def parse_args():
                parser = argparse.ArgumentParser("submitit", parents=[trainer.get_args_parser()])
                parser.add_argument("--ngpus", default=8, type=int)
                return parser.parse_args()
            args = parse_args()
        """}, "run_with_submitit.py")
    assert flags.cli == "argparse" and flags.known
    assert strings(flags) == {"--epochs", "--output_dir", "--ngpus"}
    assert any(path.endswith("main.py") for path in flags.files)


def test_parser_used_directly_from_a_package_module(tmp_path):
    flags = in_repo(tmp_path, {
        "src/pkg/__init__.py": "",
        "src/pkg/options.py": """
            from argparse import ArgumentParser
            def get_parser():
                p = ArgumentParser()
                p.add_argument("--num-epochs", type=int)
                return p
        """,
        "tools/train.py": """
            from pkg.options import get_parser
            parser = get_parser()
            parser.add_argument("--seed", type=int)
            args = parser.parse_args()
        """}, "tools/train.py")
    assert strings(flags) == {"--num-epochs", "--seed"} and flags.known


def test_parse_args_imported_from_utils(tmp_path):
    flags = in_repo(tmp_path, {
        "utils.py": """
            import argparse
            def parse_args():
                parser = argparse.ArgumentParser()
                parser.add_argument("--niter", type=int, help="number of epochs to train for")
                parser.add_argument("--outf", default=".", help="folder to output images and model checkpoints")
                return parser.parse_args()
        """,
        "train.py": "from utils import parse_args\nargs = parse_args()\nprint(args.niter)\n"}, "train.py")
    assert strings(flags) == {"--niter", "--outf"} and flags.cli == "argparse"


def test_relative_imports_and_module_level_parsed_args(tmp_path):
    flags = in_repo(tmp_path, {
        "proj/__init__.py": "",
        "proj/config.py": """
            import argparse
            parser = argparse.ArgumentParser()
            parser.add_argument("--batch-size", type=int)
            args = parser.parse_args()
        """,
        "proj/train.py": "from .config import args\nprint(args.batch_size)\n"}, "proj/train.py")
    assert strings(flags) == {"--batch-size"}


def test_add_dict_to_argparser_with_defaults_from_another_module(tmp_path):
    flags = in_repo(tmp_path, {
        "lib/script_util.py": """
            def model_defaults():
                return dict(num_channels=128, learn_sigma=False)
            def add_dict_to_argparser(parser, default_dict):
                for k, v in default_dict.items():
                    v_type = type(v)
                    parser.add_argument(f"--{k}", default=v, type=v_type)
        """,
        "lib/__init__.py": "",
        "scripts/image_train.py": """
            import argparse
            from lib.script_util import add_dict_to_argparser, model_defaults
            def create_argparser():
                defaults = dict(data_dir="", batch_size=1, lr=1e-4)
                defaults.update(model_defaults())
                parser = argparse.ArgumentParser()
                add_dict_to_argparser(parser, defaults)
                return parser
            def main():
                args = create_argparser().parse_args()
            if __name__ == "__main__":
                main()
        """}, "scripts/image_train.py")
    opts = by_primary(flags)
    assert set(opts) == {"--data_dir", "--batch_size", "--lr", "--num_channels", "--learn_sigma"}
    assert opts["--batch_size"].default == 1 and flags.known


def test_an_option_class_in_another_module_with_super_init(tmp_path):
    flags = in_repo(tmp_path, {
        "options/__init__.py": "",
        "options/base_options.py": """
            import argparse
            class BaseOptions:
                def __init__(self):
                    self._parser = argparse.ArgumentParser()
                def initialize(self):
                    self._parser.add_argument("--checkpoints_dir", default="./checkpoints", help="models are saved here")
                def parse(self):
                    self.initialize()
                    return self._parser.parse_args()
        """,
        "options/train_options.py": """
            from .base_options import BaseOptions
            class TrainOptions(BaseOptions):
                def __init__(self):
                    super().__init__()
                def initialize(self):
                    BaseOptions.initialize(self)
                    self._parser.add_argument("--nepochs", type=int, default=10)
        """,
        "train.py": "from options.train_options import TrainOptions\nopt = TrainOptions().parse()\n"}, "train.py")
    assert strings(flags) == {"--checkpoints_dir", "--nepochs"} and flags.known


def test_a_helper_module_building_a_parser_nobody_uses_adds_nothing(tmp_path):
    flags = in_repo(tmp_path, {
        "helpers.py": """
            import argparse
            eval_parser = argparse.ArgumentParser()
            eval_parser.add_argument("--checkpoint")
            def scale(x):
                return 2 * x
        """,
        "train.py": "import argparse\nfrom helpers import scale\np = argparse.ArgumentParser()\n"
                    "p.add_argument('--epochs')\nargs = p.parse_args()\nprint(scale(2))\n"}, "train.py")
    assert strings(flags) == {"--epochs"}


def test_a_parser_made_and_parsed_with_explicit_arguments_inside_a_library_is_not_the_scripts(tmp_path):
    flags = in_repo(tmp_path, {
        "lib.py": """
            import argparse
            def defaults():
                parser = argparse.ArgumentParser()
                parser.add_argument("--hidden", default=3)
                return vars(parser.parse_args([]))
        """,
        "train.py": "import argparse\nfrom lib import defaults\np = argparse.ArgumentParser()\n"
                    "p.add_argument('--epochs')\nargs = p.parse_args()\nprint(defaults())\n"}, "train.py")
    assert strings(flags) == {"--epochs"}


@pytest.mark.parametrize("helper, why", [
    ("", "calls parse_args() from myargs, defined outside this repository"),
    ("def parse_args(:\n", "cannot be read"),
])
def test_a_call_into_code_that_cannot_be_read_is_unknown_not_none(tmp_path, helper, why):
    files = {"train.py": "from myargs import parse_args\nargs = parse_args()\nprint(args.epochs)\n"}
    if helper:
        files["myargs.py"] = helper
    flags = in_repo(tmp_path, files, "train.py")
    assert flags.cli == "unknown" and any(why in p for p in flags.problems), flags.problems


def test_an_option_replaced_before_use_is_not_offered(tmp_path):
    flags = in_repo(tmp_path, {"train.py": """
        import argparse
        p = argparse.ArgumentParser()
        p.add_argument("--output_dir", default="out")
        p.add_argument("--job_dir", default="")
        p.add_argument("--log_dir", default="logs")
        args = p.parse_args()
        args.output_dir = args.job_dir
        args.log_dir = args.log_dir + "/x"
        if not args.job_dir:
            args.job_dir = "jobs"
    """}, "train.py")
    assert strings(flags) == {"--job_dir", "--log_dir"}
    assert any("--output_dir is replaced here before use" in p for p in flags.problems)


def test_bound_add_argument_alias():
    flags = sniff("""
        import argparse
        parser = argparse.ArgumentParser()
        arg = parser.add_argument
        arg("--config", help="path to configuration file")
        arg("--fold", type=int, choices=[0, 1, 2])
    """)
    assert strings(flags) == {"--config", "--fold"}
    assert by_primary(flags)["--fold"].type == "choice"


def test_help_default_and_type_are_recorded():
    opts = by_primary(sniff("""
        import argparse
        from pathlib import Path
        p = argparse.ArgumentParser()
        p.add_argument("--niter", type=int, default=25, help="number of epochs to train for")
        p.add_argument("--outf", type=Path, help="folder to output images")
    """))
    assert (opts["--niter"].help, opts["--niter"].default, opts["--niter"].type) == \
        ("number of epochs to train for", 25, "int")
    assert opts["--outf"].type == "path"
