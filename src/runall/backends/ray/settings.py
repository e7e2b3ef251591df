"""Where the Ray cluster is: `--ray-address`, then `RAY_ADDRESS`, then `[tool.runall.ray] address`;
none of them means a local Ray instance started for the run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from runall.errors import UsageError

ADDRESS_VAR = "RAY_ADDRESS"
_KEYS = ("address",)

Locate = Callable[[str], str]      # key -> where, e.g. `pyproject.toml:12: [tool.runall.ray] address`


@dataclass(frozen=True)
class RaySettings:
    """The cluster to run on: `address` (`host:port` of its head, `ray://...`, `auto`), or None
    for a local instance started for the run; `source` says where the address came from."""

    address: str | None = None
    source: str = "default"

    @property
    def embedded(self) -> bool:
        return self.address is None


def parse_settings(table: Any, flag: str | None, environ: Mapping[str, str] = os.environ,
                   locate: Locate = lambda key: f"[tool.runall.ray] {key}") -> RaySettings:
    """Validate `[tool.runall.ray]` (errors name the file, line and key) and pick the address."""
    if not isinstance(table, Mapping):
        raise UsageError("must be a table", where="[tool.runall.ray]")
    for key, value in table.items():
        if key not in _KEYS:
            raise UsageError(f"unknown key '{key}' (known: {', '.join(_KEYS)})", where=locate(key))
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"'{key}' must be a non-empty string such as '10.0.0.5:6379', got {value!r}",
                             where=locate(key))
    for address, source in ((flag, "--ray-address"), (environ.get(ADDRESS_VAR), ADDRESS_VAR),
                            (table.get("address"), locate("address"))):
        if address and address.strip():
            address = address.strip()
            return RaySettings(None if address == "local" else address, source)
    return RaySettings()
