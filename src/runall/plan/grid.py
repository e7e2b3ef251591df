"""Parameter grids: `{lr: [0.1, 0.01], epochs: [5, 10]}` -> one member per combination.

Combinations are produced one at a time, after their number is checked against a limit
(`max_jobs`), so a grid too big to run is refused before anything is built.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterable, Iterator, Mapping

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


def size(grid: Mapping[str, list[Any]]) -> int:
    """How many combinations the grid has (1 for no grid)."""
    return math.prod(len(values) for values in grid.values())


def expand(grid: Mapping[str, list[Any]], limit: int | None = None, where: str = "--grid") -> Iterator[dict[str, Any]]:
    """Every combination of the grid's values, in declaration order ({} alone for no grid);
    UsageError before the first one when there are more than `limit`."""
    if limit is not None and size(grid) > limit:
        room = f"max_jobs leaves room for {limit:,} more (raise it with --max-jobs or [tool.runall] max_jobs)"
        if not grid:
            raise UsageError(f"too many jobs: {room}", where=where)
        shape = " x ".join(f"{key}={len(values)}" for key, values in grid.items())
        raise UsageError(f"the grid makes {size(grid):,} jobs ({shape}); {room}", where=where)
    keys = list(grid)
    return (dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys)))
