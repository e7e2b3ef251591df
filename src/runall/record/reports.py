"""Machine-readable reports of a run: JSON (`--report-json`) and JUnit XML (`--junit-xml`).

Both are pure functions of the manifest; the JSON schema is documented in
TRAINING_USAGE.md ("Progress, summary and reports") and versioned by `SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from runall.model import JobStatus
from runall.record.leaderboard import Board, JobMetrics, grids, leaderboards, run_metrics
from runall.record.lineage import view
from runall.record.manifest import JobRecord, Manifest, write_text_atomic
from runall.view.summary import STATUSES, clean, outcome, tail

SCHEMA = "runall.report"
SCHEMA_VERSION = 2   # 2: leaderboards per task and dataset (1: per task), ties
_FAILURES = (JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.PREEMPTED)
_SKIPS = (JobStatus.SKIPPED, JobStatus.CANCELLED)
_UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING)


def json_report(manifest: Manifest) -> dict[str, Any]:
    """The JSON report (schema `runall.report`): run, counts, jobs, leaderboards, grids."""
    meta, run_dir = manifest.meta, manifest.run_dir
    metrics = {job.id: job for job in run_metrics(manifest)}
    records = manifest.records()
    counts = {"total": len(records), **{s: sum(r.status.value == s for r in records) for s in STATUSES}}
    return {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
        "run_id": manifest.run_id, "run_dir": str(run_dir.resolve()), "root": meta.get("root"),
        "status": meta.get("status"), "exit_code": meta.get("exit_code"),
        "created": meta.get("created"), "finished": meta.get("finished"),
        "duration": _seconds_between(meta.get("created"), meta.get("finished")),
        "counts": counts,
        "jobs": [_job(rec, run_dir, manifest.root, metrics[rec.id], meta) for rec in records],
        "leaderboards": [{"task": b.task, "dataset": b.dataset, "script": b.script, **_ranking(b)}
                         for b in leaderboards(metrics.values())],
        "grids": [{"base": b.title, "best": b.best.id if b.best else None, **_ranking(b)}
                  for b in grids(metrics.values())],
    }


def _job(rec: JobRecord, run_dir: Path, root: Path, metrics: JobMetrics, meta: Mapping[str, Any]) -> dict[str, Any]:
    job = rec.job
    return {
        "id": rec.id, "status": rec.status.value, "attempts": rec.attempts, "required": job.required,
        "start": rec.start, "end": rec.end, "duration": rec.duration,
        "exit_code": rec.exit_code, "signal": rec.signal, "reason": rec.reason,
        "argv": job.argv, "log": str(run_dir.resolve() / rec.log) if rec.log else None,
        "output_dir": str(root / job.output_dir) if job.output_dir else None,
        "params": job.params, "tags": job.tags,
        "metrics": {"path": str(metrics.path), "task": metrics.task, "primary": metrics.primary,
                    "values": metrics.values} if metrics.values else None,
        "lineage": view(meta, rec.lineage),
    }


def _ranking(board: Board) -> dict[str, Any]:
    return {"metric": board.metric, "higher_is_better": board.higher,
            "ranking": [j.id for j in board.ranked], "unranked": [j.id for j in board.unranked],
            "ties": [[j.id for j in run] for run in board.ties()]}


def junit_xml(manifest: Manifest, tail_lines: int = 30) -> str:
    """One testsuite, one testcase per job: `failure` with the log tail for FAILED/TIMEOUT,
    `skipped` for SKIPPED/CANCELLED, `error` for a job the run never finished."""
    import xml.etree.ElementTree as ET  # only for --junit-xml: keeps start-up fast

    meta, run_dir, records = manifest.meta, manifest.run_dir, manifest.records()
    failures = sum(r.status in _FAILURES for r in records)
    skipped = sum(r.status in _SKIPS for r in records)
    errors = sum(r.status in _UNFINISHED for r in records)
    totals = {"tests": str(len(records)), "failures": str(failures), "errors": str(errors), "skipped": str(skipped),
              "time": _time(_seconds_between(meta.get("created"), meta.get("finished")))}
    suites = ET.Element("testsuites", name="runall", **totals)
    suite = ET.SubElement(suites, "testsuite", name=f"runall {clean(manifest.run_id)}", **totals,
                          timestamp=_timestamp(meta.get("created")), hostname=clean(_hostname(meta)))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("run_id", manifest.run_id), ("manifest", str(manifest.path))):
        ET.SubElement(properties, "property", name=name, value=clean(value))
    for rec in records:
        case = ET.SubElement(suite, "testcase", name=clean(rec.id), time=_time(rec.duration),
                             classname=clean(rec.job.script.removesuffix(".py").replace("/", ".")))
        status = rec.status.value
        if rec.status in _FAILURES:
            log = run_dir / rec.log if rec.log else None
            how = outcome(rec.exit_code, rec.signal, rec.reason) or "no exit code"
            failure = ET.SubElement(case, "failure", type=status, message=clean(f"{status}: {how}"))
            failure.text = "\n".join([f"log: {log}", *tail(log, tail_lines)]) if log else "no log"
        elif rec.status in _SKIPS:
            ET.SubElement(case, "skipped", message=clean(f"{status}: {rec.reason}" if rec.reason else status))
        elif rec.status in _UNFINISHED:
            ET.SubElement(case, "error", type=status, message=f"the run ended while the job was {status}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def target_problem(path: Path) -> str | None:
    """Why a report cannot be written at `path`, or None. A symlink is followed (its target is
    written, the link stays); the target must be a regular file, or a new file in a writable folder."""
    target = path.resolve()
    if target.exists():
        if not target.is_file():
            return f"{path} is not a regular file"
        return None if os.access(target, os.W_OK) else f"{path} is not writable"
    folder = next((p for p in target.parents if p.exists()), None)
    if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK):
        return f"cannot create {path}: {folder} is not a writable folder"
    return None


def write_reports(manifest: Manifest, json_path: Path | None, junit_path: Path | None) -> list[str]:
    """Write the requested reports (through symlinks, atomically), creating their folders;
    returns one message per report that could not be written."""
    problems = []
    for path, render in ((json_path, lambda: json.dumps(json_report(manifest), indent=2) + "\n"),
                         (junit_path, lambda: junit_xml(manifest))):
        if path is None:
            continue
        problem = target_problem(path)
        if problem:
            problems.append(f"cannot write report: {problem}")
            continue
        try:
            target = path.resolve()
            target.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(target, render())
        except OSError as exc:
            problems.append(f"cannot write report {path}: {exc.strerror or exc} (errno {exc.errno})")
    return problems


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round(datetime.fromisoformat(end).timestamp() - datetime.fromisoformat(start).timestamp(), 3)


def _time(seconds: float | None) -> str:
    return f"{seconds or 0.0:.3f}"


def _timestamp(created: str | None) -> str:
    """ISO 8601 without zone or fraction, as the JUnit schema wants (UTC)."""
    return datetime.fromisoformat(created).strftime("%Y-%m-%dT%H:%M:%S") if created else ""


def _hostname(meta: dict[str, Any]) -> str:
    return ((meta.get("host") or {}).get("hostname")) or "localhost"
