"""Tests of mapping option spellings to roles."""

from __future__ import annotations

import pytest

from runall.plan.flags.model import Option, ScriptFlags
from runall.plan.flags.roles import DEFAULT_ALIASES, ROLES, assign_roles, merge_aliases, normalise, roles_for


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
