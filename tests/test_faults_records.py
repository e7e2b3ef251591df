"""Faults around what a run records (issue 13, rows 5, 8 and 17), each with the real thing:
a full or read-only file system (a real tmpfs), two runall processes at once, a huge grid.

The tmpfs tests need root (CI runs as root) and are skipped, saying why, where `mount`
is refused.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
from conftest import ARGPARSE_SCRIPT, SHIM, run_cli

from runall.record.manifest import Manifest

Repo = Callable[[dict[str, str]], Path]

QUICK = "if __name__ == '__main__':\n    print('ran')\n"
SLEEP_1 = "import time\n\nif __name__ == '__main__':\n    time.sleep(1)\n"
SLEEPY = "import time\n\nif __name__ == '__main__':\n    print('started', flush=True)\n    time.sleep({s})\n"
# Fills the file system of its first argument (default: runs/filler) and exits 0; only once
# in a folder (it leaves `filled-once` there).
FILLER = """\
import os, sys

if __name__ == "__main__":
    if not os.path.exists("filled-once"):
        open("filled-once", "w").close()
        with open(sys.argv[1] if len(sys.argv) > 1 else "runs/filler", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"x" * 4096)
            except OSError as exc:
                print("filled:", exc)
"""


def one_error_line(stderr: str) -> str:
    """The single `runall: error:` line of stderr (and no traceback)."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("runall: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[Path, str], Path]]:
    """Mounts a tmpfs: `mount(path, size)`; every mount is undone afterwards."""
    mounted: list[Path] = []

    def mount(path: Path, size: str) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# -- row 5: disk full, read-only checkout ------------------------------------------------------

def test_disk_full_mid_run_stops_starting_jobs_and_resume_finishes(make_repo: Repo, tmpfs) -> None:
    files = {"scripts/train_a_fill.py": FILLER, **{f"scripts/train_j{i:02d}.py": SLEEP_1 for i in range(12)}}
    root = make_repo(files)
    runs = tmpfs(root / "runs", "512k")
    done = run_cli("--plain", "--run-id", "r", cwd=root)
    assert done.returncode == 74, done.stdout + done.stderr
    line = one_error_line(done.stderr)
    assert f"cannot write {runs}/r/" in line and "[Errno 28] No space left on device" in line, line
    manifest = json.loads((runs / "r" / "manifest.json").read_text())     # the last good one, complete
    assert manifest["run_id"] == "r" and len(manifest["jobs"]) == 13
    assert not list((runs / "r").glob(".*.tmp"))
    Manifest.load(runs / "r")                                           # readable, journal included
    started = re.findall(r"\] RUNNING +(\S+)", done.stdout)
    # the filler, and those started before a write failed (small appends may still fit in a page)
    assert started[0] == "a_fill" and len(started) <= 4, done.stdout
    assert done.stdout.count("not started: cannot write") >= 13 - 4

    (runs / "filler").unlink()
    again = run_cli("--resume", "r", "--plain", "--parallel", "--max-workers", "4", cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr
    final = json.loads((runs / "r" / "manifest.json").read_text())
    assert final["status"] == "succeeded" and {rec["status"] for rec in final["jobs"]} == {"SUCCEEDED"}
    assert not (runs / "r" / "manifest.journal").exists()


def test_disk_full_at_start_is_one_line_and_leaves_nothing(make_repo: Repo, tmpfs) -> None:
    root = make_repo({"scripts/train_a.py": QUICK})
    runs = tmpfs(root / "runs", "64k")
    subprocess.run([sys.executable, "-c", FILLER, str(runs / "filler")], cwd=root, check=True, capture_output=True)
    done = run_cli("--run-id", "r", cwd=root)
    assert done.returncode == 74, done.stdout + done.stderr
    line = one_error_line(done.stderr)
    assert f"cannot write {runs}/r" in line and "[Errno 28]" in line, line
    assert sorted(p.name for p in runs.iterdir()) == ["filler"]


def test_read_only_checkout_lists_but_cannot_run(make_repo: Repo, tmpfs, tmp_path: Path) -> None:
    root = tmpfs(tmp_path / "ro", "4m")
    (root / "pyproject.toml").write_text("")
    (root / "scripts").mkdir()
    (root / "scripts" / "train_a.py").write_text(ARGPARSE_SCRIPT)
    remount = subprocess.run(["mount", "-o", "remount,ro", str(root)], capture_output=True, text=True)
    if remount.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
    listed = run_cli("--list", cwd=root)
    assert listed.returncode == 0 and "a " in listed.stdout, listed.stderr
    done = run_cli(cwd=root)
    assert done.returncode == 74, done.stdout + done.stderr
    line = one_error_line(done.stderr)
    assert f"cannot write {root}/runs" in line and "[Errno 30] Read-only file system" in line, line


# -- row 8: two runall processes at once -------------------------------------------------------

def test_same_run_id_started_twice_one_exits_2(make_repo: Repo) -> None:
    root = make_repo({"scripts/train_a.py": SLEEPY.format(s=1)})
    for attempt in range(3):                       # a race: try it a few times
        argv = [sys.executable, str(SHIM), "--run-id", f"same{attempt}", "--plain"]
        procs = [subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = sorted((p.wait(timeout=60), p.stderr.read()) for p in procs)
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        assert [code for code, _ in results] == [0, 2], results
        line = one_error_line(results[1][1])
        assert f"--run-id: run 'same{attempt}' already exists" in line or "is in use by another runall" in line


def test_two_resumes_of_one_run_one_refuses(make_repo: Repo) -> None:
    root = make_repo({"scripts/train_slow.py": "import os, time\n\nif __name__ == '__main__':\n"
                                               "    if os.path.exists('go'):\n        time.sleep(3)\n    else:\n"
                                               "        raise SystemExit(1)\n"})
    assert run_cli("--run-id", "r", "--plain", cwd=root).returncode == 1
    (root / "go").write_text("")
    first = subprocess.Popen([sys.executable, str(SHIM), "--resume", "r", "--plain"], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        log = root / "runs" / "r" / "logs" / "slow.attempt2.log"
        deadline = time.monotonic() + 20
        while not log.exists():
            assert time.monotonic() < deadline and first.poll() is None, "the first resume never started"
            time.sleep(0.05)
        second = run_cli("--resume", "r", cwd=root)
        assert second.returncode == 2, second.stdout + second.stderr
        line = one_error_line(second.stderr)
        assert "--resume: run r is in use by another runall process (run r, pid" in line, line
        out, err = first.communicate(timeout=30)
    finally:
        first.kill()
    assert first.returncode == 0, out + err
    assert json.loads((root / "runs" / "r" / "manifest.json").read_text())["status"] == "succeeded"


def test_two_runs_of_one_job_never_share_its_output_folder(make_repo: Repo) -> None:
    script = ARGPARSE_SCRIPT.replace('print("trained", a.epochs)', 'import time; time.sleep(2)\n'
                                     'print("trained", a.epochs)')
    root = make_repo({"scripts/train_m.py": script})
    a = subprocess.Popen([sys.executable, str(SHIM), "--run-id", "A", "--epochs", "1", "--plain"], cwd=root,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (root / "runs" / "A" / "logs" / "m.log").exists():
            assert time.monotonic() < deadline and a.poll() is None
            time.sleep(0.05)
        b = run_cli("--run-id", "B", "--epochs", "2", "--plain", cwd=root)
        out, err = a.communicate(timeout=30)
    finally:
        a.kill()
    assert a.returncode == 0, out + err
    assert b.returncode == 1, b.stdout + b.stderr
    mine = {rec["id"]: rec for rec in json.loads((root / "runs/A/manifest.json").read_text())["jobs"]}["m"]
    theirs = {rec["id"]: rec for rec in json.loads((root / "runs/B/manifest.json").read_text())["jobs"]}["m"]
    assert theirs["status"] == "FAILED" and theirs["metrics"] is None
    assert theirs["reason"].startswith("output directory results/m is in use by run A, pid ")
    assert json.loads((root / mine["metrics"]).read_text()) == {"epochs": 1}   # A's own metrics, not B's
    assert not (root / "runs" / ".locks").exists()


# -- row 17: huge grids -------------------------------------------------------------------------

def test_huge_grid_is_refused_before_it_is_built(make_repo: Repo) -> None:
    root = make_repo({"scripts/train_g.py": "import argparse\n\nif __name__ == '__main__':\n"
                                            "    p = argparse.ArgumentParser()\n    p.add_argument('--a')\n"
                                            "    p.add_argument('--b')\n    p.parse_args()\n"})
    values = ",".join(map(str, range(1000)))
    began = time.monotonic()
    done = run_cli("--list", "--grid", f"a={values}", "--grid", f"b={values}", cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    line = one_error_line(done.stderr)
    assert "job g: the grid makes 1,000,000 jobs (a=1000 x b=1000); max_jobs leaves room for 100,000" in line
    assert time.monotonic() - began < 20        # refused, not built (25 s and 1.2 GB before)
    (root / "pyproject.toml").write_text("[tool.runall]\nmax_jobs = 3\n")
    capped = run_cli("--list", "--grid", "a=1,2,3,4", cwd=root)
    assert capped.returncode == 2 and "room for 3 more" in one_error_line(capped.stderr)
    assert run_cli("--list", "--grid", "a=1,2,3", cwd=root).returncode == 0
    assert run_cli("--list", "--grid", "a=1,2,3,4", "--max-jobs", "4", cwd=root).returncode == 0
