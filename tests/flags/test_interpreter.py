"""The generic interpreter: values, strings, loops, none versus unknown, robustness."""

from __future__ import annotations

import json
import sys

import pytest

from flagtools import sniff, strings
from runall.plan.flags.analyse import sniff_file, sniff_source
from runall.plan.flags.model import Option, ScriptFlags
from runall.plan.flags.roles import ROLES, roles_for


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
    ("import fire\nfire.Fire(make_trainer())\n", "fire component"),
    ("from absl import flags\nflags.DEFINE_integer(NAME, 3, 'n')\n", "absl flag name is not a literal"),
    ("from docopt import docopt\nargs = docopt(USAGE)\n", "docopt"),
    ("import hydra\n@hydra.main(config_path='conf', config_name='missing')\ndef main(cfg):\n    pass\n", "not found"),
    ("from common import get_parser\nargs = get_parser().parse_args()\n", "get_parser"),
    ("from pkg.train import main\nif __name__ == '__main__':\n    main()\n", "calls main() from pkg.train"),
    ("import tyro\nargs = tyro.cli(Args)\n", "tyro target cannot be read"),
    ("import argparse\nfrom pl import Trainer\np = argparse.ArgumentParser()\nTrainer.add_argparse_args(p)\n",
     "parser passed to Trainer.add_argparse_args"),
])
def test_invisible_cli_is_unknown(source, reason):
    flags = sniff_source(source)
    assert flags.cli == "unknown" and not flags.known
    assert any(reason in p for p in flags.problems), flags.problems


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

def test_the_interpreter_knows_no_framework():
    import runall.plan.flags.interpreter as interpreter

    text = open(interpreter.__file__, encoding="utf-8").read()
    for name in ("argparse", "click", "typer", "hydra", "absl", "add_argument", "HfArgumentParser", "LightningCLI"):
        assert name not in text, name


def test_frameworks_are_loaded_only_when_a_script_uses_them():
    code = ("import sys; from runall.plan.flags.analyse import sniff_source; "
            "sniff_source('import argparse\\np = argparse.ArgumentParser()\\n'); "
            "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('runall.plan.flags.frameworks.')))")
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['argparse']"
