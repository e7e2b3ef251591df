"""The orchestrator as a real process, interrupted mid-run: no job process may outlive it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers_procs import driver_argv, job_argv, kill_pids, recorded_pids, survivors, wait_for, write_spec


def start_orchestrator(tmp_path: Path, *options: str) -> tuple[subprocess.Popen, Path]:
    pids = tmp_path / "pids"
    pids.mkdir()
    jobs = [
        {"id": "stubborn", "script": "s.py", "argv": job_argv(pids, "ignore-term", 30)},
        {"id": "tree", "script": "t.py", "argv": job_argv(pids, "tree", 30)},
        {"id": "queued", "script": "q.py", "argv": job_argv(pids, "sleep", 0)},
    ]
    spec = write_spec(tmp_path / "spec.json", tmp_path, jobs)
    proc = subprocess.Popen(driver_argv(spec, "--runs-dir", str(tmp_path / "runs"), "--parallel",
                                        "--max-workers", "2", *options),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not wait_for(lambda: len(recorded_pids(pids)) == 6, timeout=20):   # 1 + tree of 5: all started
        proc.kill()
        kill_pids(recorded_pids(pids))
        pytest.fail(f"jobs did not start: {proc.communicate()[0]}")
    return proc, pids


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_everything(tmp_path: Path, sig: int) -> None:
    proc, pids = start_orchestrator(tmp_path, "--grace", "1")
    try:
        start = time.monotonic()
        proc.send_signal(sig)
        code, out = finish(proc, timeout=15)
        assert survivors(pids, wait=0.5) == []
        assert time.monotonic() - start < 1 + 2 + 1        # grace + 2 s, plus the 0.5 s check
    finally:
        kill_pids(recorded_pids(pids))
    assert code == 130, out
    manifest = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["exit_code"] == 130
    assert {rec["id"]: rec["status"] for rec in manifest["jobs"]} == {
        "stubborn": "CANCELLED", "tree": "CANCELLED", "queued": "CANCELLED"}
    assert "CANCELLED" in out


def test_second_interrupt_kills_at_once(tmp_path: Path) -> None:
    proc, pids = start_orchestrator(tmp_path, "--grace", "60")
    try:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code, out = finish(proc, timeout=15)
        assert time.monotonic() - start < 5
        assert survivors(pids, wait=0.5) == []
    finally:
        kill_pids(recorded_pids(pids))
    assert code == 130, out
