"""Map the options a script defines to the roles the orchestrator fills.

A role (epochs, folds, ...) is filled only through an option the script itself defines, in
the exact spelling it defines (`--num_train_epochs`, `trainer.max_epochs` for a Hydra override).
Three steps, most certain first:

1. The alias table: spellings compared normalised (lowercase, `_` same as `-`, dashes ignored),
   whole: `--epochs-per-eval` is never `--epochs`. The first spelling in the table's order that
   the script defines wins; top-level options before subcommand ones.
2. Nested spellings (`--data.batch_size`, `train.epochs`): the last part matched against the
   table, where the part before it is a section that role lives in (`trainer`, `data`, ...).
3. Evidence from what the source says about an option whose name is unusual: its help text,
   name parts, default and type (`--niter` "number of epochs to train for"). Taken only when
   exactly one option qualifies; when two could, neither is (a value sent to the wrong option
   is worse than none), and a note says so.

Options that take no value never match. Config (`[tool.runall] aliases`, the job file's
`flags:`) extends the table or names the option outright.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from runall.plan.flags.model import Option, ScriptFlags

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
# --dataset (often a name), --input, --log-dir; evidence or config can add them.
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = _table({
    "epochs": ["--epochs", "--num-epochs", "--num-train-epochs", "--max-epochs", "--n-epochs", "--nepochs",
               "--train-epochs", "--total-epochs", "--nb-epochs", "--n-epoch", "--epochs-num", "--num-epoch",
               "--max-epoch", "--nepoch", "--epoch-num", "--training-epochs", "--trainer.max-epochs"],
    "folds": ["--folds", "--n-folds", "--num-folds", "--nfolds", "--kfold", "--kfolds", "--k-folds", "--k-fold",
              "--cv-folds", "--n-splits", "--num-splits", "--cv"],
    "output_dir": ["--hydra.run.dir", "--output-dir", "--out-dir", "--outdir", "--output-directory", "--save-dir",
                   "--model-dir", "--checkpoint-dir", "--checkpoints-dir", "--ckpt-dir", "--default-root-dir",
                   "--trainer.default-root-dir", "--work-dir", "--results-dir", "--run-dir", "--exp-dir", "--output",
                   "--outf", "--save-model-dir", "--output-path", "--out-path", "--save-folder", "--output-folder"],
    "batch_size": ["--batch-size", "--batch", "--bs", "--batchsize", "--train-batch-size",
                   "--per-device-train-batch-size", "--mini-batch-size", "--data.batch-size"],
    "seed": ["--seed", "--random-seed", "--rng-seed", "--random-state", "--manual-seed", "--manualseed",
             "--seed-everything"],
    "data_path": ["--data-path", "--data-dir", "--data", "--dataset-path", "--data-root", "--dataroot",
                  "--datadir", "--dataset-dir", "--data-file", "--train-data", "--train-file", "--csv",
                  "--dataset-root", "--data-folder", "--train-path", "--data.data-dir"],
    "config": ["--config", "--config-file", "--cfg", "--config-path", "--conf", "--cfg-file", "--configs"],
})

# Sections a role's option may be nested in (`--trainer.max_epochs`, `data.batch_size`).
SECTIONS: dict[str, tuple[str, ...]] = {
    "epochs": ("trainer", "train", "training", "solver", "optim", "optimization", "schedule"),
    "folds": ("data", "dataset", "cv", "train", "training"),
    "output_dir": ("trainer", "paths", "train", "training", "exp", "experiment", "logging"),
    "batch_size": ("data", "datamodule", "dataset", "loader", "dataloader", "train", "training"),
    "seed": ("train", "training", "exp", "experiment"),
    "data_path": ("data", "datamodule", "dataset", "paths", "train", "training"),
    "config": (),
}


@dataclass
class Assignment:
    """Role -> the script's spelling (or None), and notes on how unusual ones were decided."""

    roles: dict[str, str | None]
    notes: list[str] = field(default_factory=list)


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


def _nested(role: str, spellings: Sequence[str], options: Sequence[Option]) -> tuple[str | None, list[str]]:
    """A nested option whose last part is in the table and whose section suits the role."""
    leaves = set(spellings)
    found: list[str] = []
    for option in options:
        if option.subcommand is not None or not option.takes_value:
            continue
        for spelling in option.strings:
            section, dot, leaf = spelling.lstrip("-").rpartition(".")
            if dot and section.split(".")[-1].lower() in SECTIONS.get(role, ()) and normalise(leaf) in leaves:
                found.append(spelling)
                break
    unique = list(dict.fromkeys(found))
    return (unique[0], []) if len(unique) == 1 else (None, unique)


def assign_roles(options: Sequence[Option], aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
                 overrides: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """Role -> the option string the script uses for it, or None (see `explain`)."""
    return explain(options, aliases, overrides).roles


def explain(options: Sequence[Option], aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
            overrides: Mapping[str, str | None] | None = None) -> Assignment:
    """The roles of a script's options, with notes on those decided from evidence or left open.

    An override (role -> option string, from config) always wins: it is returned in the
    script's own spelling when the script defines it, as given otherwise, and None/"" turns
    the role off.
    """
    owners = {s: o for o in options for s in o.strings}
    notes: list[str] = []
    roles: dict[str, str | None] = {}
    for role, spellings in aliases.items():
        kept = [o for o in options if not any(_vetoed(role, s, owners) for s in o.strings)]
        roles[role] = _first(spellings, _index(kept, True, True), _index(kept, False, True))
        if len(kept) < len(options) and roles[role] != _first(spellings, _index(options, True, True),
                                                               _index(options, False, True)):
            dropped = _first(spellings, _index(options, True, True), _index(options, False, True))
            notes.append(f"{role}: not {dropped}, whose help says it is something else "
                         f"({owners[dropped].help!r})")
    for role, spellings in aliases.items():
        if roles[role] is None:
            roles[role], several = _nested(role, spellings, options)
            if several:
                notes.append(f"{role}: {' and '.join(several)} could each be it; neither is used")
    taken = {spelling for spelling in roles.values() if spelling}
    for role in ROLES:
        if role in roles and roles[role] is None:
            roles[role] = _from_evidence(role, options, taken, owners, notes)
            if roles[role]:
                taken.add(roles[role])
    if overrides:
        anywhere = {**_index(options, False, False), **_index(options, True, False)}
        for role, spelling in overrides.items():
            roles[role] = anywhere.get(normalise(spelling), spelling) if spelling else None
    return Assignment(roles, notes)


def roles_for(flags: ScriptFlags, aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
              overrides: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """`assign_roles` for a sniffed script: an unknown CLI gets only the roles config declares."""
    return explain_roles(flags, aliases, overrides).roles


def explain_roles(flags: ScriptFlags, aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
                  overrides: Mapping[str, str | None] | None = None) -> Assignment:
    """`explain` for a sniffed script: an unknown CLI gets only the roles config declares."""
    return explain(flags.options if flags.known else (), aliases, overrides)


# --- evidence ---------------------------------------------------------------------------------

def words(spelling: str) -> list[str]:
    """`--manualSeed` -> [manual, seed]; `--save-model_dir` -> [save, model, dir]."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", spelling.lstrip("-").rpartition(".")[2])
    return [w for w in re.split(r"[^A-Za-z0-9]+", text.lower()) if w]


@dataclass(frozen=True)
class _Rule:
    """How to recognise a role from what the source says about an option."""

    name: re.Pattern[str]          # over the name's words joined by "_"
    help: re.Pattern[str]          # over the help text, lowercased
    veto: re.Pattern[str]          # words (in name or help) that mean something else
    types: tuple[str, ...]         # acceptable types (of `type=` or the default); () any
    tier: Mapping[str, int] = field(default_factory=dict)   # name word -> lower priority (higher number)


_DIRWORD = r"(dir|directory|folder|path|root|location|f)"
RULES: dict[str, _Rule] = {
    "epochs": _Rule(
        name=re.compile(r"^((n|num|number|nb|max|total|train|training)_?epochs?|epochs?_?(num|number|total|count)|niter|n_iter|iters?_epochs?)$"),
        help=re.compile(r"\b(number|num|no\.?|#|count|total|max(imum)?)\s+(of\s+)?(total\s+|training\s+|train\s+|max\s+)?"
                        r"epochs?\b|\bepochs?\s+(to|of|for)\s+(train|training|run)\b|\btraining epochs\b|"
                        r"\bhow many epochs\b|^epochs?\b"),
        veto=re.compile(r"\b(warm\w*|decay\w*|start\w*|resume|begin\w*|save\w*|eval\w*|valid\w*|log\w*|every|"
                        r"interval|between|patience|cool\w*|freez\w*|burn\w*|per|checkpoint\w*|snapshot|test\w*|"
                        r"print\w*|lr|ramp\w*|sched\w*|first|last|stage|pretrain\w*|step\w*|iterations?|decay)\b"),
        types=("int",)),
    "folds": _Rule(
        name=re.compile(r"^((n|num|number|nb|k|cv)_?(folds?|splits)|k_?fold|folds?_?(num|number|count)|cv)$"),
        help=re.compile(r"\b(number|num|#)\s+of\s+(cv\s+|cross[- ]?validation\s+)?(folds|splits)\b|"
                        r"\bk[- ]?folds?\b|\bcross[- ]?validation folds\b|\bfolds? (for|of|in) cross[- ]?validation"),
        veto=re.compile(r"\b(index|idx|which|current|id|to (use|run|train|evaluate)|this fold|fold number)\b"),
        types=("int",)),
    "output_dir": _Rule(
        name=re.compile(r"^((output|out|save|saved|saving|checkpoints?|ckpt|ckpts|work|exp|experiment|results?|runs?|"
                        r"logs?|logging|project|model|models|snapshot|outputs)_?(model_?)?" + _DIRWORD + r"s?|outf|outdir|"
                        r"logdir|workdir|savedir|save_?to|output|project|work_?dirs?)$"),
        help=re.compile(r"\b(output|out|save|saving|results?|log(ging)?|checkpoints?|experiments?|work(ing)?)\s+"
                        r"(dir|directory|folder|path|root)\b|\b(dir|directory|folder|path)\s+(to|for|where|in which)\s+"
                        r"(\w+\s+)?(save|store|output|write|put|dump)|\bwhere to (save|store|write|put)|"
                        r"\b(save|store|write|output|dump)s?\s+(\w+\s+){0,4}(to|in|into|under)\s+(this\s+|the\s+|a\s+)?"
                        r"(dir|directory|folder|project)|\bfolder to output\b|\bsave to project\b|"
                        r"\b(dir|directory|folder) (for|of) (the )?(outputs?|results|checkpoints|logs|models?)\b"),
        veto=re.compile(r"\b(load\w*|resume\w*|pretrained|input|read|from|cache\w*|data|dataset|init\w*|source|"
                        r"tensorboard|wandb|mlflow|name|file|pretrain\w*|restore\w*|eval\w*|test\w*|teacher)\b"),
        types=("str", "path"),
        tier={"log": 1, "logs": 1, "logging": 1, "logdir": 1, "project": 1, "model": 1, "models": 1}),
    "batch_size": _Rule(
        name=re.compile(r"^((train|training|per_device_train|global|total|mini|per_gpu_train|imgs?_per|images_per)_?)?"
                        r"(batch_?size|bs|batchsize|batch)(_?(train|size))?$"),
        help=re.compile(r"\b(mini-?)?batch[- ]?size\b|\b(images|samples|examples|imgs)\s+per\s+(batch|gpu|device)\b"),
        veto=re.compile(r"\b(eval\w*|test\w*|val|valid\w*|inference|predict\w*|micro|infer|generation|chunk|"
                        r"accumulat\w*)\b"),
        types=("int",)),
    "seed": _Rule(
        name=re.compile(r"^((manual|random|rand|rng|global|init|base|torch|np|numpy)_?)?seed(_?(val|value|num|number))?$"),
        help=re.compile(r"\b(random|manual|rng|global)\s+seed\b|\bseed (for|of) (the )?(random|rng|reproduc\w*)|"
                        r"^(the )?seed\b"),
        veto=re.compile(r"\b(data|sampler|eval\w*|test\w*|shuffle|split|env|environment|dataset|val\w*)\b"),
        types=("int",)),
    "data_path": _Rule(
        name=re.compile(r"^((train|training|input|img|image|images|corpus|raw)_?)?(data|dataset|datasets)_?"
                        r"(dir|directory|folder|path|root|location|file|files)s?$|^data_?(root|dir)$|^(img|image)s?_?"
                        r"(dir|root|folder)$"),
        help=re.compile(r"\b(path|dir|directory|folder|root|location)\s+(to|of|for|containing|with|where)\s+"
                        r"(the\s+)?(training\s+|train\s+|input\s+|raw\s+)?(data|dataset|images|corpus)\b|"
                        r"\b(data|dataset|training data|images)\s+(root\s+)?(path|dir|directory|folder|root|location)\b|"
                        r"\broot (dir|directory|folder|path) of (the )?(data|dataset)"),
        veto=re.compile(r"\b(output\w*|save\w*|writ\w*|cache\w*|checkpoint\w*|model\w*|logs?|names?|hub|huggingface|"
                        r"download\w*|eval\w*|test\w*|val|valid\w*|config\w*|vocab\w*|tokeniz\w*|pretrain\w*)\b"),
        types=("str", "path")),
    "config": _Rule(
        name=re.compile(r"^(config|cfg|conf|configuration|opt|options?|yaml)_?(file|path|yaml)?s?$"),
        help=re.compile(r"\b(config|configuration|yaml|option|options|settings)\s+(file|yaml|path)\b|"
                        r"\bpath to (the |a )?(yaml |json |experiment |training )?(config|configuration)\b"),
        veto=re.compile(r"\b(pretrained|names?|model|deepspeed|accelerate|tokenizer|overrid\w*|hub|huggingface|"
                        r"hf|print\w*|dump\w*|save\w*)\b"),
        types=("str", "path")),
}


# Help words that overrule an alias: the option is something else despite its name.
ALIAS_VETO: dict[str, re.Pattern[str]] = {
    "output_dir": re.compile(r"\b(load\w*|resum\w*|pretrained|restor\w*|read from|input|initiali[sz]\w*)\b"),
    "data_path": re.compile(r"\b(output|save|write|cache)\b"),
    "folds": re.compile(r"\b(index|which fold|fold to (use|run|train))\b"),
    "batch_size": re.compile(r"\b(eval\w*|test\w*|validation|inference)\b"),
    "config": re.compile(r"\b(pretrained|config name)\b"),
}


def _type_of(option: Option) -> str | None:
    if option.type:
        return option.type
    default = option.default
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, (int, float)):
        return type(default).__name__
    if isinstance(default, str):
        return "int" if default.strip().isdigit() else "str"
    return None


def first_clause(help: str | None) -> str:
    """The help text up to its first full stop, bracket or semicolon, lowercased."""
    text = (help or "").lower().replace("%(default)s", "")
    return re.split(r"\.\s|\.$|[;(\[]|\s-\s", text, maxsplit=1)[0].strip()


def _evidence(rule: _Rule, option: Option) -> str | None:
    """What makes `option` the role's (its help, or its name), or None."""
    if not option.takes_value or option.subcommand is not None:
        return None
    kind = _type_of(option)
    if kind is not None and rule.types and kind not in rule.types:
        return None
    named = words(option.primary)
    clause = first_clause(option.help)
    if rule.veto.search(" ".join(named)) or (clause and rule.veto.search(clause)):
        return None
    if clause and rule.help.search(clause):
        return f"its help ({option.help!r})"
    if rule.name.match("_".join(named)):
        return "its name" + (f" and type ({kind})" if kind else "")
    return None


def _vetoed(role: str, spelling: str, owners: Mapping[str, Option]) -> bool:
    """An alias whose help says it is something else (`--model_dir` "path to a pretrained model")."""
    option = owners.get(spelling)
    veto = ALIAS_VETO.get(role)
    return bool(option is not None and veto is not None and veto.search(first_clause(option.help)))


def _from_evidence(role: str, options: Sequence[Option], taken: set[str], owners: Mapping[str, Option],
                   notes: list[str]) -> str | None:
    rule = RULES.get(role)
    if rule is None:
        return None
    found: list[tuple[int, Option, str]] = []
    for option in options:
        if any(s in taken for s in option.strings):
            continue
        why = _evidence(rule, option)
        if why:
            tier = max((rule.tier.get(w, 0) for w in words(option.primary)), default=0)
            found.append((tier, option, why))
    if not found:
        return None
    best = min(t for t, _, _ in found)
    chosen = [(o, why) for t, o, why in found if t == best]
    if len(chosen) > 1:
        names = " and ".join(o.primary for o, _ in chosen)
        notes.append(f"{role}: {names} could each be it; neither is used (name one in the job file's flags:)")
        return None
    option, why = chosen[0]
    notes.append(f"{role}: {option.primary}, from {why}")
    return option.primary
