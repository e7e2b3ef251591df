from typing import Annotated

import typer

app = typer.Typer(add_completion=False)


@app.command()
def train(
    epochs: Annotated[int, typer.Option("--epochs", "-e", help="number of epochs")] = 10,
    n_splits: int = typer.Option(5, help="cross-validation folds"),
    model_dir: str = typer.Option("models", "--model-dir"),
    config: Annotated[str, typer.Argument(help="experiment config")] = "default.yaml",
):
    typer.echo(f"{epochs} {n_splits} {model_dir} {config}")


if __name__ == "__main__":
    app()
