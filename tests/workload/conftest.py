"""Fixtures of the workload tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest

from .support import run_script

QuickRun = Callable[..., tuple[Path, subprocess.CompletedProcess]]


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """Run a script once per session with the given arguments plus an output directory;
    returns (output dir, completed process). Tests sharing a run share its cost."""
    cache: dict[tuple, tuple[Path, subprocess.CompletedProcess]] = {}

    def run(script: str, *args: str, out_flag: str = "--output-dir") -> tuple[Path, subprocess.CompletedProcess]:
        key = (script, args, out_flag)
        if key not in cache:
            out = tmp_path_factory.mktemp(Path(script).stem)
            cache[key] = out, run_script(script, *args, out_flag, out)
        return cache[key]
    return run
