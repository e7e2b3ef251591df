"""PyTorch Lightning 1.x style script with its own argparse options."""
from argparse import ArgumentParser

import pytorch_lightning as pl


def cli_main():
    parser = ArgumentParser()
    parser.add_argument("--data_dir", type=str, default="./data")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--max_epochs", type=int, default=20)
    parser.add_argument("--default_root_dir", type=str, default="lightning_logs")
    parser.add_argument("--gpus", type=int, default=0)
    args = parser.parse_args()
    trainer = pl.Trainer(max_epochs=args.max_epochs, default_root_dir=args.default_root_dir)
    print(trainer)


if __name__ == "__main__":
    cli_main()
