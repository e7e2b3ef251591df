"""Chest X-ray classifier training (DenseNet-121)."""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train_cxr")
    parser.add_argument("--data-dir", default="data/cxr")
    parser.add_argument("--output-dir", default="outputs/cxr")
    parser.add_argument("--max-epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--config", help="optional YAML overriding the defaults")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(args.max_epochs, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
