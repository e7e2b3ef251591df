import click


@click.command("fit")
@click.option("--num-epochs", "-n", type=int, default=3)
@click.option("--out-dir", default="out")
def fit(num_epochs, out_dir):
    click.echo("fit")


@click.group()
@click.version_option("1.0")
def cli():
    pass


cli.add_command(fit)

if __name__ == "__main__":
    cli()
