"""tyro: dataclass fields as --hyphenated-options."""

from __future__ import annotations

from flagtools import by_primary, sniff
from runall.plan.flags.roles import roles_for


def test_dataclass_fields_nested_and_booleans():
    flags = sniff('''
        from dataclasses import dataclass
        import tyro
        @dataclass
        class Optim:
            learning_rate: float = 3e-4
        @dataclass
        class Args:
            seed: int = 1
            """seed of the experiment"""
            cuda: bool = True
            num_envs: int = 4
            batch_size: int = 0
            """the batch size (computed in runtime)"""
            optim: Optim = None
        args = tyro.cli(Args)
    ''')
    opts = by_primary(flags)
    assert set(opts) == {"--seed", "--cuda", "--num-envs", "--batch-size", "--optim.learning-rate"}
    assert opts["--num-envs"].strings == ("--num-envs", "--num_envs")
    assert opts["--cuda"].strings == ("--cuda", "--no-cuda") and not opts["--cuda"].takes_value
    roles = roles_for(flags)
    assert roles["seed"] == "--seed" and roles["batch_size"] is None   # computed at run time: not passed
