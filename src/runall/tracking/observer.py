"""Hooking tracking into a run: the run's reporter, plus the tracker when tracking is on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from runall.tracking.config import TrackingConfig

if TYPE_CHECKING:
    from runall.run.events import JobEvent, Reporter, RunResult
    from runall.record.manifest import Manifest


class Tee:
    """A Reporter that hands every event and the result to several reporters, in order."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = reporters

    def on_event(self, event: JobEvent) -> None:
        for reporter in self.reporters:
            reporter.on_event(event)

    def on_finish(self, result: RunResult) -> None:
        for reporter in self.reporters:
            reporter.on_finish(result)


def observe(reporter: Reporter, config: TrackingConfig | None, manifest: Manifest, root: Path) -> Reporter:
    """`reporter` as is when tracking is off; else it and an MlflowReporter for this run, which
    hands the parent run's entry back to be recorded as the manifest's `tracking`."""
    if config is None:
        return reporter
    from runall.tracking.mlflow_reporter import MlflowReporter     # loaded only for a tracked run

    def record(entry: dict[str, Any]) -> None:
        manifest.set_meta(tracking=entry)
        manifest.save()

    return Tee(reporter, MlflowReporter(config, manifest, root, record))
