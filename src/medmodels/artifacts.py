"""Files a run leaves in its output directory, written atomically."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import DataError

DEFAULT_OUTPUT_BASE = Path("results")
LIBRARIES = ("numpy", "pandas", "scikit-learn", "joblib")


def output_dir(requested: Path | None, model_id: str) -> Path:
    """`requested`, or results/<model id>; created if missing."""
    path = Path(requested) if requested is not None else DEFAULT_OUTPUT_BASE / model_id
    if path.exists() and not path.is_dir():
        raise DataError(f"{path}: output directory is a file")
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, document: Any) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2, sort_keys=False)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def library_versions() -> dict[str, str]:
    """Python and the versions of the libraries the run used (torch once it is imported)."""
    names = (*LIBRARIES, "torch") if "torch" in sys.modules else LIBRARIES
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def jsonable(value: Any) -> Any:
    """Arguments as JSON values: paths become strings, containers are converted recursively."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def write_run_config(out: Path, model_id: str, script: str, args: argparse.Namespace,
                     resolved: dict[str, Any]) -> None:
    """run_config.json: the command line as given and every setting after defaults applied."""
    write_json(out / "run_config.json", {
        "model_id": model_id, "script": str(script), "argv": sys.argv[1:],
        "arguments": jsonable(vars(args)), "resolved": jsonable(resolved)})
