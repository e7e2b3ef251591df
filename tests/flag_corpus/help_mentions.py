import argparse


def main():
    parser = argparse.ArgumentParser(
        description="Train the ECG model. Unlike train_v1.py, this script has no --epochs flag.",
        epilog="See also --folds in cross_validate.py.",
    )
    parser.add_argument("--n_epochs", type=int, default=20, help="number of epochs (formerly --epochs)")
    parser.add_argument("--checkpoint-dir", default="checkpoints", help="like --output-dir elsewhere")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    print("pass --folds to cross_validate.py instead")
    print(args)


if __name__ == "__main__":
    main()
