import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--epochs-per-eval", type=int, default=1)
parser.add_argument("--warmup-epochs", type=int, default=2)
parser.add_argument("--max_epochs", type=int, default=30)
parser.add_argument("--output-dir-suffix", default="")
parser.add_argument("--seed-offset", type=int, default=0)
parser.add_argument("--model_dir", default="models")
args = parser.parse_args()
print(args)
