"""LightningCLI: Trainer, model and data module options, `fit` first; Lightning 1.x argparse args."""

from __future__ import annotations

from flagtools import by_primary, sniff, strings
from runall.plan.flags.roles import roles_for


CLI_SCRIPT = '''
    from lightning.pytorch import LightningDataModule, LightningModule
    from lightning.pytorch.cli import LightningCLI
    class LitClassifier(LightningModule):
        def __init__(self, hidden_dim: int = 128, learning_rate: float = 1e-4):
            super().__init__()
    class MyDataModule(LightningDataModule):
        def __init__(self, batch_size: int = 32, data_dir: str = "./data"):
            super().__init__()
    def cli_main():
        cli = LightningCLI(LitClassifier, MyDataModule, seed_everything_default=1234{run})
    if __name__ == "__main__":
        cli_main()
'''


def test_lightning_cli_options_roles_and_fit():
    flags = sniff(CLI_SCRIPT.format(run=""))
    assert flags.cli == "lightning" and flags.leading == ("fit",)
    assert {"--trainer.max_epochs", "--trainer.default_root_dir", "--seed_everything", "--config",
            "--model.hidden_dim", "--model.learning_rate", "--data.batch_size", "--data.data_dir"} <= strings(flags)
    roles = roles_for(flags)
    assert roles == {"epochs": "--trainer.max_epochs", "folds": None, "output_dir": "--trainer.default_root_dir",
                     "batch_size": "--data.batch_size", "seed": "--seed_everything", "data_path": "--data.data_dir",
                     "config": "--config"}


def test_run_false_needs_no_subcommand_and_subclass_hooks_add_options():
    subclass = '''
    class MyCLI(LightningCLI):
        def add_arguments_to_parser(self, parser):
            parser.add_argument("--notes")
            parser.link_arguments("data.batch_size", "model.hidden_dim")
    def cli_main():'''
    flags = sniff(CLI_SCRIPT.format(run=", run=False").replace("cli = LightningCLI(", "cli = MyCLI(")
                  .replace("\n    def cli_main():", subclass))
    assert flags.leading == ()
    assert "--notes" in strings(flags) and "--model.hidden_dim" not in strings(flags)


def test_a_datamodule_from_elsewhere_is_a_class_path_not_a_data_path():
    flags = sniff('''
        from lightning.pytorch.cli import LightningCLI
        from lightning.pytorch.demos import BoringDataModule, DemoModel
        LightningCLI(DemoModel, BoringDataModule)
    ''')
    assert "--data" in strings(flags) and roles_for(flags)["data_path"] is None


def test_lightning_1x_trainer_add_argparse_args():
    flags = sniff('''
        from argparse import ArgumentParser
        import pytorch_lightning as pl
        parser = ArgumentParser()
        parser.add_argument("--logdir", default="logs")
        parser = pl.Trainer.add_argparse_args(parser)
        args = parser.parse_args()
    ''')
    assert flags.known and {"--logdir", "--max_epochs", "--default_root_dir"} <= strings(flags)
    assert by_primary(flags)["--max_epochs"].help
