import argparse
import os

import torch

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=int(os.environ.get("EPOCHS", 5)))
    parser.add_argument("--n-splits", type=int, default=5)
    parser.add_argument("--data", default="data/")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    args, unknown = parser.parse_known_args()
    torch.manual_seed(0)
    print(args, unknown)
