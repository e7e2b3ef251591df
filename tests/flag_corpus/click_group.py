import click


@click.group()
@click.option("--seed", type=int, default=0)
@click.pass_context
def cli(ctx, seed):
    ctx.obj = {"seed": seed}


@cli.command()
@click.option("--epochs", type=int, default=5)
@click.option("--batch-size", "batch_size", type=int, default=32)
@click.option("--data", type=click.Path(), required=True)
def train(epochs, batch_size, data):
    click.echo("train")


@cli.command(name="eval")
@click.option("--checkpoint-dir", default="ckpt")
def evaluate(checkpoint_dir):
    click.echo("eval")


if __name__ == "__main__":
    cli()
