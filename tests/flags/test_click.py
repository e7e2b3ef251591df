"""click: commands, groups and options from decorators."""

from __future__ import annotations

from flagtools import by_primary, sniff, strings


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

def test_click_choice_is_recorded():
    flags = sniff("""
        import click
        @click.command()
        @click.option("--cfg", type=click.Choice(["a", "b"]), default="a", help="Base configuration")
        def main(cfg):
            pass
        main()
    """)
    assert by_primary(flags)["--cfg"].type == "choice"
