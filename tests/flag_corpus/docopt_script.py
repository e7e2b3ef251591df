"""Train the fundus model.

Usage:
  docopt_script.py [--epochs=<n>] [--output-dir=<dir>] [--seed=<s>]

Options:
  --epochs=<n>        Number of epochs [default: 10].
  --output-dir=<dir>  Output directory [default: out].
  --seed=<s>          Random seed [default: 0].
"""
from docopt import docopt

if __name__ == "__main__":
    arguments = docopt(__doc__)
    print(arguments)
