"""CLI glue for execution and results: the options, a fresh run (`run_jobs`) and `--resume`."""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, TextIO

import psutil

from runall import tracking
from runall.backends.base import Backend
from runall.backends.local.backend import LocalBackend
from runall.backends.slurm.backend import SlurmBackend
from runall.backends.slurm.render import parse_settings
from runall.errors import UsageError
from runall.model import Job
from runall.record.history import expected_durations
from runall.record.manifest import Manifest, iso, new_run_id, resolve_run_dir, update_latest
from runall.record.reports import write_reports
from runall.run.events import JobStatus, Reporter
from runall.run.options import BACKENDS, DEFAULTS, add_arguments  # noqa: F401  (add_arguments: public API)
from runall.run.resources import Allocation, Capacity, ResourcePool, check_jobs, cpu_count, detect_capacity
from runall.run.runner import RunOptions, Runner, job_token, launch_spec
from runall.run.scheduler import Scheduler, check_dependencies
from runall.view.plain import PlainReporter

_TYPES: dict[str, tuple[type, ...]] = {
    "parallel": (bool,), "fail_fast": (bool,), "thread_limits": (bool,), "max_workers": (int,),
    "retries": (int,), "gpus": (int,), "timeout": (float,), "grace": (float,), "retry_delay": (float,),
}
_LOWER_BOUNDS = {"max_workers": 1, "retries": 0, "grace": 0, "retry_delay": 0, "gpus": 0}
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def run_jobs(args: argparse.Namespace, jobs: list[Job], root: Path, settings: dict[str, Any],
             *, reporter: Reporter | None = None, config: Mapping[str, Any] | None = None) -> int:
    """Run the selected jobs in a new run directory; returns the exit code (0, 1 or 130).

    `config` holds defaults for the execution options (e.g. from `[tool.runall]`); the
    command line wins. The runs dir is `--runs-dir`, else `settings["runs_dir"]`, else runs.
    """
    options = resolve_options(args, config)
    name = backend_name(args, config)
    if getattr(args, "detach", False) and name != "slurm":
        raise UsageError("needs --backend slurm (or backend = \"slurm\" in [tool.runall])", where="--detach")
    capacity = _cluster_capacity(options, jobs) if name == "slurm" else _capacity(options)
    check_run(jobs, capacity)
    backend = make_backend(name, jobs, options, config)     # bad [tool.runall.slurm]: exit 2 before the run dir
    runs_dir = _runs_dir(args, root, settings.get("runs_dir"))
    run_id = args.run_id or new_run_id()
    if not _RUN_ID.fullmatch(run_id) or run_id == "latest":
        raise UsageError(f"invalid run id {run_id!r} (letters, digits, '.', '_', '-')", where="--run-id")
    if (runs_dir / run_id).exists():
        raise UsageError(f"run {run_id!r} already exists; use --resume {run_id}", where="--run-id")
    tracked = tracking.resolve(args, root)
    expected = expected_durations(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.create(runs_dir / run_id, jobs, root=root, settings=settings, options=options,
                               extra={"capacity": capacity.to_dict(), "orchestrator": _orchestrator(),
                                      "backend": name})
    update_latest(runs_dir, run_id)
    if getattr(args, "detach", False):
        return _submit_detached(manifest, jobs, options, root, config)
    return _execute(args, manifest, jobs, options, capacity, root, reporter, expected,
                    backend=backend, tracked=tracked)


def resume(args: argparse.Namespace, root: Path, *, reporter: Reporter | None = None,
           config: Mapping[str, Any] | None = None) -> int:
    """Rerun, in the same run directory, every job of a run that did not succeed.

    Options given on the command line win over those recorded for the run.
    """
    runs_dir = _runs_dir(args, root)
    manifest = Manifest.load(resolve_run_dir(runs_dir, args.resume))
    _refuse_if_running(manifest)
    tracked = tracking.resolve(args, root, manifest.data.get("tracking"))
    options = resolve_options(args, config, manifest.data.get("options"))
    name = backend_name(args, config, manifest.data.get("backend"))
    jobs = [Job.from_dict(rec["job"]) for rec in manifest.records() if rec["status"] != JobStatus.SUCCEEDED.value]
    capacity = _cluster_capacity(options, jobs) if name == "slurm" else _capacity(options)
    check_run(jobs, capacity)
    backend = make_backend(name, jobs, options, config)
    backend.kill_stale([manifest.record(job.id).get("backend_ref") or {"token": job_token(manifest.run_id, job.id)}
                        for job in jobs])
    for job in jobs:
        _reset(manifest, job.id)
    manifest.set(status="running", exit_code=None, finished=None, options=options, capacity=capacity.to_dict(),
                 backend=name,
                 orchestrator=_orchestrator(), resumed=[*manifest.data.get("resumed", []), iso(time.time())])
    manifest.save()
    satisfied = [rec["id"] for rec in manifest.records() if rec["status"] == JobStatus.SUCCEEDED.value]
    return _execute(args, manifest, jobs, options, capacity, root, reporter,
                    expected_durations(runs_dir), satisfied, backend, tracked=tracked)


def resolve_options(args: argparse.Namespace, config: Mapping[str, Any] | None = None,
                    recorded: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Execution options, validated: command line over recorded (resume) over config over defaults."""
    layers = [(config or {}, "[tool.runall] {key}"), (recorded or {}, "recorded option {key}"),
              ({key: getattr(args, key, None) for key in DEFAULTS}, "--{flag}")]
    options: dict[str, Any] = dict(DEFAULTS)
    where: dict[str, str] = {}
    for values, source in layers:
        for key, value in values.items():
            if key in DEFAULTS and value is not None:
                options[key], where[key] = value, source.format(key=key, flag=key.replace("_", "-"))
    for key, source in where.items():
        _check_option(key, options[key], source)
    return options


def _check_option(key: str, value: Any, where: str) -> None:
    types = _TYPES[key]
    if type(value) not in types and not (float in types and type(value) is int):
        raise UsageError(f"must be {' or '.join(t.__name__ for t in types)}, got {value!r}", where=where)
    if key in _LOWER_BOUNDS and value < _LOWER_BOUNDS[key]:
        raise UsageError(f"must be at least {_LOWER_BOUNDS[key]}, got {value:g}", where=where)
    if key == "timeout" and value <= 0:
        raise UsageError(f"must be more than 0, got {value:g}", where=where)


def check_run(jobs: Sequence[Job], capacity: Capacity) -> None:
    """Everything that must hold before anything starts: unique ids, resources, no cycles."""
    seen: set[str] = set()
    for job in jobs:
        if job.id in seen:
            raise UsageError("duplicate job id", where=f"job {job.id}")
        seen.add(job.id)
        if job.retries < 0:
            raise UsageError(f"retries must not be negative, got {job.retries}", where=f"job {job.id}")
        if job.timeout is not None and job.timeout <= 0:
            raise UsageError(f"timeout must be more than 0, got {job.timeout}", where=f"job {job.id}")
    check_jobs(jobs, capacity)
    check_dependencies(jobs)


def make_reporter(args: argparse.Namespace, jobs: Sequence[Job], expected: Mapping[str, float], workers: int,
                  stream: TextIO | None = None) -> Reporter:
    """The live view on a terminal; plain lines in a pipe, with NO_COLOR, TERM=dumb, --plain or -q."""
    stream = stream or sys.stdout
    commands = {job.id: job.argv for job in jobs} if args.verbose else None
    if (args.quiet or args.plain or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb"
            or not stream.isatty()):
        return PlainReporter(stream, events=not args.quiet, commands=commands)
    from runall.view.live import LiveReporter     # rich is imported only for the live view

    return LiveReporter([job.id for job in jobs], expected=expected, workers=workers, commands=commands)


def _execute(args: argparse.Namespace, manifest: Manifest, jobs: Sequence[Job], options: dict[str, Any],
             capacity: Capacity, root: Path, reporter: Reporter | None, expected: dict[str, float],
             satisfied: Iterable[str] = (),
             backend: Backend[Any] | None = None, *, tracked: tracking.TrackingConfig | None = None) -> int:
    scheduler = Scheduler(jobs, _pool(capacity, backend), expected, satisfied)
    run_options = RunOptions(timeout=options["timeout"], grace=options["grace"], retries=options["retries"],
                             retry_delay=options["retry_delay"], fail_fast=options["fail_fast"],
                             thread_limits=options["thread_limits"])
    reporter = tracking.observe(reporter or make_reporter(args, jobs, expected, capacity.slots),
                                tracked, manifest, root)
    runner = Runner(manifest, jobs, scheduler, backend or LocalBackend(), reporter, run_options, root)
    try:
        return runner.run().exit_code
    finally:
        _write_reports(args, manifest)


def _write_reports(args: argparse.Namespace, manifest: Manifest) -> None:
    """`--report-json`/`--junit-xml`, however the run ended; a failed write is reported, not raised."""
    paths = (Path(p) if p else None for p in (args.report_json, args.junit_xml))
    for problem in write_reports(manifest.data, manifest.run_dir, *paths):
        print(f"runall: error: {problem}", file=sys.stderr)


def _capacity(options: dict[str, Any]) -> Capacity:
    slots = (options["max_workers"] or cpu_count()) if options["parallel"] else 1
    return detect_capacity(slots, options["gpus"])


def backend_name(args: argparse.Namespace, config: Mapping[str, Any] | None = None,
                 recorded: str | None = None) -> str:
    """`--backend`, else the run's recorded backend (resume), else `[tool.runall] backend`, else local."""
    name = getattr(args, "backend", None) or recorded or (config or {}).get("backend") or "local"
    if name not in BACKENDS:
        raise UsageError(f"must be one of {', '.join(BACKENDS)}, got {name!r}", where="[tool.runall] backend")
    return str(name)


def make_backend(name: str, jobs: Sequence[Job], options: Mapping[str, Any],
                 config: Mapping[str, Any] | None = None) -> Backend[Any]:
    """The backend called `name`; Slurm's settings come from `[tool.runall.slurm]`."""
    if name == "slurm":
        return SlurmBackend(jobs, parse_settings((config or {}).get("slurm", {})), timeout=options["timeout"])
    return LocalBackend()


def print_slurm_scripts(args: argparse.Namespace, jobs: Sequence[Job], root: Path, settings: Mapping[str, Any],
                        config: Mapping[str, Any] | None = None, out: TextIO | None = None) -> int:
    """`--dry-run --backend slurm`: the batch script each job's first attempt would submit; submits nothing.

    Rendered as the runner renders them (a job is submitted once its dependencies have
    succeeded, so no `--dependency` line); RUN_ID stands for the run id unless `--run-id`.
    """
    out = out or sys.stdout
    options = resolve_options(args, config)
    check_run(jobs, _cluster_capacity(options, jobs))
    backend = SlurmBackend(jobs, parse_settings((config or {}).get("slurm", {})), timeout=options["timeout"])
    run_id = args.run_id or "RUN_ID"
    run_dir = _runs_dir(args, root, settings.get("runs_dir")) / run_id
    out.write(f"# {len(jobs)} job(s), each submitted with sbatch from {run_dir / 'logs'}\n")
    for job in jobs:
        spec = launch_spec(run_dir, run_id, job, Allocation(job.cpus, (), job.memory or 0), 1, root,
                           options["thread_limits"])
        out.write(f"\n# ---- {job.id}: {spec.log_path.with_suffix('.sbatch')}\n{backend.script(spec)}")
    return 0


def _submit_detached(manifest: Manifest, jobs: Sequence[Job], options: Mapping[str, Any], root: Path,
                     config: Mapping[str, Any] | None, out: TextIO | None = None) -> int:
    """`--detach`: submit every job once, parents first, a dependency as `afterok`; record the Slurm ids.

    Nothing is polled or cancelled afterwards (`--status` looks); no retries. Returns 1 when a
    submission failed (its dependents are SKIPPED), else 0.
    """
    out = out or sys.stdout
    backend = SlurmBackend(jobs, parse_settings((config or {}).get("slurm", {})), timeout=options["timeout"])
    by_id, done, failed = {job.id: job for job in jobs}, set(), set()
    while len(done) < len(jobs):
        for job in jobs:
            if job.id in done or any(dep in by_id and dep not in done for dep in job.after):
                continue
            done.add(job.id)
            broken = next((dep for dep in job.after if dep in failed), None)
            if broken:
                failed.add(job.id)
                manifest.update(job.id, status=JobStatus.SKIPPED.value, reason=f"dependency {broken} did not succeed")
                continue
            spec = launch_spec(manifest.run_dir, manifest.run_id, job, Allocation(job.cpus, (), job.memory or 0), 1,
                               root, options["thread_limits"])
            log = spec.log_path.relative_to(manifest.run_dir).as_posix()
            start = time.time()
            try:
                handle = backend.start(spec)
            except OSError as exc:
                failed.add(job.id)
                manifest.update(job.id, status=JobStatus.FAILED.value, attempts=1, start=iso(start), log=log,
                                reason=str(exc))
                out.write(f"FAILED     {job.id}: {exc}\n")
                continue
            manifest.update(job.id, status=JobStatus.RUNNING.value, attempts=1, start=iso(start), log=log,
                            backend_ref=handle.ref())
            out.write(f"SUBMITTED  {job.id}  Slurm job {handle.slurm_id}\n")
    manifest.set(status="submitted", exit_code=None, detached=True)
    manifest.save()
    out.write(f"{len(jobs) - len(failed)} job(s) submitted. Run {manifest.run_id}; "
              f"check with --status {manifest.run_id}\n")
    return 1 if failed else 0


def status(args: argparse.Namespace, root: Path, out: TextIO | None = None) -> int:
    """`--status [RUN_ID]`: one squeue (+ sacct) call for the run's unfinished Slurm jobs; record what
    ended in the manifest (and the run's result once all have), print each job. 1 if Slurm cannot be asked."""
    out = out or sys.stdout
    manifest = Manifest.load(resolve_run_dir(_runs_dir(args, root), args.status))
    ids = {rec["id"]: str(rec["backend_ref"]["slurm_job_id"]) for rec in manifest.records()
           if rec["status"] == JobStatus.RUNNING.value and (rec.get("backend_ref") or {}).get("slurm_job_id")}
    try:
        found = SlurmBackend([], parse_settings({})).query(list(ids.values())) if ids else {}
    except OSError as exc:
        print(f"runall: error: cannot ask Slurm: {exc}", file=sys.stderr)
        return 1
    for job_id, slurm_id in ids.items():
        record = found.get(slurm_id)
        if record is None or not record.final:
            continue
        info = record.outcome()
        outcome = {"status": (info.status or JobStatus.FAILED).value, "exit_code": info.exit_code,
                   "signal": info.signal, "reason": info.reason}
        rec = manifest.record(job_id)
        manifest.add_attempt(job_id, {"attempt": rec["attempts"], "log": rec["log"], "start": rec["start"], **outcome,
                                      "slurm_job_id": slurm_id})
        manifest.update(job_id, **outcome, backend_ref=None)
    records = manifest.records()
    if all(JobStatus(rec["status"]).final for rec in records) and manifest.data.get("status") in ("submitted", "running"):
        ok = all(rec["status"] == JobStatus.SUCCEEDED.value or not rec["job"].get("required", True) for rec in records)
        manifest.set(status="succeeded" if ok else "failed", exit_code=0 if ok else 1, finished=iso(time.time()))
    manifest.save()
    width = max([len(rec["id"]) for rec in records] + [2])
    out.write(f"{'ID':<{width}}  {'STATUS':<10} {'SLURM':<8} SLURM STATE\n")
    for rec in records:
        slurm_id = ids.get(rec["id"]) or str(((rec.get("history") or [{}])[-1]).get("slurm_job_id") or "-")
        state = found[slurm_id].state if slurm_id in found else ("unknown" if rec["id"] in ids else "-")
        out.write(f"{rec['id']:<{width}}  {rec['status']:<10} {slurm_id:<8} {state}"
                  f"{'  ' + rec['reason'] if rec.get('reason') else ''}\n")
    out.write(f"Run {manifest.run_id}: {manifest.data.get('status')}\n")
    return 0


def _cluster_capacity(options: Mapping[str, Any], jobs: Sequence[Job]) -> Capacity:
    """On Slurm the cluster decides what fits: room for every job at once (`--max-workers` caps
    how many are submitted at a time); nothing is checked against this machine's cores or GPUs."""
    slots = options["max_workers"] or max(1, len(jobs))
    return Capacity(slots, max(1, sum(job.cpus for job in jobs)),
                    tuple(str(i) for i in range(sum(job.gpus for job in jobs))),
                    max(1, sum(job.memory or 0 for job in jobs)))


def _pool(capacity: Capacity, backend: Backend[Any] | None) -> ResourcePool:
    """The scheduler's pool; on Slurm it ignores this machine's free memory."""
    if isinstance(backend, SlurmBackend):
        return ResourcePool(capacity, available_memory=lambda: capacity.memory)
    return ResourcePool(capacity)


def _runs_dir(args: argparse.Namespace, root: Path, configured: str | None = None) -> Path:
    runs_dir = Path(args.runs_dir or configured or "runs")
    return runs_dir if runs_dir.is_absolute() else root / runs_dir


def _reset(manifest: Manifest, job_id: str) -> None:
    """Make a job of a resumed run PENDING again; an attempt left RUNNING counts as CANCELLED."""
    record = manifest.record(job_id)
    if record["status"] == JobStatus.RUNNING.value:
        manifest.add_attempt(job_id, {"attempt": record["attempts"], "log": record["log"], "start": record["start"],
                                      "status": JobStatus.CANCELLED.value, "reason": "orchestrator ended while it ran"})
    manifest.update(job_id, status=JobStatus.PENDING.value, reason=None, backend_ref=None)


def _orchestrator() -> dict[str, Any]:
    me = psutil.Process()
    return {"pid": me.pid, "create_time": me.create_time(), "hostname": socket.gethostname()}


def _refuse_if_running(manifest: Manifest) -> None:
    """UsageError when the orchestrator recorded in the manifest is still alive on this host."""
    owner = manifest.data.get("orchestrator") or {}
    if manifest.data.get("status") != "running" or owner.get("hostname") != socket.gethostname():
        return
    try:
        alive = abs(psutil.Process(owner["pid"]).create_time() - owner["create_time"]) < 0.01
    except (KeyError, TypeError, psutil.Error):
        return
    if alive:
        raise UsageError(f"run {manifest.run_id} is still running (pid {owner['pid']})", where="--resume")
