"""Multi-process jobs, requeues and time limits on the real one-node Slurm cluster.

- brain MRI under torchrun (2 CPU processes, srun + c10d rendezvous on the first node), requeued
  with `scontrol requeue` once it has a checkpoint: the attempt ends PREEMPTED and the next one
  resumes from the checkpoint and succeeds;
- a detached run's requeue seen by `--status`;
- the time-limit warning: the job gets SIGTERM before its limit, saves, and ends TIMEOUT.

Slurm holds a requeued job about two minutes before it may start again (credential expiry);
the tests shorten that hold to 3 s with `scontrol update StartTime=now+3`, as an operator could.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from conftest import SHIM, run_cli
from test_slurm_cluster import node_cpus, pytestmark  # noqa: F401 - the cluster fixture and the skip rule

from runall.backends.slurm.backend import SlurmBackend, SlurmHandle
from runall.backends.slurm.settings import SlurmSettings
from runall.model import Job, JobStatus
from runall.run.resources import Allocation
from runall.run.runner import launch_spec

PY = sys.executable
BRAIN_MRI = "from medmodels.training.train_brain_mri import main\nraise SystemExit(main())\n"
DDP_JOBS = """\
jobs:
  - script: scripts/train_brain_mri.py
    launcher: torchrun
    procs: 2
    args: {epochs: 2, folds: 2, phantoms: 64, image-size: 32, batch-size: 16, seed: 1}
"""
REQUEUE_ONCE = ("import os, time\nn = os.environ.get('SLURM_RESTART_COUNT', '0')\n"
                "print('restart', n, flush=True)\ntime.sleep(60 if n == '0' else 1)\n")
SAVE_ON_TERM = ("import signal, sys, time\n"
                "def save(*_):\n    print('saved', flush=True)\n    sys.exit(143)\n"
                "signal.signal(signal.SIGTERM, save)\nprint('working', flush=True)\ntime.sleep(600)\n")


def requeue(slurm_id: str) -> None:
    """`scontrol requeue`, then, once the job is queued again, lift the hold Slurm puts on it."""
    subprocess.run(["scontrol", "requeue", slurm_id], check=True, capture_output=True)
    deadline = time.monotonic() + 60
    while subprocess.run(["squeue", "-h", f"--jobs={slurm_id}", "--Format=State:|,RestartCnt:|"], capture_output=True,
                         text=True).stdout.strip() != "PENDING|1|":
        assert time.monotonic() < deadline, "the job was not requeued"
        time.sleep(0.2)
    # slurmd refuses the job's next launch within the second its last one was revoked: start it in 3 s
    subprocess.run(["scontrol", "update", f"JobId={slurm_id}", "StartTime=now+3"], check=True, capture_output=True)


def manifest(root: Path, run_id: str) -> dict:
    return json.loads((root / "runs" / run_id / "manifest.json").read_text())


def slurm_id_of(root: Path, run_id: str, deadline: float) -> str:
    while True:
        try:
            ref = manifest(root, run_id)["jobs"][0]["backend_ref"]
        except (OSError, ValueError, KeyError, IndexError):
            ref = None
        if ref and ref.get("slurm_job_id"):
            return str(ref["slurm_job_id"])
        assert time.monotonic() < deadline, "never submitted"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def time_limited(node_cpus: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SlurmBackend, SlurmHandle, Path]]:
    """A job that would run 10 minutes under a 1-minute limit, warned 50 s before it; submitted
    when the module starts, so its wait overlaps the other tests."""
    folder = tmp_path_factory.mktemp("slurm-warning")
    job = Job(id="warned", script="-", argv=[PY, "-c", SAVE_ON_TERM], timeout=60)
    backend = SlurmBackend([job], SlurmSettings(warning_time=50))
    spec = launch_spec(folder / "run", "run", job, Allocation(1, (), 0), 1, folder)
    handle = backend.start(spec)
    yield backend, handle, spec.log_path
    backend.kill(handle)


def test_ddp_brain_mri_is_requeued_and_resumes_from_its_checkpoint(make_repo, time_limited):
    root = make_repo({"scripts/train_brain_mri.py": BRAIN_MRI, "runall.yaml": DDP_JOBS})
    proc = subprocess.Popen([PY, str(SHIM), "--root", str(root), "--backend", "slurm", "--plain", "--run-id", "ddp"],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        slurm_id = slurm_id_of(root, "ddp", deadline)
        checkpoint = root / "results" / "brain_mri" / "checkpoint.pt"
        while not checkpoint.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "no checkpoint before the run ended"
            time.sleep(0.05)
        requeue(slurm_id)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            subprocess.run(["scancel", "--name=brain_mri"], capture_output=True)
    assert proc.returncode == 0, out
    record = manifest(root, "ddp")["jobs"][0]
    assert (record["status"], record["attempts"], record["log"]) == ("SUCCEEDED", 2, "logs/brain_mri.attempt2.log")
    assert [(h["status"], h["log"]) for h in record["history"]] == [
        ("PREEMPTED", "logs/brain_mri.log"), ("SUCCEEDED", "logs/brain_mri.attempt2.log")]
    assert "requeued by Slurm" in record["history"][0]["reason"] and "PREEMPTED" in out
    logs = root / "runs" / "ddp" / "logs"
    script = (logs / "brain_mri.sbatch").read_text()
    for line in ("#SBATCH --nodes=1\n", "#SBATCH --ntasks-per-node=1\n", "#SBATCH --requeue\n",
                 'export PET_RDZV_ENDPOINT="${runall_nodes[0]}:', "srun --nodes=1 --ntasks=1 --ntasks-per-node=1 "):
        assert line in script
    first, second = (logs / "brain_mri.log").read_text(), (logs / "brain_mri.attempt2.log").read_text()
    assert "[rank0]:brain_mri: checkpoint saved" in first and "[rank1]:train_brain_mri.py: stopped by SIGTERM" in first
    assert "[rank0]:brain_mri: resuming from" in second and "[rank0]:brain_mri: wrote" in second
    metrics = json.loads((root / "results" / "brain_mri" / "metrics.json").read_text())
    assert metrics["training"]["resumed_from"] is not None and metrics["environment"]["processes"] == 2


def test_status_of_a_detached_run_records_the_requeue(make_repo, time_limited):
    root = make_repo({"scripts/train_once.py": REQUEUE_ONCE})
    done = run_cli("--root", str(root), "--backend", "slurm", "--detach", "--run-id", "d", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    deadline = time.monotonic() + 120
    slurm_id = slurm_id_of(root, "d", deadline)
    log = root / "runs" / "d" / "logs" / "once.log"
    while not (log.exists() and "restart 0" in log.read_text()):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.2)
    requeue(slurm_id)
    while True:
        status = run_cli("--root", str(root), "--status", "d", cwd=root)
        assert status.returncode == 0, status.stderr
        if "Run d: submitted" not in status.stdout:
            break
        assert time.monotonic() < deadline, status.stdout
        time.sleep(1)
    record = manifest(root, "d")["jobs"][0]
    assert (record["status"], record["attempts"]) == ("SUCCEEDED", 2)
    assert [h["status"] for h in record["history"]] == ["PREEMPTED", "SUCCEEDED"]
    assert (root / "runs" / "d" / "logs" / "once.attempt2.log").read_text() == "restart 1\n"


def test_time_limit_warning_lets_the_job_save_and_it_ends_timeout(time_limited):
    backend, handle, log = time_limited
    deadline = time.monotonic() + 180
    while not (ended := backend.poll([handle], 1.0)):
        assert time.monotonic() < deadline, "still running"
    info = ended[0][1]
    assert (info.status, info.reason) == (JobStatus.TIMEOUT, "Slurm TIMEOUT (TimeLimit)")
    text = log.read_text()
    assert "working\nsaved\n" in text, text
    assert "runall: the job was sent SIGTERM 50 s before its time limit and stopped (status 143)" in text
