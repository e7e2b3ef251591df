"""typer: options from signatures; an app counts only where the script calls it."""

from __future__ import annotations

from flagtools import by_primary, sniff


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
        app()
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
        app()
    """)
    got = {(o.primary, o.subcommand) for o in flags.options}
    assert got == {("--seed", None), ("--num-epochs", "train"), ("--model-dir", "predict")}


def test_typer_context_and_plain_defaults():
    flags = sniff("""
        import typer
        def main(ctx: typer.Context, verbose: int = typer.Option(0, "-v", count=True), name="x"):
            pass
        typer.run(main)
    """)
    assert {o.strings for o in flags.options} == {("-v",), ("--name",)}

def test_a_typer_app_the_script_never_calls_parses_nothing():
    flags = sniff("""
        import typer
        app = typer.Typer()
        @app.command()
        def train(batch_size: int = 16, max_epochs: int = 10):
            pass
        if __name__ == "__main__":
            train()
    """)
    assert flags.cli == "none" and flags.options == []


def test_sub_apps_added_with_add_typer():
    flags = sniff("""
        import typer
        app = typer.Typer()
        train = typer.Typer()
        app.add_typer(train, name="train")
        @train.callback()
        def common(log_dir: str = typer.Option("logs", help="The location to save the logs"), seed: int = 0):
            pass
        @train.command()
        def ppo(batch_size: int = 64):
            pass
        app()
    """)
    got = {(o.primary, o.subcommand) for o in flags.options}
    assert got == {("--log-dir", "train"), ("--seed", "train"), ("--batch-size", "train ppo")}
