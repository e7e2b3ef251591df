"""jsonargparse: CLI(function or class), nested dataclasses, and its ArgumentParser."""

from __future__ import annotations

from flagtools import by_primary, in_repo, sniff, strings


def test_cli_of_a_function_with_a_dataclass_parameter(tmp_path):
    flags = in_repo(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/args.py": """
            from dataclasses import dataclass
            @dataclass
            class TrainArgs:
                global_batch_size: int = 64
                \"\"\"Number of samples per optimizer step\"\"\"
                epochs: int = 1
        """,
        "pkg/utils.py": """
            def CLI(*args, **kwargs):
                from jsonargparse import CLI
                return CLI(*args, **kwargs)
        """,
        "pretrain.py": """
            from pathlib import Path
            from typing import Optional
            from pkg.args import TrainArgs
            from pkg.utils import CLI
            class DataModule:
                pass
            def setup(model_name: str, out_dir: Path = Path("out"), seed: int = 42,
                      train: TrainArgs = TrainArgs(), data: Optional[DataModule] = None):
                pass
            if __name__ == "__main__":
                CLI(setup)
        """}, "pretrain.py")
    opts = by_primary(flags)
    assert flags.cli == "jsonargparse"
    assert set(opts) == {"--config", "--print_config", "--out_dir", "--seed", "--train.global_batch_size",
                         "--train.epochs", "--data"}
    assert opts["--data"].type == "class" and opts["--train.global_batch_size"].help.startswith("Number of samples")


def test_argument_parser_with_class_arguments():
    flags = sniff('''
        from jsonargparse import ActionConfigFile, ArgumentParser
        class Model:
            def __init__(self, hidden: int = 3, lr: float = 0.1):
                pass
        parser = ArgumentParser()
        parser.add_argument("--config", action=ActionConfigFile)
        parser.add_class_arguments(Model, "model")
        cfg = parser.parse_args()
    ''')
    assert strings(flags) == {"--config", "--model.hidden", "--model.lr"}
