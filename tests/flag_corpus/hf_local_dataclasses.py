"""Fine-tuning with HfArgumentParser and dataclasses defined in this file."""
from dataclasses import dataclass, field
from typing import Optional

from transformers import HfArgumentParser


@dataclass
class ModelArguments:
    model_name_or_path: str = field(metadata={"help": "Pretrained model, e.g. --model_name_or_path bert-base"})
    cache_dir: Optional[str] = None


@dataclass
class DataArguments:
    train_file: str = field(default="data/train.csv", metadata={"aliases": ["--data"]})
    max_seq_length: int = 128


@dataclass
class RunArguments:
    output_dir: str = "outputs"
    num_train_epochs: int = 3
    seed: int = 42
    do_train: bool = True


def main():
    parser = HfArgumentParser((ModelArguments, DataArguments, RunArguments))
    model_args, data_args, run_args = parser.parse_args_into_dataclasses()
    print(model_args, data_args, run_args)


if __name__ == "__main__":
    main()
