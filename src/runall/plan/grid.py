"""Parameter grids: `{lr: [0.1, 0.01], epochs: [5, 10]}` -> one member per combination."""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Mapping

from runall.errors import UsageError


def parse_grid_option(values: Iterable[str]) -> dict[str, list[str]]:
    """`--grid epochs=5,10 --grid lr=0.1` -> `{"epochs": ["5", "10"], "lr": ["0.1"]}`."""
    grid: dict[str, list[str]] = {}
    for value in values:
        key, sep, options = value.partition("=")
        members = [v.strip() for v in options.split(",") if v.strip()]
        if not sep or not key.strip() or not members:
            raise UsageError(f"expected NAME=V1,V2,..., got {value!r}", where="--grid")
        grid[key.strip()] = members
    return grid


def member_suffix(combination: Mapping[str, Any]) -> str:
    """The readable, stable part a grid member adds to its job id: `@epochs=5,lr=0.01`."""
    return "@" + ",".join(f"{key}={value}" for key, value in combination.items())


def expand(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in declaration order; [{}] for no grid."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
