"""Tests of mapping option spellings to roles."""

from __future__ import annotations

import pytest

from runall.plan.flags.model import Option, ScriptFlags
from runall.plan.flags.roles import DEFAULT_ALIASES, ROLES, assign_roles, explain, merge_aliases, normalise, roles_for


def opts(*specs: str, sub: str | None = None) -> list[Option]:
    """Options from "a,b" spellings (comma-separated strings of one option)."""
    return [Option(tuple(spec.split(",")), subcommand=sub) for spec in specs]


def test_table_covers_every_role_in_normalised_form():
    assert tuple(DEFAULT_ALIASES) == ROLES
    for spellings in DEFAULT_ALIASES.values():
        assert all(s == normalise(s) and s.startswith("--") for s in spellings)
        assert len(set(spellings)) == len(spellings)
    assert {"--epochs", "--num-epochs", "--num-train-epochs", "--max-epochs", "--n-epochs"} <= set(
        DEFAULT_ALIASES["epochs"])
    assert {"--folds", "--n-folds", "--kfold", "--cv-folds", "--n-splits"} <= set(DEFAULT_ALIASES["folds"])
    assert {"--output-dir", "--out-dir", "--save-dir", "--model-dir", "--checkpoint-dir"} <= set(
        DEFAULT_ALIASES["output_dir"])


@pytest.mark.parametrize("raw, norm", [
    ("--num_train_epochs", "--num-train-epochs"), ("--Output_Dir", "--output-dir"), ("epochs", "--epochs"),
    ("-epochs", "--epochs"), (" -e ", "-e"),
])
def test_normalise(raw, norm):
    assert normalise(raw) == norm


def test_returns_the_scripts_own_spelling():
    roles = assign_roles(opts("--num_train_epochs", "-o,--Output_Dir", "--per_device_train_batch_size"))
    assert roles["epochs"] == "--num_train_epochs"
    assert roles["output_dir"] == "--Output_Dir"
    assert roles["batch_size"] == "--per_device_train_batch_size"
    assert roles["folds"] is None and set(roles) == set(ROLES)


def test_single_dash_long_option_keeps_its_spelling():
    assert assign_roles(opts("-epochs", "-o"))["epochs"] == "-epochs"


def test_alias_table_order_wins_over_definition_order():
    roles = assign_roles(opts("--max-epochs", "--epochs", "--output", "--output-dir"))
    assert roles["epochs"] == "--epochs"
    assert roles["output_dir"] == "--output-dir"


@pytest.mark.parametrize("spelling", ["--epochs-per-eval", "--warmup-epochs", "--epoch", "--seed-offset",
                                      "--output-dir-suffix", "--n-folds-max", "-e", "--fold"])
def test_never_matches_a_prefix_or_near_miss(spelling):
    assert all(v is None for v in assign_roles(opts(spelling)).values())


def test_top_level_beats_subcommand_then_falls_back():
    options = opts("--seed") + opts("--epochs", "--random-seed", sub="train")
    roles = assign_roles(options)
    assert roles["seed"] == "--seed"
    assert roles["epochs"] == "--epochs"


def test_flags_without_a_value_never_fill_a_role():
    options = [Option(("--epochs",), takes_value=False), Option(("--num-epochs",))]
    assert assign_roles(options)["epochs"] == "--num-epochs"


def test_overrides_win():
    options = opts("--cv_k", "--folds", "--epochs")
    roles = assign_roles(options, overrides={"folds": "--cv-k", "epochs": None, "data_path": "--input"})
    assert roles["folds"] == "--cv_k"          # the script's spelling of the override
    assert roles["epochs"] is None              # switched off
    assert roles["data_path"] == "--input"      # declared by config, kept as given


def test_merge_aliases_extends_without_mutating_the_default():
    before = dict(DEFAULT_ALIASES)
    merged = merge_aliases({"folds": ["cv"], "epochs": "--iterations", "lr": ["--learning_rate"]})
    assert merged["folds"][0] == "--cv" and merged["folds"].count("--cv") == 1
    assert merged["epochs"][0] == "--iterations" and "--epochs" in merged["epochs"]
    assert merged["lr"] == ("--learning-rate",)
    assert DEFAULT_ALIASES == before and merge_aliases(None) == DEFAULT_ALIASES
    roles = assign_roles(opts("--iterations", "--epochs", "--learning_rate"), merged)
    assert roles["epochs"] == "--iterations" and roles["lr"] == "--learning_rate"


def test_roles_for_unknown_script_uses_only_config():
    flags = ScriptFlags("x.py", "unknown", opts("--epochs"), ["line 3: ..."])
    assert roles_for(flags) == {role: None for role in ROLES}
    assert roles_for(flags, overrides={"epochs": "--epochs"})["epochs"] == "--epochs"
    assert roles_for(ScriptFlags("y.py", "argparse", opts("--epochs")))["epochs"] == "--epochs"


# --- roles from what the source says about an option ---------------------------------------------


def opt(spelling: str, help: str | None = None, default=None, type: str | None = None, **kw) -> Option:
    return Option((spelling,), spelling.lstrip("-"), help=help, default=default, type=type, **kw)


@pytest.mark.parametrize("option, role", [
    (opt("--niter", "number of epochs to train for", 25, "int"), "epochs"),
    (opt("--nepoch", default=100), "epochs"),
    (opt("--outf", "folder to output images and model checkpoints", "."), "output_dir"),
    (opt("--project", "save to project/name"), "output_dir"),
    (opt("--save-model-dir", "path to folder where trained model will be saved."), "output_dir"),
    (opt("--checkpoints_dir", "models are saved here", "./checkpoints"), "output_dir"),
    (opt("--log-folder", "Log folder", "logs"), "output_dir"),
    (opt("--manualSeed", "manual seed", type="int"), "seed"),
    (opt("--k_fold", type="int"), "folds"),
    (opt("--fold", "Input num_fold", 5, "int"), "folds"),
    (opt("--instance_data_dir", "A folder containing the training data of instance images."), "data_path"),
    (opt("--dataset_name", "Path or name of the dataset to load."), "data_path"),
    (opt("--building-config-loc", "The location of the building config file"), "config"),
])
def test_unusual_spellings_from_help_name_default_and_type(option, role):
    assignment = explain([option, opt("--lr", "learning rate", 0.1)])
    assert assignment.roles[role] == option.primary
    by_alias = normalise(option.primary) in DEFAULT_ALIASES[role]
    assert by_alias or any(note.startswith(f"{role}: {option.primary}, from its") for note in assignment.notes)


@pytest.mark.parametrize("option", [
    opt("--warmup_epochs", "number of epochs to warm up", 5),
    opt("--save", "path to save the final model", "model.pt"),
    opt("--name", "save to project/name", "exp"),
    opt("--fold", "which fold to train", 0),
    opt("--dataset_name", "The name of the dataset to use (via the datasets library)."),
    opt("--batch_size", "the batch size (computed in runtime)", 0, "int"),
    opt("--cfg", "Base configuration", type="choice"),
    opt("--model_dir", "Path to pretrained model or model identifier"),
    opt("--save-to", "model save path", "model.bin"),
    opt("--class_data_dir", "A folder containing the training data of class images."),
    opt("--eval_batch_size", "batch size for evaluation", 8),
])
def test_options_that_merely_look_like_a_role_take_none(option):
    assert all(value is None for value in assign_roles([option]).values()), option


def test_two_candidates_take_none_and_say_so():
    assignment = explain([opt("--ckpt_folder", "where to save checkpoints"),
                          opt("--exp_folder", "folder for the experiment outputs")])
    assert assignment.roles["output_dir"] is None
    assert any("--ckpt_folder and --exp_folder could each be it" in note for note in assignment.notes)


def test_a_weaker_candidate_yields_to_a_stronger_one():
    options = [opt("--tensorboard-log", "Tensorboard log dir"), opt("--log-folder", "Log folder"),
               opt("--logging_dir", "directory for logs")]
    assert assign_roles(options[:2])["output_dir"] == "--log-folder"     # TensorBoard folders come last
    assert assign_roles([opt("--logging_dir", "where logs go"), opt("--exp_dir", "experiment dir")])[
        "output_dir"] == "--exp_dir"


def test_nested_spellings_by_section():
    options = [Option(("--trainer.max_epochs",)), Option(("--data.batch_size",)), Option(("--data.dl_path",)),
               Option(("--model.batch_size",)), Option(("--scheduler.max_epochs",))]
    roles = assign_roles(options)
    assert roles["epochs"] == "--trainer.max_epochs" and roles["batch_size"] == "--data.batch_size"
    assert roles["data_path"] == "--data.dl_path"
    hydra = [Option(("train.epochs",)), Option(("training.epochs",))]
    assignment = explain(hydra)
    assert assignment.roles["epochs"] is None and "could each be it" in assignment.notes[0]


def test_an_alias_whose_help_says_otherwise_is_skipped_with_a_note():
    assignment = explain([opt("--model-dir", "directory to load the pretrained weights from")])
    assert assignment.roles["output_dir"] is None
    assert "not --model-dir, whose help says it is something else" in assignment.notes[0]
