import argparse


def add_model_args(group):
    group.add_argument("--hidden-size", type=int, default=256)
    group.add_argument("--dropout", type=float, default=0.1)


def add_training_args(group):
    group.add_argument("--nepochs", type=int, default=15)
    group.add_argument("--bs", type=int, default=16)
    group.add_argument("--rng-seed", type=int, default=3)


def add_io_args(group):
    group.add_argument("--train-data", required=True)
    group.add_argument("--results-dir", default="results")


def main():
    parser = argparse.ArgumentParser()
    add_model_args(parser.add_argument_group("model"))
    add_training_args(parser.add_argument_group("training"))
    add_io_args(parser.add_argument_group("io"))
    args = parser.parse_args()
    print(args)


if __name__ == "__main__":
    main()
