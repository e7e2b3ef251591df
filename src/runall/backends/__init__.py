"""Where job attempts run: the protocol (`base`) and one package per backend, found by name.

A new backend is one new package implementing `base.Backend` plus one line in `_REGISTRY`.
Nothing here imports a backend until it is asked for, so listing stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_REGISTRY = {
    "local": "runall.backends.local.backend:LocalBackend",
    "slurm": "runall.backends.slurm.backend:SlurmBackend",
    "ray": "runall.backends.ray.backend:RayBackend",
}
NAMES = tuple(_REGISTRY)


def backend_class(name: str) -> Any:
    """The Backend class registered as `name` (a KeyError for an unknown name)."""
    module, _, attribute = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attribute)
