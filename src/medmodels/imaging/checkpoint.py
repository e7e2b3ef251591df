"""Training progress saved after every epoch (and on SIGTERM), restored on a rerun."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass
class Progress:
    """Where training stands: run (CV fold, then the final fit), epoch and next batch."""

    fingerprint: dict[str, Any]
    run: int = 0
    epoch: int = 0
    batch: int = 0
    loss_sum: float = 0.0            # over the batches of the current epoch so far
    seen: int = 0
    fold_scores: list[dict[str, float]] = field(default_factory=list)
    loss_history: list[list[float]] = field(default_factory=list)  # per run, mean loss per epoch
    model_state: dict[str, Any] | None = None       # weights of the run in progress
    optimizer_state: dict[str, Any] | None = None

    def position(self) -> dict[str, int]:
        return {"run": self.run, "epoch": self.epoch, "batch": self.batch}


def save(path: Path, progress: Progress) -> None:
    """Write through a temporary file and a rename, so a kill never leaves half a checkpoint."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save(asdict(progress), temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path, fingerprint: dict[str, Any]) -> Progress | None:
    """The saved progress when it exists and was made with the same settings and data."""
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        progress = Progress(**saved)
    except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint is replaced, not fatal
        print(f"ignoring unreadable checkpoint {path}: {exc}", file=sys.stderr)
        return None
    if progress.fingerprint != fingerprint:
        changed = sorted(k for k in fingerprint if progress.fingerprint.get(k) != fingerprint[k])
        print(f"ignoring checkpoint {path}: made with different {', '.join(changed)}; "
              "starting afresh", file=sys.stderr)
        return None
    return progress
