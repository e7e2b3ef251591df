import argparse

# TODO(ml-infra): add --epochs and --seed once the scheduler supports them.
# parser.add_argument("--epochs", type=int)   <- disabled, see issue 41

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--out-dir", default="out")
# parser.add_argument("--folds", type=int, default=5)
args = parser.parse_args()

print("training with lr", args.lr)
