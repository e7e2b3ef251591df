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
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
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
    if not extra:
        return DEFAULT_ALIASES
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


# Last words of a nested option's name that suit a role in a section of that role (`data.dl_path`).
_NESTED_LEAVES = {"data_path": {"path", "dir", "root", "folder", "location", "file"}}


def _nested(role: str, spellings: Sequence[str], options: Sequence[Option]) -> tuple[str | None, list[str]]:
    """A nested option whose last part is in the table (or suits the role) and whose section is one
    that role lives in (`--trainer.max_epochs`, `data_config.path`)."""
    leaves = set(spellings)
    generic = _NESTED_LEAVES.get(role, set())
    rule = RULES.get(role)
    found: list[str] = []
    for option in options:
        if option.subcommand is not None or not option.takes_value or "." not in option.primary:
            continue
        for spelling in option.strings:
            section, dot, leaf = spelling.lstrip("-").rpartition(".")
            if not dot or _unfit(role, option):
                continue
            section_words = set(re.split(r"[^a-z0-9]+", section.split(".")[-1].lower()))
            if not section_words & set(SECTIONS.get(role, ())):
                continue
            named = words(leaf)
            fits = normalise(leaf) in leaves or (
                bool(named) and named[-1] in generic and not (rule and rule.veto.search(" ".join(named))))
            if fits:
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
    top, nested = _index(options, True, True), _index(options, False, True)
    for role, spellings in aliases.items():
        roles[role] = _first(spellings, top, nested)
        if roles[role] is not None and _vetoed(role, roles[role], owners):
            dropped = roles[role]
            kept = [o for o in options if not any(_vetoed(role, s, owners) for s in o.strings)]
            roles[role] = _first(spellings, _index(kept, True, True), _index(kept, False, True))
            notes.append(f"{role}: not {dropped}, whose help says it is something else "
                         f"({owners[dropped].help!r})")
    for role, spellings in aliases.items():
        if roles[role] is None:
            roles[role], several = _nested(role, spellings, options)
            if several:
                notes.append(f"{role}: {' and '.join(several)} could each be it; neither is used")
    taken = {spelling for spelling in roles.values() if spelling}
    home = _home(roles, owners)
    for role in ROLES:
        if role in roles and roles[role] is None:
            roles[role] = _from_evidence(role, options, taken, home, notes)
            if roles[role]:
                taken.add(roles[role])
    return Assignment(_overridden(roles, options, overrides), notes)


def _overridden(roles: dict[str, str | None], options: Sequence[Option],
                overrides: Mapping[str, str | None] | None) -> dict[str, str | None]:
    """Config's overrides applied: the script's own spelling of a named option, else as given."""
    if overrides:
        anywhere = {**_index(options, False, False), **_index(options, True, False)}
        for role, spelling in overrides.items():
            roles[role] = anywhere.get(normalise(spelling), spelling) if spelling else None
    return roles


def roles_for(flags: ScriptFlags, aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
              overrides: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """`assign_roles` for a sniffed script: an unknown CLI gets only the roles config declares.

    The default table's assignment kept with a cached result (`flags.roles`) is reused when
    config adds no spelling."""
    if flags.roles is not None and aliases is DEFAULT_ALIASES and flags.known:
        return _overridden(dict(flags.roles), flags.options, overrides)
    return explain_roles(flags, aliases, overrides).roles


def explain_roles(flags: ScriptFlags, aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
                  overrides: Mapping[str, str | None] | None = None) -> Assignment:
    """`explain` for a sniffed script: an unknown CLI gets only the roles config declares."""
    return explain(flags.options if flags.known else (), aliases, overrides)


# --- evidence ---------------------------------------------------------------------------------
# --- evidence ---------------------------------------------------------------------------------

def words(spelling: str) -> list[str]:
    """`--manualSeed` -> [manual, seed]; `--save-model_dir` -> [save, model, dir]; a nested
    `trainer.max_epochs` -> [max, epochs] (its last part)."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", spelling.lstrip("-").rpartition(".")[2])
    return [w for w in re.split(r"[^A-Za-z0-9]+", text.lower()) if w]


class _Lazy:
    """A regular expression compiled when first used: runs that take every script's roles from
    the flag cache never match one, and compiling the whole table costs about 8 ms of start-up."""

    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source, self._flags = source, flags
        self._compiled: re.Pattern[str] | None = None

    def _pattern(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self._pattern().search(text)

    def match(self, text: str) -> re.Match[str] | None:
        return self._pattern().match(text)


@dataclass(frozen=True)
class _Rule:
    """How to recognise a role from what the source says about an option."""

    name: _Lazy                    # over the name's words joined by "_"
    help: _Lazy                    # over the help text's first clause, lowercased
    veto: _Lazy                    # words (in the name or the help's first clause) that mean something else
    types: tuple[str, ...]         # acceptable types (of `type=` or the default)
    weak: _Lazy | None = None      # a weaker name: taken only when no other option qualifies
    name_veto: _Lazy | None = None  # name words that rule out evidence from the name alone
    demote: _Lazy | None = None    # words (name or help) that make it the last choice


_DIR = r"(dir|dirs|directory|folder|root|f)"
RULES: dict[str, _Rule] = {
    "epochs": _Rule(
        name=_Lazy(r"^((n|num|number|nb|max|total|train|training)_?epochs?|epochs?_?(num|number|total|count)|"
                   r"nepochs?)$"),
        help=_Lazy(r"\b(number|num|no\.?|#|count|total|max(imum)?)\s+(of\s+)?(total\s+|training\s+|train\s+|max\s+)?"
                   r"epochs?\b|\bepochs?\s+(to|of|for)\s+(train|training|run)\b|\btraining epochs\b|"
                   r"\bhow many epochs\b|^epochs?$|^(total\s+)?epochs?\s+(to|of)\b"),
        veto=_Lazy(r"\b(warm\w*|decay\w*|start\w*|resum\w*|begin\w*|save\w*|eval\w*|valid\w*|log\w*|every|"
                   r"interval|between|patience|cool\w*|freez\w*|burn\w*|per|checkpoint\w*|snapshot|test\w*|"
                   r"print\w*|lr|ramp\w*|sched\w*|first|last|stage|pretrain\w*|step|steps|iterations?|"
                   r"update\w*|ppo|rollout\w*|swa|ema|stop\w*|early|plateau|restart\w*|cycle\w*)\b"),
        types=("int",)),
    "folds": _Rule(
        name=_Lazy(r"^((n|num|number|nb|k|cv)_?(folds?|splits)|k_?fold|folds?_?(num|number|count)|kfolds?)$"),
        help=_Lazy(r"\b(number|num|#)\s+of\s+(cv\s+|cross[- ]?validation\s+)?(folds|splits)\b|"
                   r"\bk[- ]?folds?\b|\bcross[- ]?validation folds\b|\bfolds? (for|of|in) cross[- ]?validation|"
                   r"\b(num|n)_?folds?\b"),
        veto=_Lazy(r"\b(index|idx|which|current|id|this|specific|to (use|run|train|evaluate))\b"),
        types=("int",)),
    "output_dir": _Rule(
        name=_Lazy(r"^((output|outputs|out|save|saved|saving|checkpoints?|ckpt|ckpts|work|exp|experiment|job|"
                   r"results?|runs?|snapshots?)_?(model_?)?" + _DIR + r"|outf|outdir|workdir|savedir|"
                   r"save_?to|work_?dirs?|save_?model_?" + _DIR + r")$"),
        weak=_Lazy(r"^((logs?|logging|tensorboard|tb)_?(dir|dirs|directory|folder|root|path)|"
                   r"(model|models|checkpoint|ckpt)_?(dir|dirs|directory|folder)|logdir|logs|project|"
                   r"(output|out|save)_?path)$"),
        name_veto=_Lazy(r"\b(name|names|id|prefix|suffix|tag|file|filename)\b"),
        demote=_Lazy(r"\b(tensorboard|tb|wandb)\b"),
        help=_Lazy(r"\b(output|out|save|saving|results?|log(ging)?|checkpoints?|experiments?|work(ing)?)\s+"
                   r"(dir|directory|folder|root)\b|\b(dir|directory|folder)\s+(to|for|where|in which)\s+"
                   r"(\w+\s+)?(save|store|output|write|put|dump|keep)|\bwhere to (save|store|write|put|keep)\b|"
                   r"\b(save|store|write|output|dump)s?\s+(\w+\s+){0,4}(to|in|into|under)\s+(this\s+|the\s+|a\s+)?"
                   r"(dir|directory|folder|project)\b|\bfolder to output\b|\bsave to project\b|"
                   r"\b(dir|directory|folder) (for|of) (the )?(outputs?|results|checkpoints|logs|models?)\b|"
                   r"\b(models?|checkpoints|weights|results|outputs?|logs) (are|is|will be) (saved|stored|written)"),
        veto=_Lazy(r"\b(load\w*|resum\w*|pretrained|input\w*|read\w*|cach\w*|source|restor\w*|teacher|"
                   r"data ?(dir|directory|folder|root|path|set)|datasets?|training data|file|filename|init\w*|"
                   r"eval\w*|test\w*|pretrain\w*|mlflow|tmp|temp|cuda|vocab\w*|token\w*)\b"),
        types=("str", "path")),
    "batch_size": _Rule(
        name=_Lazy(r"^((train|training|per_device_train|global|total|mini|per_gpu_train|imgs?_per|images_per)_?)?"
                   r"(batch_?size|bs|batchsize|batch)(_?(train|size))?$"),
        help=_Lazy(r"\b(mini-?)?batch[- ]?size\b|\b(images|samples|examples|imgs)\s+per\s+(batch|gpu|device)\b"),
        veto=_Lazy(r"\b(eval\w*|test\w*|val|valid\w*|inference|predict\w*|micro|infer\w*|generat\w*|chunk\w*|"
                   r"accumulat\w*|sample|sampling|replay|buffer|rollout\w*|ppo|token\w*)\b"),
        types=("int",)),
    "seed": _Rule(
        name=_Lazy(r"^((manual|random|rand|rng|global|init|base|torch|np|numpy|train|training)_?)?seed"
                   r"(_?(val|value|num|number))?$"),
        help=_Lazy(r"\b(random|manual|rng|global|training)\s+seed\b|\bseed (for|of) (the )?(random|rng|"
                   r"reproduc\w*|initiali[sz]\w*)|^(the )?seed\b"),
        veto=_Lazy(r"\b(data|sampler|eval\w*|test\w*|shuffle|split|env|environment|dataset|val\w*|sampling|"
                   r"noise|offset)\b"),
        types=("int",)),
    "data_path": _Rule(
        name=_Lazy(r"^(\w+_)?(data|dataset|datasets)_?(dir|dirs|directory|folder|path|root|location|file|"
                   r"files|loc)s?$|^data_?(root|dir)$|^(img|image|images|train|training)_?(dir|root|folder)$|"
                   r"^dataroot$|^(train|training)_(data|dataset|file|path)$"),
        help=_Lazy(r"\b(path|dir|directory|folder|root|location)\s+(to|of|for|containing|with|where)\s+"
                   r"(the\s+)?(training\s+|train\s+|input\s+|raw\s+)?(data|dataset|images|corpus)\b|"
                   r"\b(data|dataset|training data|images)\s+(root\s+)?(path|dir|directory|folder|root|location)\b|"
                   r"\broot (dir|directory|folder|path) of (the )?(data|dataset)|"
                   r"\b(folder|directory|dir) (containing|with) (the )?(training )?(data|images)\b|"
                   r"\bpath to (the )?(training|train) (data|set|file|images)\b|"
                   r"\b(path|dir|directory|folder)\s+or\s+(hub\s+)?name\s+(of|for)\s+(the\s+)?(training\s+)?"
                   r"(data|dataset)\b|\bname\s+or\s+(local\s+)?path\s+(of|to|for)\s+(the\s+)?(training\s+)?"
                   r"(data|dataset)\b"),
        name_veto=_Lazy(r"\b(id|hub)\b"),
        veto=_Lazy(r"\b(output\w*|save\w*|writ\w*|cach\w*|checkpoint\w*|model\w*|logs?|hub|"
                   r"huggingface|download\w*|eval\w*|test\w*|val|valid\w*|config\w*|vocab\w*|tokeniz\w*|"
                   r"pretrain\w*|class|classes|prior|mask\w*|label\w*|annotation\w*|weight\w*|sample\w*|"
                   r"result\w*|pred\w*|embed\w*|feature\w*|index|meta\w*|split\w*)\b"),
        types=("str", "path")),
    "config": _Rule(
        name=_Lazy(r"^(config|cfg|conf|configuration|yaml)_?(file|path|yaml|filepath|fname|filename|loc|"
                   r"location)?s?$"),
        help=_Lazy(r"\b(config|configuration|yaml|option|options|settings|experiment)\s+(file|yaml|path)s?\b|"
                   r"\bpaths? to (the |a )?(\w+ )?(yaml |json )?(config|configuration)s?\b"),
        veto=_Lazy(r"\b(pretrained|names?|model|deepspeed|accelerate|tokenizer|overrid\w*|hub|huggingface|"
                   r"hf|print\w*|dump\w*|save\w*|output\w*|write\w*|generat\w*|logging)\b"),
        types=("str", "path")),
}
# Help words that overrule an alias: the option is something else despite its name.
ALIAS_VETO: dict[str, _Lazy] = {
    "output_dir": _Lazy(r"\b(load\w*|resum\w*|pretrained|restor\w*|read from|input|initiali[sz]\w*)\b"),
    "data_path": _Lazy(r"\b(output|save|write|cache|class path)\b"),
    "folds": _Lazy(r"\b(index|which fold|fold to (use|run|train))\b"),
    "config": _Lazy(r"\b(pretrained|config name)\b"),
}
# Help that says the value given is not used as given: no role's value should go there.
IGNORED = _Lazy(r"\b(computed|calculated|set|determined|filled|overwritten|overridden) (in|at|during) "
                r"run-?time\b|\b(auto(matically)?|dynamically) (computed|calculated|set|determined)\b|"
                r"^(deprecated|unused)\b|\bdeprecated[.:]|\(deprecated\)")
_PATH_ROLES = ("output_dir", "data_path", "config")
_FILE_DEFAULT = _Lazy(r"\.(pt|pth|ckpt|bin|pkl|h5|json|txt|csv|npz|npy|safetensors|model|onnx|log)$", re.I)


@lru_cache(maxsize=4096)
def _ignored(help: str) -> bool:
    return bool(IGNORED.search(help.lower()))


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


@lru_cache(maxsize=4096)
def _described(option: Option) -> tuple[list[str], str, str | None]:
    """An option's name words, the first clause of its help, and its type (computed once)."""
    return words(option.primary), first_clause(option.help), _type_of(option)


def _evidence(role: str, rule: _Rule, option: Option) -> tuple[int, str] | None:
    """(tier, what) when the source says `option` is the role's: tier 0 its help or name, tier 1
    a weaker name, tier 2 a demoted one (a TensorBoard folder); None otherwise."""
    if not option.takes_value or _unfit(role, option):
        return None
    named, clause, kind = _described(option)
    if kind is not None and rule.types and kind not in rule.types:
        return None
    text = " ".join(named)
    if rule.veto.search(text) or (clause and rule.veto.search(clause)):
        return None
    if rule.name_veto is not None and rule.name_veto.search(text):
        return None
    demoted = 2 if rule.demote is not None and (rule.demote.search(text) or rule.demote.search(clause)) else 0
    if clause and rule.help.search(clause):
        return max(demoted, 0), f"its help ({option.help!r})"
    if rule.name.match("_".join(named)):
        return max(demoted, 0), "its name" + (f" and type ({kind})" if kind else "")
    if rule.weak is not None and rule.weak.match("_".join(named)):
        return max(demoted, 1), "its name"
    return None


def _unfit(role: str, option: Option) -> bool:
    """Options a value cannot go to: one whose help says it is not used as given; for a path role,
    a fixed set of choices, a class, a file name."""
    if option.help and _ignored(option.help):
        return True
    if role not in _PATH_ROLES:
        return False
    if option.type in ("choice", "class"):
        return True
    return role == "output_dir" and isinstance(option.default, str) and bool(_FILE_DEFAULT.search(option.default))


def _vetoed(role: str, spelling: str, owners: Mapping[str, Option]) -> bool:
    """An alias whose help or kind says it is something else (`--model_dir` "path to a pretrained model")."""
    option = owners.get(spelling)
    if option is None:
        return False
    veto = ALIAS_VETO.get(role)
    return _unfit(role, option) or bool(veto is not None and option.help and veto.search(_described(option)[1]))


def _home(roles: Mapping[str, str | None], owners: Mapping[str, Option]) -> str | None:
    """The subcommand the roles found so far belong to (None: top level, or none found)."""
    subs = [owners[s].subcommand for s in roles.values() if s and s in owners]
    if not subs or None in subs:
        return None
    return Counter(subs).most_common(1)[0][0]   # ties: the first role's subcommand


def _from_evidence(role: str, options: Sequence[Option], taken: set[str], home: str | None,
                   notes: list[str]) -> str | None:
    rule = RULES.get(role)
    if rule is None:
        return None
    found: dict[str, tuple[tuple[int, int], Option, str]] = {}
    for option in options:
        if any(s in taken for s in option.strings):
            continue
        evidence = _evidence(role, rule, option)
        if evidence is not None:
            rank = (0 if option.subcommand == home else 1, evidence[0])
            if option.primary not in found or rank < found[option.primary][0]:
                found[option.primary] = (rank, option, evidence[1])
    if not found:
        return None
    best = min(rank for rank, _, _ in found.values())
    chosen = [(o, why) for rank, o, why in found.values() if rank == best]
    if len(chosen) > 1:
        names = " and ".join(o.primary for o, _ in chosen)
        notes.append(f"{role}: {names} could each be it; neither is used (name one in the job file's flags:)")
        return None
    option, why = chosen[0]
    notes.append(f"{role}: {option.primary}, from {why}")
    return option.primary
