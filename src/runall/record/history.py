"""Durations of earlier runs, read from their manifests, to start the longest jobs first."""

from __future__ import annotations

from pathlib import Path

from runall.errors import UsageError
from runall.model import JobStatus
from runall.record.manifest import MANIFEST, Manifest


def expected_durations(runs_dir: Path, max_runs: int = 20) -> dict[str, float]:
    """Per job id, the duration of its latest successful run among the newest `max_runs` runs."""
    try:
        found = [p / MANIFEST for p in runs_dir.iterdir() if not p.is_symlink() and (p / MANIFEST).is_file()]
    except OSError:
        return {}
    manifests = sorted(found, key=_mtime, reverse=True)[:max_runs]
    durations: dict[str, float] = {}
    for path in manifests:
        try:
            outcomes = Manifest.outcomes(path.parent)
        except UsageError:
            continue
        for job_id, (status, duration) in outcomes.items():
            if status == JobStatus.SUCCEEDED.value and isinstance(duration, (int, float)):
                durations.setdefault(job_id, float(duration))
    return durations


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0
