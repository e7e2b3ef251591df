"""The frameworks the flags stage reads, one module each, loaded only when a script uses them.

A registry line names the module, the top-level packages whose names wake it (a script
importing from them) and the builtins it claims. Packages named here are never looked for
inside the repository: their code is the framework's, not the script's.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from runall.plan.flags.framework import Framework


@dataclass(frozen=True)
class Entry:
    module: str                       # runall.plan.flags.frameworks.<module>, defining FRAMEWORK
    roots: tuple[str, ...] = ()       # import roots that wake it
    builtins: tuple[str, ...] = ()    # builtin calls it claims
    always: bool = False              # awake for every script (argparse: parsers also come from elsewhere)


REGISTRY: tuple[Entry, ...] = (
    Entry("argparse", roots=("argparse", "configargparse"), always=True),
    Entry("hf", roots=("transformers", "trl")),
    Entry("click", roots=("click",)),
    Entry("typer", roots=("typer",)),
    Entry("fire", roots=("fire",)),
    Entry("absl", roots=("absl", "ml_collections", "tensorflow")),
    Entry("lightning", roots=("lightning", "pytorch_lightning")),
    Entry("hydra", roots=("hydra",)),
    Entry("jsonargparse", roots=("jsonargparse",)),
    Entry("docopt", roots=("docopt",)),
    Entry("tyro", roots=("tyro",)),
    Entry("configurator", roots=("sys",), builtins=("exec",)),
)

BY_ROOT: dict[str, tuple[Entry, ...]] = {}
for _entry in REGISTRY:
    for _root in _entry.roots:
        BY_ROOT[_root] = (*BY_ROOT.get(_root, ()), _entry)
BY_BUILTIN: dict[str, tuple[Entry, ...]] = {}
for _entry in REGISTRY:
    for _name in _entry.builtins:
        BY_BUILTIN[_name] = (*BY_BUILTIN.get(_name, ()), _entry)


def load(entry: Entry) -> type[Framework]:
    """The framework class of a registry entry (its module is imported on first use)."""
    return importlib.import_module(f"{__name__}.{entry.module}").FRAMEWORK
