"""`--resume`: rerun what did not succeed, in the same run, also after the orchestrator was SIGKILLed."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from helpers_procs import (driver_argv, job_argv, kill_pids, recorded_pids, resume_run, start_run, survivors,
                           wait_for, write_spec)
from runall.errors import UsageError
from runall.model import Job
from runall.view.plain import PlainReporter


def manifest_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def statuses(manifest: dict) -> dict[str, str]:
    return {rec["id"]: rec["status"] for rec in manifest["jobs"]}


def test_resume_after_orchestrator_sigkill(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    marker = tmp_path / "c-started"
    jobs = [
        {"id": "a", "script": "a.py", "argv": job_argv(pids, "sleep", 0)},
        {"id": "b", "script": "b.py", "argv": job_argv(pids, "sleep", 0)},
        {"id": "c", "script": "c.py", "argv": job_argv(pids, "slow-once", marker, 30)},
        {"id": "d", "script": "d.py", "argv": job_argv(pids, "sleep", 0)},
    ]
    spec = write_spec(tmp_path / "spec.json", tmp_path, jobs)
    options = ["--runs-dir", str(tmp_path / "runs"), "--grace", "1"]
    orchestrator = subprocess.Popen(driver_argv(spec, *options), stdout=subprocess.DEVNULL)
    try:
        assert wait_for(marker.exists, timeout=20)
        run_dir = (tmp_path / "runs" / "latest").resolve()
        assert wait_for(lambda: statuses(manifest_of(run_dir))["c"] == "RUNNING", timeout=5)
        orchestrator.send_signal(signal.SIGKILL)
        orchestrator.wait(timeout=10)
        before = manifest_of(run_dir)
        assert statuses(before) == {"a": "SUCCEEDED", "b": "SUCCEEDED", "c": "RUNNING", "d": "PENDING"}
        orphans = survivors(pids)
        assert len(orphans) == 1                       # c, left running by the dead orchestrator

        resumed = subprocess.run(driver_argv(spec, *options, "--resume"), capture_output=True, text=True,
                                 timeout=60)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert survivors(pids, wait=2.0) == []
    finally:
        orchestrator.kill()
        kill_pids(recorded_pids(pids))
    after = manifest_of(run_dir)
    assert (tmp_path / "runs" / "latest").resolve() == run_dir
    assert statuses(after) == dict.fromkeys("abcd", "SUCCEEDED")
    assert after["status"] == "succeeded" and after["exit_code"] == 0 and len(after["resumed"]) == 1
    recs = {rec["id"]: rec for rec in after["jobs"]}
    assert recs["a"]["attempts"] == recs["b"]["attempts"] == recs["d"]["attempts"] == 1
    assert recs["c"]["attempts"] == 2 and recs["c"]["log"] == "logs/c.attempt2.log"
    assert [h["status"] for h in recs["c"]["history"]] == ["CANCELLED", "SUCCEEDED"]
    assert recs["c"]["argv"] == before["jobs"][2]["argv"]
    assert len(recorded_pids(pids)) == 5               # a, b, c twice, d: a and b did not run again


def run(root: Path, jobs: list[Job], *options: str) -> int:
    return start_run(root, jobs, "--runs-dir", str(root / "runs"), "--retry-delay", "0", *options,
                     reporter=PlainReporter(io.StringIO()))


def test_resume_reruns_only_failures(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    jobs = [Job(id="ok", script="ok.py", argv=job_argv(pids, "sleep", 0)),
            Job(id="flaky", script="f.py", argv=job_argv(pids, "flaky", tmp_path / "counter", 1)),
            Job(id="next", script="n.py", argv=job_argv(pids, "sleep", 0), after=["flaky", "ok"])]
    assert run(tmp_path, jobs, "--run-id", "r1") == 1
    assert statuses(manifest_of(tmp_path / "runs" / "r1")) == {"ok": "SUCCEEDED", "flaky": "FAILED", "next": "SKIPPED"}
    run(tmp_path, [jobs[0]], "--run-id", "r2")          # a newer run: `latest` no longer points at r1
    out = io.StringIO()
    code = resume_run(tmp_path, "--runs-dir", str(tmp_path / "runs"), "--resume", "r1",
                  reporter=PlainReporter(out))
    assert code == 0, out.getvalue()
    manifest = manifest_of(tmp_path / "runs" / "r1")
    assert statuses(manifest) == {"ok": "SUCCEEDED", "flaky": "SUCCEEDED", "next": "SUCCEEDED"}
    assert [rec["attempts"] for rec in manifest["jobs"]] == [1, 2, 1]
    assert len(recorded_pids(pids)) == 5                # ok twice (r1, r2), flaky twice, next once


def test_resume_keeps_recorded_options(tmp_path: Path) -> None:
    (tmp_path / "pids").mkdir()
    jobs = [Job(id="x", script="x.py", argv=job_argv(tmp_path / "pids", "crash", 1))]
    run(tmp_path, jobs, "--parallel", "--max-workers", "2", "--retries", "1")
    resume_run(tmp_path, "--runs-dir", str(tmp_path / "runs"), "--resume", "--retries", "0",
           reporter=PlainReporter(io.StringIO()))
    manifest = manifest_of(tmp_path / "runs" / "latest")
    assert manifest["options"]["parallel"] is True and manifest["options"]["max_workers"] == 2
    assert manifest["options"]["retries"] == 0
    assert manifest["jobs"][0]["attempts"] == 3         # 2 in the first run, 1 more on resume


def test_resume_kills_orphans_the_manifest_never_recorded(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    run(tmp_path, [Job(id="x", script="x.py", argv=job_argv(pids, "crash", 1))], "--run-id", "r")
    # An attempt started just before the orchestrator died, too late to reach the manifest:
    token = manifest_of(tmp_path / "runs" / "r")["token"]
    assert token.startswith("r.") and len(token) > len("r.")        # the run id plus a nonce
    orphan = subprocess.Popen(job_argv(pids, "ignore-term", 30), start_new_session=True,
                              env={**os.environ, "RUNALL_JOB_TOKEN": f"{token}/x"})
    try:
        assert wait_for(lambda: orphan.pid in recorded_pids(pids))
        resume_run(tmp_path, "--runs-dir", str(tmp_path / "runs"), "--resume", reporter=PlainReporter(io.StringIO()))
        assert orphan.wait(timeout=5) == -signal.SIGKILL
    finally:
        orphan.kill()


def test_resume_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no earlier run"):
        resume_run(tmp_path, "--runs-dir", str(tmp_path / "runs"), "--resume")
    with pytest.raises(UsageError, match="no run 'nope'"):
        resume_run(tmp_path, "--runs-dir", str(tmp_path / "runs"), "--resume", "nope")


def test_resume_refuses_a_run_still_in_progress(tmp_path: Path) -> None:
    (tmp_path / "pids").mkdir()
    run(tmp_path, [Job(id="x", script="x.py", argv=job_argv(tmp_path / "pids", "crash", 1))], "--run-id", "r")
    path = tmp_path / "runs" / "r" / "manifest.json"
    data = json.loads(path.read_text())
    data["status"] = "running"                          # as if this very process were still running it
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="still running"):
        resume_run(tmp_path, "--runs-dir", str(tmp_path / "runs"), "--resume")
