"""The opt-in `--help` probe: real subprocesses on small scripts of our own."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from runall.plan.flags.cache import FlagCache
from runall.plan.flags.model import JOINED
from runall.plan.flags.probe import parse_help, probe_help

DYNAMIC_ARGPARSE = '''
import argparse, json, os, pathlib
names = json.loads((pathlib.Path(__file__).parent / "names.json").read_text())
p = argparse.ArgumentParser()
for name in names:
    p.add_argument(name, type=int, help=f"the {name[2:]}")
p.add_argument("--amp", action="store_true", help="mixed precision")
if os.environ.get("CUDA_VISIBLE_DEVICES") == "":
    p.add_argument("--saw-no-gpu")
if os.getcwd() != str(pathlib.Path(__file__).parent):
    p.add_argument("--ran-elsewhere")
p.parse_args()
'''


def script(tmp_path: Path, text: str, name: str = "train.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_argparse_help_of_a_real_run(tmp_path):
    (tmp_path / "names.json").write_text('["--epochs", "--output-dir"]')
    path = script(tmp_path, DYNAMIC_ARGPARSE)
    static = FlagCache(None, tmp_path).sniff(path)
    assert static.cli == "unknown"
    flags = probe_help(path, sys.executable, static)
    assert flags.source == "help" and flags.cli == "argparse" and flags.known
    opts = {o.primary: o for o in flags.options}
    assert set(opts) == {"--epochs", "--output-dir", "--amp", "--saw-no-gpu", "--ran-elsewhere"}
    assert opts["--epochs"].takes_value and not opts["--amp"].takes_value
    assert opts["--epochs"].help == "the epochs"


def test_click_help_of_a_real_run(tmp_path):
    path = script(tmp_path, '''
        import click
        common = [click.option("--seed", type=int), click.option("--num-epochs", "-n", type=int)]
        def with_common(f):
            for option in common:
                f = option(f)
            return f
        @click.command()
        @with_common
        @click.option("--debug/--no-debug", default=False)
        def main(seed, num_epochs, debug):
            pass
        main()
    ''')
    flags = probe_help(path, sys.executable, FlagCache(None, tmp_path).sniff(path))
    assert flags.cli == "click"
    opts = {o.primary: o for o in flags.options}
    assert set(opts) == {"--seed", "--num-epochs", "--debug"}
    assert set(opts["--num-epochs"].strings) == {"--num-epochs", "-n"} and not opts["--debug"].takes_value


def test_absl_and_typer_help_layouts(tmp_path):
    absl = script(tmp_path, '''
        import sys
        if "--help" in sys.argv:
            print("       USAGE: train.py [flags]\\nflags:\\n\\ntrain.py:\\n  --batch_size: Batch size.\\n"
                  "    (default: '32')\\n    (an integer)\\n  --[no]debug: Debug mode.\\n    (default: 'false')")
    ''', "absl_style.py")
    flags = probe_help(absl, sys.executable, FlagCache(None, tmp_path).sniff(absl))
    assert flags.cli == "absl" and {o.strings for o in flags.options} == {("--batch_size",), ("--debug", "--nodebug")}
    assert all(o.syntax == JOINED for o in flags.options)
    boxed = parse_help(textwrap.dedent("""
         Usage: train.py [OPTIONS]
        ╭─ Options ──────────────────────────────────────────────╮
        │ --epochs                  INTEGER  [default: 3]        │
        │ --output-dir              TEXT     where to save       │
        │ --help                             Show this message.  │
        ╰────────────────────────────────────────────────────────╯
    """))
    assert boxed is not None and boxed[0] == "typer"
    assert [(o.primary, o.takes_value) for o in boxed[1]] == [("--epochs", True), ("--output-dir", True)]


def test_a_script_that_hangs_is_killed_after_the_timeout(tmp_path):
    path = script(tmp_path, "import time, sys\nsys.argv\ntime.sleep(60)\n")
    static = FlagCache(None, tmp_path).sniff(path)
    flags = probe_help(path, sys.executable, static, timeout=1)
    assert flags.cli == "unknown" and any("no answer within 1 s" in p for p in flags.problems)


def test_output_that_is_not_help_keeps_the_script_unknown(tmp_path):
    path = script(tmp_path, "import sys\nprint('training', sys.argv)\n")
    flags = probe_help(path, sys.executable, FlagCache(None, tmp_path).sniff(path))
    assert flags.cli == "unknown" and any("printed no help" in p for p in flags.problems)


def test_probe_results_are_cached_by_content(tmp_path, monkeypatch):
    (tmp_path / "names.json").write_text('["--epochs"]')
    path = script(tmp_path, DYNAMIC_ARGPARSE)
    store = tmp_path / "flags.json"
    cache = FlagCache(store, tmp_path)
    first = cache.cached(path, "help:py", lambda: probe_help(path, sys.executable, cache.sniff(path)))
    cache.save()
    warm = FlagCache(store, tmp_path)
    again = warm.cached(path, "help:py", lambda: pytest.fail("ran the script again"))
    assert again == first and again.source == "help"
