"""A repository's Python sources as the planning stages read them: parsed once, imports resolved
to the repository's own files the way Python would find them, nothing imported or run.

`Sources(root)` is shared by the stages of one planning pass. `module(path)` parses a file
(cached per path; `None` when it cannot be read or parsed). `resolve(importer, module, level)`
finds the file an import statement in `importer` names: relative imports from the importer's
package; absolute ones from the importer's folder (Python's `sys.path[0]` for a script), then
each folder above it up to the root (scripts are often run from there), the root itself and
`root/src`. Imports that leave the repository (installed packages, the standard library)
resolve to None. Every file read is remembered with its content hash (`digests`), so a cache
entry can cover all the files a result depended on.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ParsedModule:
    """One parsed source file."""

    path: Path
    tree: ast.Module
    source: bytes
    digest: str


class Sources:
    """Parsed modules of one repository, and where its imports lead."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._parsed: dict[Path, ParsedModule | None] = {}
        self.digests: dict[str, str] = {}       # root-relative POSIX path -> sha256 of every file read

    def read(self, path: Path) -> bytes | None:
        """The bytes of a file inside the root (recorded in `digests`); None if unreadable or outside."""
        path = path.resolve()
        if not path.is_relative_to(self.root):
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        self.digests[path.relative_to(self.root).as_posix()] = hashlib.sha256(data).hexdigest()
        return data

    def module(self, path: Path) -> ParsedModule | None:
        """The parsed file, or None when it is unreadable, outside the root or not valid Python."""
        path = path.resolve()
        if path not in self._parsed:
            self._parsed[path] = self._parse(path)
        return self._parsed[path]

    def _parse(self, path: Path) -> ParsedModule | None:
        data = self.read(path)
        if data is None:
            return None
        try:
            tree = ast.parse(data, filename=str(path))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return ParsedModule(path, tree, data, self.digests[path.relative_to(self.root).as_posix()])

    def resolve(self, importer: Path, module: str | None, level: int = 0) -> Path | None:
        """The repository file that `from <level dots><module> import ...` in `importer` loads.

        A package resolves to its `__init__.py`. None when the import leads outside the
        repository or to nothing.
        """
        parts = module.split(".") if module else []
        for base in self._bases(importer.resolve(), level):
            found = _locate(base, parts)
            if found is not None and found.resolve().is_relative_to(self.root):
                return found
        return None

    def resolve_member(self, importer: Path, module: str | None, name: str, level: int = 0) -> Path | None:
        """For `from module import name`: the file of submodule `name` when it is one (also in a
        namespace package, which has no `__init__.py`), else None."""
        return self.resolve(importer, f"{module}.{name}" if module else name, level)

    def _bases(self, importer: Path, level: int) -> list[Path]:
        if level:
            base = importer.parent
            for _ in range(level - 1):
                base = base.parent
            return [base] if base.is_relative_to(self.root) else []
        bases = [importer.parent]
        folder = importer.parent
        while folder != self.root and folder.is_relative_to(self.root):
            folder = folder.parent
            bases.append(folder)
        if self.root not in bases:
            bases.append(self.root)
        bases.append(self.root / "src")
        return bases


def _locate(base: Path, parts: list[str]) -> Path | None:
    """`base/a/b.py` or `base/a/b/__init__.py` for parts [a, b]; `base/__init__.py` for []."""
    if not parts:
        init = base / "__init__.py"
        return init if init.is_file() else None
    folder = base.joinpath(*parts[:-1])
    module = folder / f"{parts[-1]}.py"
    if module.is_file():
        return module
    init = folder / parts[-1] / "__init__.py"
    return init if init.is_file() else None
