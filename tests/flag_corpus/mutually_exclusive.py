import argparse

parser = argparse.ArgumentParser()
split = parser.add_mutually_exclusive_group(required=True)
split.add_argument("--n-folds", type=int, help="k-fold cross-validation")
split.add_argument("--holdout", type=float, help="single train/validation split")
save = parser.add_argument_group("saving").add_mutually_exclusive_group()
save.add_argument("--output_dir")
save.add_argument("--no-save", action="store_true")
parser.add_argument("--batch_size", type=int, default=8)
parser.add_argument("--data_path")
args = parser.parse_args()
