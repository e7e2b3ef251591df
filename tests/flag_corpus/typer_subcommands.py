import typer

app = typer.Typer()


@app.callback()
def main(seed: int = typer.Option(0, "--seed", help="global random seed")):
    """Shared options go on the callback."""


@app.command()
def train(num_epochs: int = 10, output_dir: str = "outputs", dry_run: bool = False):
    typer.echo(f"train {num_epochs} {output_dir} {dry_run}")


@app.command("predict")
def predict_cmd(model_dir: str = typer.Option(..., "--model-dir", "-m")):
    typer.echo(model_dir)


if __name__ == "__main__":
    app()
