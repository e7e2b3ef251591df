#!/usr/bin/env python
# Fine-tune a small text classifier. Options follow the HuggingFace naming style.
import argparse
import logging

logger = logging.getLogger(__name__)


def get_args():
    p = argparse.ArgumentParser()
    p.add_argument("--model_name_or_path", default="distilbert-base-uncased")
    p.add_argument("--train_file", required=True)
    p.add_argument("--output_dir", required=True)
    p.add_argument("--num_train_epochs", type=float, default=3.0)
    p.add_argument("--per_device_train_batch_size", type=int, default=16)
    p.add_argument("--learning_rate", type=float, default=5e-5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--fp16", action="store_true")
    return p.parse_args()


def main():
    args = get_args()
    logger.info("training for %s epochs", args.num_train_epochs)


if __name__ == "__main__":
    main()
