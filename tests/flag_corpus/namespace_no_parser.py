"""Config-driven run. Run as `python namespace_no_parser.py`; there is no --epochs or --output-dir."""
import argparse

import yaml

with open("config.yaml") as fh:
    cfg = yaml.safe_load(fh)
args = argparse.Namespace(**cfg)
print("tip: edit config.yaml instead of passing --epochs")
print(args)
