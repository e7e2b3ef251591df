import argparse

HYPERPARAMS = {"--lr": 3e-4, "--weight-decay": 0.01, "--dropout": 0.1}


def main():
    parser = argparse.ArgumentParser()
    for flag, default in HYPERPARAMS.items():
        parser.add_argument(flag, type=float, default=default)
    for name, kind in (("--epochs", int), ("--batch-size", int), ("--data-path", str)):
        parser.add_argument(name, type=kind)
    parser.add_argument("--output-dir", default="results")
    args = parser.parse_args()
    print(vars(args))


if __name__ == "__main__":
    main()
