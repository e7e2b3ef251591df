"""Faults around processes (issue 13, rows 1-4), with real orchestrators, jobs and signals:
a closed terminal, descendants that escape their job, two runs of the same id, a broken pipe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import SHIM
from helpers_procs import (driver_argv, job_argv, kill_pids, recorded_pids, resume_run, start_run, survivors,
                           wait_for, write_spec)
from runall.model import Job
from test_terminal import Tmux, needs_tmux


def manifest_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def statuses(run_dir: Path) -> dict[str, str]:
    return {rec["id"]: rec["status"] for rec in manifest_of(run_dir)["jobs"]}


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# -- row 1: SIGHUP ----------------------------------------------------------------------------------

def test_sighup_stops_the_run_like_sigterm(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    spec = write_spec(tmp_path / "spec.json", tmp_path, [
        {"id": "long", "script": "l.py", "argv": job_argv(pids, "ignore-term", 30)},
        {"id": "next", "script": "n.py", "argv": job_argv(pids, "sleep", 0)}])
    proc = subprocess.Popen(driver_argv(spec, "--runs-dir", str(tmp_path / "runs"), "--grace", "1"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: len(recorded_pids(pids)) == 1, timeout=20)
        proc.send_signal(signal.SIGHUP)
        out, _ = proc.communicate(timeout=15)
        assert survivors(pids, wait=1.0) == []
    finally:
        proc.kill()
        kill_pids(recorded_pids(pids))
    assert proc.returncode == 130, out
    run_dir = (tmp_path / "runs" / "latest").resolve()
    assert manifest_of(run_dir)["status"] == "interrupted"
    assert statuses(run_dir) == {"long": "CANCELLED", "next": "CANCELLED"}


@needs_tmux
def test_closing_the_terminal_stops_jobs_and_records_the_run(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    root = tmp_path / "repo"
    (root / "pyproject.toml").write_text("")
    (root / "train_long.py").write_text(
        "import os, time\n"
        "open(os.path.join(os.environ['PIDS'], f'{os.getpid()}.pid'), 'w').write('long')\n"
        "for i in range(600):\n    print('step', i, flush=True)\n    time.sleep(0.05)\n")
    pids = tmp_path / "pids"
    pids.mkdir()
    session = Tmux(tmp_path / "tmux.sock", root)
    try:
        session.type(f"PIDS={pids} {sys.executable} {SHIM} --grace 1")
        assert wait_for(lambda: recorded_pids(pids), timeout=30), session.screen()
        session.close()                                       # tmux kill-server: the terminal is gone
        run_dir = root / "runs" / "latest"
        assert wait_for(lambda: manifest_of(run_dir.resolve())["status"] == "interrupted", timeout=20)
        assert survivors(pids, wait=2.0) == []
        assert statuses(run_dir.resolve()) == {"long": "CANCELLED"}
    finally:
        session.close()
        kill_pids(recorded_pids(pids))


# -- row 2: descendants that escape ------------------------------------------------------------------

def escaped_pids(pids: Path, leader_pids: set[int]) -> list[int]:
    return [pid for pid in recorded_pids(pids) if pid not in leader_pids]


def run_escape(tmp_path: Path, env: dict[str, str], *options: str) -> None:
    """Job `escape` leaves a double-forked daemon and a detached child with an empty environment,
    then times out; job `after` runs on. The escaped ones must be gone within the grace period
    of their job's end, while `after` is still running."""
    pids = tmp_path / "pids"
    pids.mkdir()
    marker = tmp_path / "after-started"
    spec = write_spec(tmp_path / "spec.json", tmp_path, [
        {"id": "escape", "script": "e.py", "argv": job_argv(pids, "escape", 60), "timeout": 2.0},
        {"id": "after", "script": "a.py", "argv": job_argv(pids, "slow-once", marker, 8)}])
    proc = subprocess.Popen(driver_argv(spec, "--runs-dir", str(tmp_path / "runs"), "--grace", "1", *options),
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env={**os.environ, **env})
    try:
        assert wait_for(lambda: len(recorded_pids(pids)) == 3, timeout=20)   # leader, daemon, detached child
        escaped = [pid for pid in recorded_pids(pids) if (pids / f"{pid}.pid").read_text() == "ignore-term"]
        assert len(escaped) == 2
        assert wait_for(marker.exists, timeout=20)            # `escape` has ended (timed out) ...
        assert wait_for(lambda: not any(alive(p) for p in escaped), timeout=1.0 + 1.0)   # ... grace + margin
        assert proc.poll() is None                            # the run itself goes on
        proc.wait(timeout=30)
        assert statuses((tmp_path / "runs" / "latest").resolve()) == {"escape": "TIMEOUT", "after": "SUCCEEDED"}
    finally:
        proc.kill()
        kill_pids(recorded_pids(pids))


def test_escaped_descendants_die_with_their_job_cgroups(tmp_path: Path) -> None:
    run_escape(tmp_path, {})


def test_escaped_descendants_die_with_their_job_without_cgroups(tmp_path: Path) -> None:
    run_escape(tmp_path, {"RUNALL_NO_CGROUPS": "1"})      # the orchestrator as subreaper alone


# -- row 3: run identity -------------------------------------------------------------------------------

def test_same_run_id_in_two_repositories_never_touches_the_other(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for repo in (one, two):
        (repo / "pids").mkdir(parents=True)
    spec = write_spec(one / "spec.json", one, [{"id": "train", "script": "t.py",
                                                 "argv": job_argv(one / "pids", "sleep", 30)}])
    running = subprocess.Popen(driver_argv(spec, "--runs-dir", str(one / "runs"), "--run-id", "x"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: len(recorded_pids(one / "pids")) == 1, timeout=20)
        (victim,) = recorded_pids(one / "pids")
        start_run(two, [Job("train", "t.py", job_argv(two / "pids", "crash", 1))], "--runs-dir",
                  str(two / "runs"), "--run-id", "x")
        resume_run(two, "--runs-dir", str(two / "runs"), "--resume", "x")     # kills run x's leftovers: its own
        assert alive(victim)
    finally:
        running.kill()
        running.wait()
        kill_pids(recorded_pids(one / "pids"))


# -- row 4: a broken stdout pipe --------------------------------------------------------------------

def test_a_closed_pipe_discards_output_and_the_run_goes_on(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    jobs = [{"id": f"j{i}", "script": f"j{i}.py", "argv": job_argv(pids, "sleep", 0.3)} for i in range(3)]
    jobs.append({"id": "bad", "script": "b.py", "argv": job_argv(pids, "crash", 2)})
    spec = write_spec(tmp_path / "spec.json", tmp_path, jobs)
    proc = subprocess.Popen(driver_argv(spec, "--runs-dir", str(tmp_path / "runs"), "--plain"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    proc.stdout.readline()                                    # `| head -1`
    proc.stdout.close()
    assert proc.wait(timeout=60) == 1                         # a job failed: never 0
    run_dir = (tmp_path / "runs" / "latest").resolve()
    assert statuses(run_dir) == {"j0": "SUCCEEDED", "j1": "SUCCEEDED", "j2": "SUCCEEDED", "bad": "FAILED"}
    assert manifest_of(run_dir)["status"] == "failed"
