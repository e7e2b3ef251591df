from pathlib import Path

import typer


def main(
    data_path: Path,
    num_epochs: int = 10,
    output_dir: Path = Path("outputs"),
    seed: int = 0,
    early_stopping: bool = True,
):
    """Train the survival model. data_path is a positional argument."""
    typer.echo(f"{data_path} {num_epochs} {output_dir} {seed} {early_stopping}")


if __name__ == "__main__":
    typer.run(main)
