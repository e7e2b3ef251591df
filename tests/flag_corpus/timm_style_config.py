"""Two-stage parsing as in timm's train.py: a config parser first, then the main parser."""
import argparse

import yaml

config_parser = parser = argparse.ArgumentParser(description="Training Config", add_help=False)
parser.add_argument("-c", "--config", default="", type=str, metavar="FILE", help="YAML config file")

parser = argparse.ArgumentParser(description="ImageNet-style training")
group = parser.add_argument_group("Dataset parameters")
group.add_argument("data_dir", metavar="DIR", help="path to dataset (positional)")
group.add_argument("--epochs", type=int, default=300, metavar="N")
group.add_argument("-b", "--batch-size", type=int, default=128, metavar="N")
group.add_argument("--seed", type=int, default=42)
group.add_argument("--output", default="", type=str, metavar="PATH", help="path to output folder")


def _parse_args():
    args_config, remaining = config_parser.parse_known_args()
    if args_config.config:
        with open(args_config.config) as f:
            parser.set_defaults(**yaml.safe_load(f))
    return parser.parse_args(remaining)


if __name__ == "__main__":
    print(_parse_args())
