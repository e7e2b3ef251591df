"""Map the option spellings a script defines to the roles the orchestrator fills.

A role (epochs, folds, ...) is filled only through an option the script itself defines, in
the exact spelling it defines (`--num_train_epochs`, not `--epochs`). Spellings are compared
normalised (lowercase, `_` same as `-`), whole: `--epochs-per-eval` is never `--epochs`.
Options that take no value (store_true flags) cannot receive a role's value and never match.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from runall.plan.flags.analyser import Option, ScriptFlags

ROLES = ("epochs", "folds", "output_dir", "batch_size", "seed", "data_path", "config")


def normalise(spelling: str) -> str:
    """Comparable form of an option spelling: lowercase, `-` for `_`, long names with `--`.

    `epochs`, `-epochs` and `--Epochs` are all `--epochs`; a one-letter `-e` stays short.
    """
    name = spelling.strip().lower().replace("_", "-").lstrip("-")
    return f"--{name}" if len(name) > 1 else f"-{name}"


def _table(raw: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    return {role: tuple(dict.fromkeys(normalise(s) for s in spellings)) for role, spellings in raw.items()}


# Most specific first: the first spelling in this order that a script defines wins.
# Deliberately absent: --epoch (often "resume from epoch"), --fold (often "which fold"),
# --dataset (often a name), --input, --log-dir; config can add them.
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = _table({
    "epochs": ["--epochs", "--num-epochs", "--num-train-epochs", "--max-epochs", "--n-epochs", "--nepochs",
               "--train-epochs", "--total-epochs", "--nb-epochs", "--n-epoch", "--epochs-num"],
    "folds": ["--folds", "--n-folds", "--num-folds", "--nfolds", "--kfold", "--kfolds", "--k-folds", "--k-fold",
              "--cv-folds", "--n-splits", "--num-splits", "--cv"],
    "output_dir": ["--output-dir", "--out-dir", "--outdir", "--output-directory", "--save-dir", "--model-dir",
                   "--checkpoint-dir", "--checkpoints-dir", "--ckpt-dir", "--default-root-dir", "--work-dir",
                   "--results-dir", "--run-dir", "--exp-dir", "--output"],
    "batch_size": ["--batch-size", "--batch", "--bs", "--batchsize", "--train-batch-size",
                   "--per-device-train-batch-size", "--mini-batch-size"],
    "seed": ["--seed", "--random-seed", "--rng-seed", "--random-state", "--manual-seed"],
    "data_path": ["--data-path", "--data-dir", "--data", "--dataset-path", "--data-root", "--dataroot",
                  "--datadir", "--dataset-dir", "--data-file", "--train-data", "--train-file", "--csv"],
    "config": ["--config", "--config-file", "--cfg", "--config-path", "--conf", "--cfg-file"],
})


def merge_aliases(extra: Mapping[str, Sequence[str] | str] | None) -> dict[str, tuple[str, ...]]:
    """The default table extended by config: extra spellings go first; new roles are added."""
    merged = dict(DEFAULT_ALIASES)
    for role, spellings in (extra or {}).items():
        given = [spellings] if isinstance(spellings, str) else list(spellings)
        merged[role] = tuple(dict.fromkeys([*map(normalise, given), *merged.get(role, ())]))
    return merged


def _index(options: Sequence[Option], top_level: bool, need_value: bool) -> dict[str, str]:
    """Normalised spelling -> the script's own spelling, first definition winning."""
    index: dict[str, str] = {}
    for option in options:
        if (option.subcommand is None) == top_level and (option.takes_value or not need_value):
            for spelling in option.strings:
                index.setdefault(normalise(spelling), spelling)
    return index


def _first(spellings: Sequence[str], *indexes: dict[str, str]) -> str | None:
    for index in indexes:
        for spelling in spellings:
            if spelling in index:
                return index[spelling]
    return None


def assign_roles(options: Sequence[Option], aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
                 overrides: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """Role -> the option string the script uses for it, or None.

    Top-level options win over subcommand ones. An override (role -> option string, from
    config) always wins: it is returned in the script's own spelling when the script
    defines it, as given otherwise, and None/"" turns the role off.
    """
    top, nested = _index(options, True, True), _index(options, False, True)
    roles: dict[str, str | None] = {role: _first(spellings, top, nested) for role, spellings in aliases.items()}
    if overrides:
        anywhere = {**_index(options, False, False), **_index(options, True, False)}
        for role, spelling in overrides.items():
            roles[role] = anywhere.get(normalise(spelling), spelling) if spelling else None
    return roles


def roles_for(flags: ScriptFlags, aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
              overrides: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """`assign_roles` for a sniffed script: an unknown CLI gets only the roles config declares."""
    return assign_roles(flags.options if flags.known else (), aliases, overrides)
