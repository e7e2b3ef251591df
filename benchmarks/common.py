"""What every benchmark shares: timing commands, interleaving runs, and the result record."""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

REPO = Path(__file__).resolve().parents[1]
RUNALL = [sys.executable, str(REPO / "run_all_training.py")]
BYTECODE_DISABLED = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))   # in the caller's environment


@dataclass
class Section:
    """One benchmark's result: what RESULTS.md shows, and the raw samples behind it."""

    key: str
    title: str
    target: str                      # the target, "" when it sets none
    met: bool | None                 # None: no target
    headline: str                    # the figure the summary table shows
    commands: list[str]              # exactly what was timed, shell-quoted
    table: list[list[str]]           # first row is the header
    details: list[list[str]] = field(default_factory=list)   # an optional last table, same form
    extra_tables: list[list[list[str]]] = field(default_factory=list)   # shown between table and details
    notes: list[str] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)   # 1-minute load average before and after
    raw: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prepare_environment() -> None:
    """Let every command write and reuse .pyc files, as in a normal installation."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def load1() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def shown(argv: Sequence[str]) -> str:
    """A command as a shell line, with paths inside the repository made relative to it."""
    prefix = str(REPO) + os.sep
    return shlex.join("." if a == str(REPO) else a.replace(prefix, "") if a.startswith(prefix) else a
                      for a in argv)


def run_checked(argv: Sequence[str], cwd: Path | None = None, stdin: bytes | None = None) -> None:
    """Run a command with its output kept aside; raise with the end of its output when it fails."""
    with tempfile.TemporaryFile() as out:
        done = subprocess.run(list(argv), cwd=cwd, input=stdin, stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            out.seek(max(0, out.tell() - 3000))
            raise RuntimeError(f"{shown(argv)} exited {done.returncode}: {out.read().decode(errors='replace')}")


def time_command(argv: Sequence[str], cwd: Path | None = None, stdin: bytes | None = None) -> float:
    """Wall-clock seconds of one run of a command (output kept aside; failure raises)."""
    start = time.perf_counter()
    run_checked(argv, cwd, stdin)
    return time.perf_counter() - start


def interleave(cases: Mapping[str, Callable[[], float]], reps: int) -> dict[str, list[float]]:
    """Run the cases in turn (A B C A B C ...) `reps` times; returns each case's samples."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(reps):
        for name, case in cases.items():
            samples[name].append(case())
    return samples


def fresh_dir(path: Path) -> Path:
    """An empty directory at `path` (removed first if it exists)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def write_script(path: Path, text: str) -> None:
    """Write a file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def secs(value: float) -> str:
    return f"{value:.3f} s"


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def samples_cell(values: Sequence[float]) -> str:
    """Every sample, for the table: `0.51 0.49 0.52`."""
    return " ".join(f"{v:.3f}" for v in values)
