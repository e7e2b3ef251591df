"""Reading YAML settings files with errors that name the file, the key and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import DataError

_MISSING = object()


def read_yaml(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataError(f"{path}:{line} invalid YAML: {problem}") from None
    if data is None:
        raise DataError(f"{path}: file is empty")
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data


class Section:
    """One mapping of a settings file: rejects unknown keys, returns typed values.

    Errors read "FILE: key.path: problem".
    """

    def __init__(self, data: Any, file: Path, allowed: tuple[str, ...], keys: str = "") -> None:
        self.file, self.keys = file, keys
        if not isinstance(data, dict):
            raise DataError(f"{self.where}: expected a mapping, got {type(data).__name__}")
        unknown = [key for key in data if key not in allowed]
        if unknown:
            raise DataError(f"{self.locate(str(unknown[0]))}: unknown key; expected one of "
                            f"{', '.join(allowed)}")
        self.data = data

    @property
    def where(self) -> str:
        return f"{self.file}: {self.keys}" if self.keys else str(self.file)

    def locate(self, key: str) -> str:
        """"FILE: key.path.key" for messages about `key`."""
        return f"{self.file}: {self.keys + '.' if self.keys else ''}{key}"

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        """The value of `key` (or `default`), which must be of `kind` (None allowed when the
        default is None); bools are not accepted as ints."""
        if key not in self.data:
            if default is _MISSING:
                raise DataError(f"{self.locate(key)}: missing")
            return default
        value = self.data[key]
        if value is None and default is None:
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise DataError(f"{self.locate(key)}: expected {names}, got {value!r}")
        return value

    def section(self, key: str, allowed: tuple[str, ...]) -> "Section":
        """A nested mapping (empty when absent)."""
        keys = f"{self.keys}.{key}" if self.keys else key
        return Section(self.data.get(key) or {}, self.file, allowed, keys)

    def positive(self, key: str, default: Any, minimum: int = 1) -> int | None:
        """An integer of at least `minimum` (folds need 2)."""
        value = self.get(key, int, default)
        if value is not None and value < minimum:
            raise DataError(f"{self.locate(key)}: must be at least {minimum}, got {value}")
        return value
