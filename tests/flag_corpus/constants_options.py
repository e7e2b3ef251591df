"""Option spellings live in constants so the launcher and the script agree."""
import argparse

EPOCHS_FLAG = "--max-epochs"
OUTPUT_FLAGS = ("-o", "--out-dir")
SEED_FLAGS = ["--random-seed"]
DATA = "--dataset-path"


def parse():
    parser = argparse.ArgumentParser()
    parser.add_argument(EPOCHS_FLAG, type=int, default=10)
    parser.add_argument(*OUTPUT_FLAGS, default="out")
    parser.add_argument(*SEED_FLAGS, type=int, default=7)
    parser.add_argument(DATA, required=True)
    return parser.parse_args()


if __name__ == "__main__":
    print(parse())
