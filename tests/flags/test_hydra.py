"""Hydra: overrides from the composed YAML tree or a structured config, and hydra.run.dir."""

from __future__ import annotations

from flagtools import in_repo, strings
from runall.plan.flags.model import OVERRIDE
from runall.plan.flags.roles import roles_for

SCRIPT = """
    import hydra
    @hydra.main(version_base="1.3", config_path="../configs", config_name="train.yaml")
    def main(cfg):
        import argparse
        argparse.ArgumentParser().add_argument("--never-the-cli")
    if __name__ == "__main__":
        main()
"""


def test_keys_of_the_composed_yaml_tree(tmp_path):
    flags = in_repo(tmp_path, {
        "configs/train.yaml": """
            # @package _global_
            defaults:
              - _self_
              - data: mnist
              - trainer: default
              - logger: null
              - optional local: default
              - hydra: default
            seed: null
            paths:
              data_dir: ${oc.env:ROOT}/data/
        """,
        "configs/data/mnist.yaml": "_target_: pkg.MNIST\nbatch_size: 128\ndata_dir: ${paths.data_dir}\n",
        "configs/trainer/default.yaml": "defaults:\n  - base\nmax_epochs: 10\n",
        "configs/trainer/base.yaml": "accelerator: cpu\n",
        "configs/hydra/default.yaml": "run:\n  dir: logs/${now:%H}\n",
        "src/train.py": SCRIPT}, "src/train.py")
    assert flags.cli == "hydra" and flags.known
    assert strings(flags) == {"seed", "paths.data_dir", "data.batch_size", "data.data_dir", "trainer.max_epochs",
                              "trainer.accelerator", "hydra.run.dir"}
    assert all(o.syntax == OVERRIDE for o in flags.options)
    roles = roles_for(flags)
    assert (roles["epochs"], roles["output_dir"], roles["batch_size"], roles["seed"]) == \
        ("trainer.max_epochs", "hydra.run.dir", "data.batch_size", "seed")
    assert roles["data_path"] == "data.data_dir"   # the data section's own data_dir


def test_structured_config_from_the_config_store(tmp_path):
    flags = in_repo(tmp_path, {"train.py": """
        import os
        from dataclasses import dataclass, field
        import hydra
        from hydra.core.config_store import ConfigStore
        @dataclass
        class Optim:
            max_epoch: int = 0
        @dataclass
        class Config:
            optimization: Optim = field(default_factory=Optim)
            seed: int = 1
        cs = ConfigStore.instance()
        cs.store(name="config", node=Config)
        @hydra.main(config_path=os.path.join("..", "conf"), config_name="config")
        def main(cfg):
            pass
        main()
    """}, "train.py")
    assert strings(flags) == {"optimization.max_epoch", "seed", "hydra.run.dir"}
    assert roles_for(flags)["epochs"] == "optimization.max_epoch"


def test_a_config_that_cannot_be_found_is_unknown(tmp_path):
    flags = in_repo(tmp_path, {"train.py": SCRIPT}, "train.py")
    assert flags.cli == "unknown" and any("not found" in p for p in flags.problems)
