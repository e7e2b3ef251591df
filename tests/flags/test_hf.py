"""HfArgumentParser: dataclass fields from this file, other modules, the installed transformers
(read, never imported) or a built-in table."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from flagtools import by_primary, in_repo, sniff, strings
from runall.plan.flags import installed


@pytest.fixture
def fake_transformers(tmp_path, monkeypatch):
    """A package named `transformers` on sys.path, of our own, whose training_args.py defines a
    TrainingArguments dataclass: what find_spec finds for an installed transformers."""
    site = tmp_path / "site"
    package = site / "transformers"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('never imported by runall')\\n")
    (package / "training_args.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass, field
        @dataclass
        class TrainingArguments:
            output_dir: str = field(default=None, metadata={"help": "The output directory."})
            num_train_epochs: float = field(default=3.0, metadata={"help": "Total number of training epochs."})
            per_device_train_batch_size: int = 8
            """Batch size per device."""
            seed: int = 42
            only_in_this_version: bool = False
    '''))
    (package / "training_args_seq2seq.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass, field
        from .training_args import TrainingArguments
        @dataclass
        class Seq2SeqTrainingArguments(TrainingArguments):
            predict_with_generate: bool = False
    '''))
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    for cache in (installed.package_dir, installed.package_version, installed._parse, installed.locate_class):
        cache.cache_clear()
    yield package
    for cache in (installed.package_dir, installed.package_version, installed._parse, installed.locate_class):
        cache.cache_clear()


def test_hf_dataclasses_from_this_file():
    flags = sniff("""
        from dataclasses import dataclass, field
        from typing import ClassVar, Optional
        from transformers import HfArgumentParser
        @dataclass
        class Base:
            seed: int = 1
        @dataclass
        class Args(Base):
            num_train_epochs: int = 3
            output_dir: str = field(default="o", metadata={"aliases": ["-o"]})
            do_train: bool = True
            verbose: Optional[bool] = False
            registry: ClassVar[dict] = {}
            cache: dict = field(default_factory=dict, init=False)
        parser = HfArgumentParser(Args)
        (args,) = parser.parse_args_into_dataclasses()
    """)
    opts = by_primary(flags)
    assert flags.cli == "hf_dataclass" and flags.known
    assert set(opts) == {"--seed", "--num_train_epochs", "--output_dir", "--do_train", "--no_do_train", "--verbose"}
    assert opts["--num_train_epochs"].strings == ("--num_train_epochs", "--num-train-epochs")
    assert opts["--output_dir"].strings == ("--output_dir", "--output-dir", "-o")
    assert not opts["--do_train"].takes_value and not opts["--verbose"].takes_value


def test_hf_arg_aliases_and_dataclass_types_keyword():
    flags = sniff("""
        import dataclasses
        import transformers
        from transformers.hf_argparser import HfArg
        @dataclasses.dataclass
        class Args:
            epochs: int = HfArg(default=3, aliases="-e")
        parser = transformers.HfArgumentParser(dataclass_types=[Args])
        parser.add_argument("--extra")
    """)
    assert {o.strings for o in flags.options} == {("--epochs", "-e"), ("--extra",)}


def test_hf_imported_training_arguments_use_builtin_fields():
    flags = sniff("""
        from dataclasses import dataclass
        from transformers import HfArgumentParser, TrainingArguments
        @dataclass
        class ModelArguments:
            model_name_or_path: str = "bert"
        parser = HfArgumentParser((ModelArguments, TrainingArguments))
    """)
    assert flags.known
    assert {"--model_name_or_path", "--num_train_epochs", "--output_dir", "--per_device_train_batch_size",
            "--seed"} <= strings(flags)
    assert any("TrainingArguments" in n for n in flags.notes)


def test_hf_other_imported_dataclass_is_unknown():
    flags = sniff("""
        from transformers import HfArgumentParser
        from .args import ScriptArguments
        parser = HfArgumentParser(ScriptArguments)
    """)
    assert not flags.known

def test_training_arguments_read_from_the_installed_source(fake_transformers):
    flags = sniff("""
        from transformers import HfArgumentParser, Seq2SeqTrainingArguments
        parser = HfArgumentParser(Seq2SeqTrainingArguments)
        args, = parser.parse_args_into_dataclasses()
    """)
    assert "transformers" not in sys.modules
    assert {"--only_in_this_version", "--predict_with_generate", "--num_train_epochs"} <= strings(flags)
    assert by_primary(flags)["--per_device_train_batch_size"].help == "Batch size per device."
    assert any("fields read from the installed transformers" in n and str(fake_transformers) in n for n in flags.notes)
    assert str(fake_transformers / "training_args.py") in flags.files


def test_without_transformers_a_builtin_table_is_used_and_said(monkeypatch):
    monkeypatch.setattr(installed, "package_dir", lambda package: None)
    flags = sniff("""
        from transformers import HfArgumentParser, TrainingArguments
        parser = HfArgumentParser(TrainingArguments)
    """)
    assert {"--output_dir", "--num_train_epochs", "--per_device_train_batch_size", "--seed"} <= strings(flags)
    assert any("built-in table" in n for n in flags.notes)


def test_dataclasses_from_another_module_and_trl_parser_config(tmp_path, monkeypatch):
    monkeypatch.setattr(installed, "package_dir", lambda package: None)
    flags = in_repo(tmp_path, {
        "args.py": """
            from dataclasses import dataclass, field
            @dataclass
            class DataArguments:
                dataset_name: str = field(default=None, metadata={"help": "Path or name of the dataset to load."})
                train_file: str = None
        """,
        "train.py": """
            from trl import TrlParser, SFTConfig
            from args import DataArguments
            parser = TrlParser((DataArguments, SFTConfig))
            data_args, training_args = parser.parse_args_and_config()
        """}, "train.py")
    assert {"--dataset_name", "--train_file", "--num_train_epochs", "--config"} <= strings(flags)
    assert flags.known and flags.cli == "hf_dataclass"


def test_a_packages_dataclass_in_the_repositorys_own_copy(tmp_path):
    flags = in_repo(tmp_path, {
        "trl/__init__.py": "",
        "trl/trainer/sft_config.py": """
            from dataclasses import dataclass
            @dataclass
            class MySFTConfig:
                max_length: int = 1024
                packing: bool = False
        """,
        "scripts/sft.py": """
            from transformers import HfArgumentParser
            from trl import MySFTConfig
            parser = HfArgumentParser(MySFTConfig)
        """}, "scripts/sft.py")
    assert strings(flags) == {"--max_length", "--max-length", "--packing"}
