"""The plain-line reporter and the end-of-run summary."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import as_manifest
from runall.model import JobStatus
from runall.record.manifest import Manifest
from runall.run.events import JobEvent, RunResult
from runall.view.plain import PlainReporter
from runall.view.summary import render_summary, tail


def event(status: JobStatus, **kw) -> JobEvent:
    base = dict(job_id="diabetes", status=status, attempt=1, max_attempts=1, done=3, total=8, time=0.0)
    return JobEvent(**{**base, **kw})


def manifest(run_dir: Path) -> Manifest:
    (run_dir / "logs").mkdir(parents=True)
    (run_dir / "logs" / "bad.log").write_text("".join(f"line {i}\n" for i in range(30)) + "ep 1\rep 2\x1b[31m red\x1b[0m\n")
    rec = dict(exit_code=None, signal=None, reason=None, metrics=None, log=None)
    return as_manifest(run_dir, {"run_id": "r1", "jobs": [
        {**rec, "id": "good", "status": "SUCCEEDED", "attempts": 1, "duration": 12.34, "exit_code": 0,
         "log": "logs/good.log", "metrics": "results/good/metrics.json"},
        {**rec, "id": "bad", "status": "FAILED", "attempts": 2, "duration": 75.0, "exit_code": 3,
         "log": "logs/bad.log"},
        {**rec, "id": "dep", "status": "SKIPPED", "attempts": 0, "duration": None,
         "reason": "dependency bad did not succeed"},
    ]})


def test_plain_lines() -> None:
    out = io.StringIO()
    reporter = PlainReporter(out)
    reporter.on_event(event(JobStatus.SUCCEEDED, duration=12.34))
    reporter.on_event(event(JobStatus.RUNNING, pid=42, log_path=Path("/x/logs/diabetes.log"), done=0))
    reporter.on_event(event(JobStatus.FAILED, duration=1.0, exit_code=2, will_retry=True, retry_in=2.0,
                            max_attempts=3))
    reporter.on_event(event(JobStatus.TIMEOUT, duration=5.0, signal="SIGTERM", job_id="bad\x1b[2Jid"))
    lines = out.getvalue().splitlines()
    assert lines[0] == "[ 3/8] SUCCEEDED  diabetes  12.3s"
    assert lines[1] == "[ 0/8] RUNNING    diabetes  pid 42  /x/logs/diabetes.log"
    assert lines[2] == "[ 3/8] FAILED     diabetes  1.0s  exit 2  retry 2/3 in 2s"
    assert lines[3] == "[ 3/8] TIMEOUT    badid  5.0s  SIGTERM"
    assert all(ch.isprintable() for line in lines for ch in line)


def test_summary_table_and_failure_tail(tmp_path: Path) -> None:
    data = manifest(tmp_path / "run")
    text = render_summary(data, tmp_path / "run")
    lines = text.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "ATTEMPTS", "DURATION"]
    assert lines[1].split() == ["good", "SUCCEEDED", "1", "12.3s"]
    assert lines[2].split() == ["bad", "FAILED", "2", "1m15s", "exit", "3"]
    assert lines[3].split()[:4] == ["dep", "SKIPPED", "0", "-"] and "dependency bad did not succeed" in lines[3]
    assert f"FAILED bad (exit 3), log {tmp_path / 'run' / 'logs' / 'bad.log'}:" in text
    tail_lines = [line for line in lines if line.startswith("  | ")]
    assert tail_lines[0] == "  | line 21" and tail_lines[-1] == "  | ep 2 red" and len(tail_lines) == 10
    assert "3 jobs: 1 succeeded, 1 failed, 1 skipped." in lines[-1]
    assert all(ch.isprintable() for line in lines for ch in line)


def test_tail_reads_only_the_end(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    with open(log, "w") as fh:
        fh.write("x" * 10_000_000 + "\nlast\n")
    assert tail(log, 1, max_bytes=100) == ["last"]
    assert tail(tmp_path / "missing.log") == []


def test_reporter_prints_summary_on_finish(tmp_path: Path) -> None:
    out = io.StringIO()
    data = manifest(tmp_path / "run")
    PlainReporter(out).on_finish(RunResult("r1", tmp_path / "run", 1, False, {}, data))
    assert "ID" in out.getvalue() and "| line 29" in out.getvalue()
