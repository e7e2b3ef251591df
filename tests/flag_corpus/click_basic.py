import click


@click.command()
@click.argument("data_path", type=click.Path(exists=True))
@click.option("--epochs", "-e", default=10, show_default=True, help="Training epochs.")
@click.option("--kfold", default=5, help="Number of CV folds.")
@click.option("--output-dir", type=click.Path(), default="outputs")
@click.option("--amp/--no-amp", default=False)
def train(data_path, epochs, kfold, output_dir, amp):
    """Train on DATA_PATH (a CSV). Unlike the old script, --data-path is positional now."""
    click.echo(f"{data_path} {epochs} {kfold} {output_dir} {amp}")


if __name__ == "__main__":
    train()
