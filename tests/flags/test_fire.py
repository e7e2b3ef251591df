"""python-fire: the target function's parameters."""

from __future__ import annotations

from flagtools import by_primary, sniff


def test_fire_function_parameters_become_options():
    flags = sniff('''
        import fire
        def train(base_model: str = "", data_path: str = "data.json", output_dir: str = "./out",
                  batch_size: int = 128, num_epochs: int = 3, resume: bool = False):
            """Fine-tune.

            Args:
                num_epochs: number of epochs to train for
            """
        if __name__ == "__main__":
            fire.Fire(train)
    ''')
    opts = by_primary(flags)
    assert flags.cli == "fire" and set(opts) == {"--base_model", "--data_path", "--output_dir", "--batch_size",
                                                  "--num_epochs", "--resume"}
    assert opts["--num_epochs"].help == "number of epochs to train for" and opts["--num_epochs"].default == 3
    assert not opts["--resume"].takes_value


def test_fire_class_and_dict_give_subcommands():
    flags = sniff('''
        import fire
        class Runner:
            def __init__(self, seed=0):
                pass
            def train(self, epochs=1):
                pass
        def evaluate(checkpoint="c"):
            pass
        fire.Fire(Runner)
        fire.Fire({"eval": evaluate})
    ''')
    got = {(o.primary, o.subcommand) for o in flags.options}
    assert got == {("--seed", None), ("--epochs", "train"), ("--checkpoint", "eval")}


def test_fire_without_a_component_uses_the_scripts_functions():
    flags = sniff('''
        import fire
        def train(lr=0.1):
            pass
        def _private(x=1):
            pass
        fire.Fire()
    ''')
    assert {(o.primary, o.subcommand) for o in flags.options} == {("--lr", "train")}
