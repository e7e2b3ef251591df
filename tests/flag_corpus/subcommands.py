"""Single entry point with train / evaluate subcommands."""
import argparse


def add_data_args(parser):
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--batch-size", type=int, default=64)


def build():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="runs")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="fit a model")
    add_data_args(train)
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--folds", type=int, default=5)

    evaluate = sub.add_parser("evaluate", help="score a checkpoint")
    add_data_args(evaluate)
    evaluate.add_argument("--checkpoint", required=True)
    return parser


if __name__ == "__main__":
    args = build().parse_args()
    print(args.command)
