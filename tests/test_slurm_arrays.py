"""Job arrays on the one-node Slurm cluster (tools/slurm/start-local-slurm.sh starts it): a
300-job grid goes out in a few sbatch calls, and every element's state, exit code, log,
retries, `after:` dependency and `--resume` land in the manifest as with single jobs.

Skipped where `sbatch` is missing, except in CI (CI=true). The cluster's scheduler starts
about two elements a second on its two CPUs, so the grid takes two to three minutes (more
while other jobs share the cluster).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHIM

IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.skipif(
    shutil.which("sbatch") is None and not IN_CI,
    reason="sbatch not found; start a local cluster with `sudo tools/slurm/start-local-slurm.sh`")

SIZE = 300
GRID = """\
import argparse, os, sys
p = argparse.ArgumentParser()
p.add_argument("--a", type=int)
a = p.parse_args()
print(f"element {a.a}", flush=True)
if a.a == 7 and not os.path.exists("flaky-7"):      # fails its first attempt only
    open("flaky-7", "w").close()
    sys.exit(5)
if a.a == 13 and not os.path.exists("fixed-13"):    # fails until the test fixes it
    sys.exit(3)
"""


def cli(root: Path, calls: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI with an `sbatch` on PATH that records each call, then runs the real one."""
    wrappers = root.parent / "bin"
    if not wrappers.exists():
        wrappers.mkdir()
        wrapper = wrappers / "sbatch"
        wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {shutil.which("sbatch")} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{wrappers}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, str(SHIM), *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=900)


def sbatch_calls(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


@pytest.mark.timeout(900)
def test_a_300_job_grid_goes_out_as_an_array(make_repo) -> None:
    if shutil.which("sbatch") is None:
        pytest.fail("CI=true but sbatch is missing: .ci/run should have started Slurm")
    root = make_repo({"scripts/train_g.py": GRID, "scripts/train_report.py": "print('report ran')\n",
                      "runall.yaml": "jobs:\n  - script: scripts/train_report.py\n    after: [g]\n"})
    calls = root.parent / "sbatch-calls"
    values = ",".join(map(str, range(SIZE)))
    done = cli(root, calls, "--backend", "slurm", "--grid", f"a={values}", "--retries", "1", "--retry-delay", "0",
               "--max-workers", "2", "--run-id", "r", "-q")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    assert sbatch_calls(calls) <= 5, calls.read_text()
    first = calls.read_text().splitlines()[0].split()[-1]
    assert f"#SBATCH --array=0-{SIZE - 1}%2\n" in Path(first).read_text()

    manifest = json.loads((root / "runs/r/manifest.json").read_text())
    records = {rec["id"]: rec for rec in manifest["jobs"]}
    assert len(records) == SIZE + 1
    for i in range(SIZE):
        rec = records[f"g@a={i}"]
        want = ("FAILED", 3, 2) if i == 13 else ("SUCCEEDED", 0, 2 if i == 7 else 1)
        assert (rec["status"], rec["exit_code"], rec["attempts"]) == want, rec
        assert (root / "runs/r" / rec["log"]).read_text() == f"element {i}\n"
        assert all("_" in h["backend_ref"]["slurm_job_id"] or h["attempt"] > 1 for h in rec["history"])
    flaky = records["g@a=7"]
    assert [(h["status"], h["exit_code"]) for h in flaky["history"]] == [("FAILED", 5), ("SUCCEEDED", 0)]
    assert flaky["log"].endswith(".attempt2.log") and flaky["history"][0]["log"] != flaky["log"]
    assert (records["report"]["status"], records["report"]["reason"]) == ("SKIPPED", "dependency g@a=13 did not succeed")

    (root / "fixed-13").write_text("")
    before = sbatch_calls(calls)
    again = cli(root, calls, "--resume", "r", "-q")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    assert sbatch_calls(calls) - before == 2              # the failed element, then the report after it
    records = {rec["id"]: rec for rec in json.loads((root / "runs/r/manifest.json").read_text())["jobs"]}
    assert (records["g@a=13"]["status"], records["g@a=13"]["attempts"]) == ("SUCCEEDED", 3)
    assert records["report"]["status"] == "SUCCEEDED"
    assert (root / "runs/r" / records["report"]["log"]).read_text() == "report ran\n"
    assert sum(rec["status"] == "SUCCEEDED" for rec in records.values()) == SIZE + 1
