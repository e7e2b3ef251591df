"""Train the retinopathy baseline.

Usage (old CLI, removed in v2):

    python train_baseline.py --epochs 30 --output-dir runs/baseline --folds 5

Everything is now read from configs/baseline.yaml.
"""

import yaml

CONFIG = "configs/baseline.yaml"


def main():
    with open(CONFIG) as handle:
        cfg = yaml.safe_load(handle)
    for epoch in range(cfg["epochs"]):
        print(f"epoch {epoch}")


if __name__ == "__main__":
    main()
