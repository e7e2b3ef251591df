"""A run from start to end: a new run (`start`), `--resume` (`resume`), a detached submission,
`--status` (`status`) and `--dry-run`'s submission preview (`preview`).

Everything arrives resolved and typed (`RunRequest`); this module builds the backend through
the registry, the scheduler, the reporter and the runner, and writes the reports however the
run ended.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence, TextIO

import psutil

from runall.backends import backend_class
from runall.backends.base import Backend, LaunchSpec, shell_comment
from runall.config import ExecutionOptions, ReportOptions
from runall.errors import RecordError, UsageError
from runall.model import Job, JobStatus
from runall.plan.checks import check_plan
from runall.record.history import expected_durations
from runall.record.manifest import Manifest, iso, new_run_id, update_latest
from runall.record.reports import json_report, write_reports
from runall.run.events import Reporter
from runall.run.locks import RunLock
from runall.run.resources import Allocation, Capacity, ResourcePool, check_jobs, describe, wanted
from runall.run.runner import Runner, job_token, launch_spec, log_name
from runall.run.scheduler import Scheduler
from runall.tracking.config import TrackingConfig
from runall.tracking.observer import observe
from runall.view.guard import Guarded, discard_output
from runall.view.plain import PlainReporter

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class RunRequest:
    """Everything a run needs besides its jobs, resolved by the CLI."""

    root: Path
    runs_dir: Path
    execution: ExecutionOptions = ExecutionOptions()
    report: ReportOptions = ReportOptions()
    backend: str = "local"
    backend_settings: Any = None
    tracking: TrackingConfig | None = None
    run_id: str | None = None
    detach: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)    # recorded in the manifest
    overrides: Mapping[str, Any] = field(default_factory=dict)   # per-job values the command line set
    command: Sequence[str] = ()     # how to call runall again for this repository (the resume hint)

    def jobs(self, jobs: Sequence[Job]) -> list[Job]:
        """`jobs` with the command line's per-job values (`--timeout`, `--retries`) applied: the
        command line wins over the job file, which wins over `[tool.runall]`."""
        return [replace(job, **self.overrides) for job in jobs] if self.overrides else list(jobs)


def make_backend(request: RunRequest, jobs: Sequence[Job]) -> Backend[Any]:
    """The request's backend for these jobs; UsageError when it cannot take them."""
    backend = backend_class(request.backend).create(jobs, request.execution, request.backend_settings)
    check_run(jobs, backend.capacity())
    return backend


def check_run(jobs: Sequence[Job], capacity: Capacity) -> None:
    """Everything that must hold before anything starts: the plan's rules, and room for each job."""
    check_plan(jobs)
    check_jobs(jobs, capacity)


def start(jobs: Sequence[Job], request: RunRequest, reporter: Reporter | None = None) -> int:
    """Run the jobs in a new run directory (or submit them, detached); returns the exit code.

    The run directory is created exclusively and locked before anything is written, so a
    second process given the same `--run-id` stops with a usage error. When it cannot be
    written at all (full disk, read-only file system), nothing is left behind: RecordError.
    """
    jobs = request.jobs(jobs)
    backend = make_backend(request, jobs)
    if request.detach and not backend.can_detach:
        raise UsageError(f"the {request.backend} backend cannot detach; use a cluster backend such as --backend slurm",
                         where="--detach")
    run_id = request.run_id or new_run_id()
    if not _RUN_ID.fullmatch(run_id) or run_id == "latest":
        raise UsageError(f"invalid run id {run_id!r} (letters, digits, '.', '_', '-')", where="--run-id")
    run_dir = request.runs_dir / run_id
    expected = expected_durations(request.runs_dir)
    try:
        request.runs_dir.mkdir(parents=True, exist_ok=True)
        run_dir.mkdir()
    except FileExistsError:
        raise UsageError(f"run {run_id!r} already exists; use --resume {run_id}", where="--run-id") from None
    except OSError as exc:
        raise RecordError(exc.filename or run_dir, exc) from None
    lock = RunLock.acquire(run_dir, "--run-id")
    try:
        capacity = backend.capacity()
        with _prepared(backend):
            try:
                manifest = Manifest.create(run_dir, jobs, root=request.root, meta={
                    "settings": dict(request.settings), "options": request.execution.to_dict(),
                    "capacity": capacity.to_dict(), "orchestrator": _orchestrator(), "backend": request.backend})
                update_latest(request.runs_dir, run_id)
            except RecordError:
                shutil.rmtree(run_dir, ignore_errors=True)
                raise
            _record_lineage(manifest, jobs, request, capacity)
            if request.detach:
                return _submit(manifest, jobs, backend, request)
            return _execute(manifest, jobs, backend, capacity, request, reporter, expected)
    finally:
        lock.release()


@contextmanager
def _prepared(backend: Backend[Any]) -> Iterator[None]:
    """Let a backend that can get ready in the background (`prepare`) do so while the run is
    recorded; closed again when anything fails before the run loop's own clean-up."""
    prepare = getattr(backend, "prepare", None)
    if prepare is not None:
        prepare()
    try:
        yield
    except BaseException:
        backend.close()
        raise


def resume(manifest: Manifest, request: RunRequest, jobs: Sequence[Job] | None = None,
           reporter: Reporter | None = None) -> int:
    """Rerun, in the same run directory, `jobs` (default: every job of `manifest` that did not
    succeed); the others keep their recorded outcome.

    The run is locked first (a second `--resume` of it stops with a usage error) and its
    manifest read again under the lock."""
    lock = RunLock.acquire(manifest.run_dir, "--resume")
    try:
        manifest = Manifest.load(manifest.run_dir)
        _refuse_if_running(manifest)
        if jobs is None:
            jobs = [rec.job for rec in manifest.records() if rec.status is not JobStatus.SUCCEEDED]
        jobs = request.jobs(jobs)
        backend = make_backend(request, jobs)
        backend.kill_stale([manifest.record(job.id).backend_ref or {"token": job_token(manifest.token, job.id)}
                            for job in jobs])
        for job in jobs:
            manifest.reset_for_resume(job.id)
        capacity = backend.capacity()
        with _prepared(backend):
            _record_lineage(manifest, jobs, request, capacity)
            manifest.set_meta(status="running", exit_code=None, finished=None, options=request.execution.to_dict(),
                              capacity=capacity.to_dict(), backend=request.backend, orchestrator=_orchestrator(),
                              resumed=[*manifest.meta.get("resumed", []), iso(time.time())])
            manifest.save()
            return _execute(manifest, jobs, backend, capacity, request, reporter,
                            expected_durations(request.runs_dir))
    finally:
        lock.release()


def preview(jobs: Sequence[Job], request: RunRequest) -> str:
    """`--dry-run`: what the backend would run or submit for each job's first attempt; RUN_ID
    stands for the run id unless `--run-id` names one."""
    backend = make_backend(request, jobs)
    capacity = backend.capacity()
    run_id = request.run_id or "RUN_ID"
    specs = [_first_spec(request.runs_dir / run_id, run_id, job, request, capacity) for job in jobs]
    text = backend.preview(specs)
    if request.report.verbose:
        text += shell_comment(f"resources: {capacity.slots} at a time, {capacity.cpus} cores, "
                              f"GPUs: {','.join(capacity.gpu_ids) or 'none'}") + "\n"
        text += "".join(shell_comment(f"  {job.id}: {describe(job, capacity)}") + "\n" for job in jobs)
    return text


def _first_spec(run_dir: Path, run_token: str, job: Job, request: RunRequest, capacity: Capacity) -> LaunchSpec:
    """A job's first attempt as the runner would hand it over, before GPUs are assigned (`<gpuN>`)."""
    cpus, gpus, pin = wanted(job, capacity)
    allocation = Allocation(cpus, tuple(f"<gpu{i}>" for i in range(gpus)), job.memory or 0, pin)
    return launch_spec(run_dir, run_token, job, allocation, 1, request.root, request.execution.thread_limits)


def _record_lineage(manifest: Manifest, jobs: Sequence[Job], request: RunRequest, capacity: Capacity) -> None:
    """Record what each job's model will come from (code, data, settings, environment)."""
    from runall.record.lineage import record

    record(manifest, jobs, request.root,
           {job.id: _first_spec(manifest.run_dir, manifest.token, job, request, capacity).env for job in jobs})
    manifest.save(wait=False)       # journal lines, written in the background while the first jobs start


def status(manifest: Manifest, request: RunRequest, out: TextIO | None = None) -> int:
    """`--status`: ask the backend once about a detached run's unfinished jobs, record what ended
    (and the run's verdict once all have), print each job. 1 when the backend cannot be asked."""
    lock = RunLock.acquire(manifest.run_dir, "--status")
    try:
        return _status(Manifest.load(manifest.run_dir), request, out or sys.stdout)
    finally:
        lock.release()


def _status(manifest: Manifest, request: RunRequest, out: TextIO) -> int:
    backend = backend_class(request.backend).create([], request.execution, request.backend_settings)
    waiting = {rec.id: backend.reattach(rec.backend_ref) for rec in manifest.records()
               if rec.status is JobStatus.RUNNING and rec.backend_ref}
    try:
        ended = backend.poll(list(waiting.values()), 0) if waiting else []
    except OSError as exc:
        print(f"runall: error: cannot ask the {request.backend} backend: {exc}", file=sys.stderr)
        return 1
    ids = {id(handle): job_id for job_id, handle in waiting.items()}
    for handle, info in ended:
        job_id = ids[id(handle)]
        if info.requeued:
            number = manifest.record(job_id).attempts + 1
            manifest.requeued(job_id, number, f"logs/{log_name(job_id, number)}", end=time.time(),
                              reason=info.reason, backend_ref=handle.ref())
            continue
        manifest.end_attempt(job_id, info.status or JobStatus.FAILED, end=time.time(), exit_code=info.exit_code,
                             signal=info.signal, reason=info.reason)
    if all(rec.status.final for rec in manifest.records()) and manifest.status in ("submitted", "running"):
        manifest.finish()
    manifest.save()
    out.write(render_status(manifest, backend))
    return 0


def render_status(manifest: Manifest, backend: Backend[Any]) -> str:
    """One line per job: id, status, where it ran, and why it ended that way."""
    records = manifest.records()
    width = max([len(rec.id) for rec in records] + [2])
    lines = [f"{'ID':<{width}}  {'STATUS':<10} WHERE"]
    for rec in records:
        ref = rec.backend_ref or (rec.history[-1].backend_ref if rec.history else None)
        lines.append(f"{rec.id:<{width}}  {rec.status.value:<10} {backend.describe(ref) if ref else '-'}"
                     + (f"  {rec.reason}" if rec.reason else ""))
    lines.append(f"Run {manifest.run_id}: {manifest.status}")
    return "\n".join(lines) + "\n"


def make_reporter(report: ReportOptions, jobs: Sequence[Job], expected: Mapping[str, float], workers: int,
                  stream: TextIO | None = None) -> Reporter:
    """The live view on a terminal; plain lines in a pipe, with NO_COLOR, TERM=dumb, --plain or -q."""
    stream = stream or sys.stdout
    commands = {job.id: job.argv for job in jobs} if report.verbose else None
    if (report.quiet or report.plain or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb"
            or not stream.isatty()):
        return PlainReporter(stream, events=not report.quiet, commands=commands)
    from runall.view.live import LiveReporter     # rich is imported only for the live view

    return LiveReporter([job.id for job in jobs], expected=expected, workers=workers, commands=commands)


def _execute(manifest: Manifest, jobs: Sequence[Job], backend: Backend[Any], capacity: Capacity,
             request: RunRequest, reporter: Reporter | None, expected: dict[str, float]) -> int:
    satisfied = [rec.id for rec in manifest.records() if rec.status is JobStatus.SUCCEEDED]
    pool = ResourcePool(capacity) if backend.counts_local_memory else ResourcePool(
        capacity, available_memory=lambda: capacity.memory)
    stream = sys.stderr if request.report.json_stdout else sys.stdout
    reporter = observe(Guarded(reporter or make_reporter(request.report, jobs, expected, capacity.slots, stream)),
                       request.tracking, manifest, request.root)
    runner = Runner(manifest, jobs, Scheduler(jobs, pool, expected, satisfied), backend, reporter,
                    request.execution, request.root)
    try:
        code = runner.run().exit_code
    finally:
        _write_reports(request.report, manifest)
    _say_after(manifest, request, code, stream)
    return code


def _say_after(manifest: Manifest, request: RunRequest, code: int, stream: TextIO) -> None:
    """The JSON report on stdout (`--format json`), and how to resume a run that did not succeed."""
    try:
        if request.report.json_stdout:
            sys.stdout.write(json.dumps(json_report(manifest), indent=2) + "\n")
            sys.stdout.flush()
        if code != 0 and request.command:
            stream.write(f"To resume: {shlex.join([*request.command, '--resume', manifest.run_id])}\n")
            stream.flush()
    except OSError:
        discard_output()


def _submit(manifest: Manifest, jobs: Sequence[Job], backend: Backend[Any], request: RunRequest,
            out: TextIO | None = None) -> int:
    """`--detach`: submit every job once through the runner; print where each went."""
    out = out or sys.stdout
    capacity = backend.capacity()
    runner = Runner(manifest, jobs, Scheduler(jobs, ResourcePool(capacity, available_memory=lambda: capacity.memory)),
                    backend, PlainReporter(out, summary=False, events=False), request.execution, request.root)
    code = runner.submit()
    for rec in manifest.records():
        if rec.status is JobStatus.RUNNING:
            out.write(f"SUBMITTED  {rec.id}  {backend.describe(rec.backend_ref or {})}\n")
        else:
            out.write(f"{rec.status.value:<10} {rec.id}: {rec.reason}\n")
    submitted = sum(rec.status is JobStatus.RUNNING for rec in manifest.records())
    out.write(f"{submitted} job(s) submitted. Run {manifest.run_id}; check with --status {manifest.run_id}\n")
    return code


def _write_reports(report: ReportOptions, manifest: Manifest) -> None:
    """`--report-json`/`--junit-xml`, however the run ended; a failed write is reported, not raised."""
    for problem in write_reports(manifest, report.report_json, report.junit_xml):
        print(f"runall: error: {problem}", file=sys.stderr)


def _orchestrator() -> dict[str, Any]:
    me = psutil.Process()
    return {"pid": me.pid, "create_time": me.create_time(), "hostname": os.uname().nodename}


def _refuse_if_running(manifest: Manifest) -> None:
    """UsageError when the orchestrator recorded in the manifest is still alive on this host."""
    owner = manifest.meta.get("orchestrator") or {}
    if manifest.status != "running" or owner.get("hostname") != os.uname().nodename:
        return
    try:
        alive = abs(psutil.Process(owner["pid"]).create_time() - owner["create_time"]) < 0.01
    except (KeyError, TypeError, psutil.Error):
        return
    if alive:
        raise UsageError(f"run {manifest.run_id} is still running (pid {owner['pid']})", where="--resume")
