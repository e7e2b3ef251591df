"""MlflowReporter: records a run in MLflow as it happens, as an observer of the runner.

A parent run per orchestrator run and a child run per job, logged as soon as the job ends.
Every MLflow call (the import included) happens on one background thread, so the run loop
never waits for the store. The first error is reported once on stderr and turns tracking off
for the rest of the run; it never changes a job's outcome or the exit code.
"""

from __future__ import annotations

import copy
import logging
import queue
import shlex
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TextIO

from runall.errors import EXIT_INTERRUPTED, EXIT_OK
from runall.tracking import entries
from runall.tracking.config import INSTALL_COMMAND, TrackingConfig

if TYPE_CHECKING:
    from runall.run.events import JobEvent, RunResult
    from runall.record.manifest import JobRecord, Manifest

WAIT_NOTICE_S = 10.0    # at the end, say so when logging takes longer than this


class MlflowReporter:
    """A Reporter (`on_event`, `on_finish`) that logs to MLflow; `--resume` reuses the parent run."""

    def __init__(self, config: TrackingConfig, manifest: Manifest, root: Path,
                 record: Callable[[dict[str, Any]], None], command: Sequence[str] | None = None,
                 stream: TextIO | None = None) -> None:
        self.config = config
        self.manifest = manifest         # read only; `record` hands the tracking entry back
        self.root = root
        self.record = record
        self.command = list(sys.argv if command is None else command)
        self.stream = stream             # None: sys.stderr at the time of writing
        recorded = manifest.meta.get("tracking")
        # The manifest's `tracking` entry once the parent run exists; handed back on the runner's thread.
        self.entry: dict[str, Any] | None = recorded if recorded and config.matches(recorded) else None
        self._recorded = self.entry
        self._client: Any = None
        self._failed = False
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="mlflow-tracking", daemon=True)
        self._thread.start()
        self._tasks.put(self._open)

    # -- Reporter: called on the runner's thread --------------------------------------------------

    def on_event(self, event: JobEvent) -> None:
        self._hand_back_entry()
        if event.status.final and not event.will_retry:
            self._tasks.put(partial(self._log_job, copy.deepcopy(self.manifest.record(event.job_id))))

    def on_finish(self, result: RunResult) -> None:
        """Close the parent run, wait for everything queued, and note the parent in the manifest."""
        self._tasks.put(partial(self._close, result.exit_code))
        self._tasks.put(None)
        self._thread.join(timeout=WAIT_NOTICE_S)
        if self._thread.is_alive():
            self._say("waiting for MLflow to finish logging (Ctrl-C stops waiting)")
            try:
                self._thread.join()
            except KeyboardInterrupt:
                self._say("warning: stopped waiting for MLflow; the run is not fully recorded there")
        self._hand_back_entry()

    def _hand_back_entry(self) -> None:
        """Give the run the parent run's entry once it exists (on the runner's thread)."""
        entry = self.entry
        if entry is not None and entry is not self._recorded:
            self._recorded = entry
            self.record(entry)

    # -- the background thread ------------------------------------------------------------------

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            if self._failed:
                continue
            try:
                task()
            except Exception as exc:  # noqa: BLE001 - any tracking failure must leave the run alone
                self._failed = True
                self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        lines = str(exc).strip().splitlines()
        detail = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        if isinstance(exc, ImportError):
            detail += f" (install it with: {INSTALL_COMMAND})"
        self._say(f"warning: MLflow tracking at {self.config.tracking_uri} failed, nothing more is "
                  f"logged there in this run: {detail}")

    def _say(self, text: str) -> None:
        print(f"runall: {text}", file=self.stream or sys.stderr, flush=True)

    def _open(self) -> None:
        """Import MLflow, then start the parent run, or mark the recorded one running again."""
        from mlflow import MlflowClient
        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._client = client = MlflowClient(tracking_uri=self.config.tracking_uri)
        data = self.manifest.meta
        if self.entry is not None:
            parent = self.entry["parent_run_id"]
            client.update_run(parent, status="RUNNING")
            client.set_tag(parent, "runall.resumed", str(len(data.get("resumed", []))))
            client.set_tag(parent, "runall.resume_command", shlex.join(self.command))
            return
        experiment = client.get_experiment_by_name(self.config.experiment)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(
            self.config.experiment, artifact_location=self.config.artifact_location)
        run = client.create_run(experiment_id, run_name=data["run_id"], tags=entries.run_tags(data, self.command),
                                start_time=entries.epoch_ms(data.get("created")))
        self.entry = {"backend": "mlflow", "tracking_uri": self.config.tracking_uri,
                      "experiment": self.config.experiment, "experiment_id": experiment_id,
                      "parent_run_id": run.info.run_id}

    def _log_job(self, record: JobRecord) -> None:
        """One child run for a job that ended: params, metrics, tags, artifacts, final state."""
        from mlflow.entities import Metric, Param, RunTag
        assert self.entry is not None
        client, data = self._client, self.manifest.meta
        end = entries.epoch_ms(record.end) or int(time.time() * 1000)
        tags = {**entries.job_tags(record, data, self.root), "mlflow.parentRunId": self.entry["parent_run_id"]}
        run_id = client.create_run(self.entry["experiment_id"], run_name=record.id, tags=tags,
                                   start_time=entries.epoch_ms(record.start) or end).info.run_id
        output_dir = record.job.output_dir
        document = entries.read_document(self.root / output_dir / "metrics.json") if output_dir else {}
        client.log_batch(
            run_id,
            metrics=[Metric(key, value, end, step) for key, value, step in entries.metric_series(document)],
            params=[Param(key, value) for key, value in entries.job_params(record).items()],
            tags=[RunTag(key, value) for key, value in entries.document_tags(document).items()])
        for path, folder in entries.job_files(record, self.manifest.run_dir, self.root):
            client.log_artifact(run_id, str(path), folder)
        client.set_terminated(run_id, status=entries.RUN_STATUS.get(record.status.value, "FAILED"), end_time=end)

    def _close(self, exit_code: int) -> None:
        assert self.entry is not None
        status = {EXIT_OK: "FINISHED", EXIT_INTERRUPTED: "KILLED"}.get(exit_code, "FAILED")
        self._client.set_terminated(self.entry["parent_run_id"], status=status)
