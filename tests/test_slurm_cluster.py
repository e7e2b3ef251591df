"""SlurmBackend against a real Slurm cluster (tools/slurm/start-local-slurm.sh starts one).

Skipped where `sbatch` is missing, except in CI (CI=true), where that is a failure: the CI
log must show these tests ran. The minute-long TIMEOUT job is submitted when the module
starts, so its wait overlaps the other tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from conftest import SHIM, run_cli

from runall.backends.base import ExitInfo, LaunchSpec
from runall.backends.slurm.backend import Backoff, SlurmBackend, SlurmHandle
from runall.backends.slurm.render import SlurmSettings
from runall.model import Job
from runall.record.manifest import Manifest
from runall.run.events import JobStatus

IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.skipif(
    shutil.which("sbatch") is None and not IN_CI,
    reason="sbatch not found; start a local cluster with `sudo tools/slurm/start-local-slurm.sh`")

PY = sys.executable
STAMP = "import time, sys; print('start', time.time(), flush=True); time.sleep({s}); print('end', time.time())"


@pytest.fixture(scope="module")
def node_cpus() -> int:
    """The CPUs of the cluster's node; fails (CI) or skips when no controller answers."""
    if shutil.which("sbatch") is None:
        pytest.fail("CI=true but sbatch is missing: .ci/run should have started Slurm")
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    if "UP" not in ping.stdout:
        (pytest.fail if IN_CI else pytest.skip)(f"no Slurm controller answers: {ping.stdout or ping.stderr}")
    return int(subprocess.run(["sinfo", "-h", "-o", "%c"], capture_output=True, text=True).stdout.split()[0])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slurm")


def launch(backend: SlurmBackend, job: Job, workdir: Path) -> SlurmHandle:
    spec = LaunchSpec(job.id, 1, job.argv, workdir, {"GREETING": "hi there"}, workdir / "logs" / f"{job.id}.log",
                      f"test/{job.id}")
    return backend.start(spec)


def wait_all(backend: SlurmBackend, handles: list[SlurmHandle], limit: float) -> dict[str, ExitInfo]:
    """Poll until every handle has ended; job id -> ExitInfo."""
    ended: dict[str, ExitInfo] = {}
    deadline = time.monotonic() + limit
    pending = list(handles)
    while pending:
        assert time.monotonic() < deadline, f"still running after {limit}s: {pending}\n{squeue_active(pending)}"
        for handle, info in backend.poll(pending, 0.5):
            pending.remove(handle)
            ended[handle.job_id] = info
    return ended


def squeue_active(handles: list[SlurmHandle]) -> str:
    ids = ",".join(h.slurm_id for h in handles)
    return subprocess.run(["squeue", "-h", f"--jobs={ids}", "-o", "%i %T"], capture_output=True, text=True).stdout


def started_running(backend: SlurmBackend, handle: SlurmHandle, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while backend.query([handle.slurm_id])[handle.slurm_id].state != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.2)


@pytest.fixture(scope="module", autouse=True)
def slurm_timeout(node_cpus: int, workdir: Path) -> Iterator[tuple[SlurmBackend, SlurmHandle]]:
    """A job that outlives its 1-minute Slurm limit, started first (Slurm needs ~75 s to kill it)."""
    job = Job(id="too_slow", script="-", argv=[PY, "-c", "import time; print('sleeping'); time.sleep(300)"],
              timeout=30)
    backend = SlurmBackend([job], SlurmSettings())
    handle = launch(backend, job, workdir)
    yield backend, handle
    backend.kill(handle)


def test_success_exit_code_log_and_environment(workdir: Path):
    job = Job(id="ok", script="-", argv=[PY, "-c", "import os; print('hello', os.environ['GREETING'], os.getcwd())"])
    backend = SlurmBackend([job], SlurmSettings(setup=("export EXTRA=1",)))
    handle = launch(backend, job, workdir)
    assert wait_all(backend, [handle], 60) == {"ok": ExitInfo(0, status=JobStatus.SUCCEEDED)}
    assert (workdir / "logs" / "ok.log").read_text() == f"hello hi there {workdir}\n"
    assert (workdir / "logs" / "ok.sbatch").read_text().endswith('exit "$runall_status"\n')


def test_failing_exit_code(workdir: Path):
    job = Job(id="bad", script="-", argv=[PY, "-c", "import sys; print('oops'); sys.exit(3)"])
    backend = SlurmBackend([job], SlurmSettings())
    handle = launch(backend, job, workdir)
    assert wait_all(backend, [handle], 60) == {"bad": ExitInfo(3, status=JobStatus.FAILED)}
    assert (workdir / "logs" / "bad.log").read_text() == "oops\n"


def test_submission_error_raises_oserror_and_explains_in_the_log(workdir: Path):
    job = Job(id="nowhere", script="-", argv=[PY, "-c", "pass"])
    backend = SlurmBackend([job], SlurmSettings(partition="no_such_partition"))
    with pytest.raises(OSError, match="sbatch"):
        launch(backend, job, workdir)
    assert "cannot submit" in (workdir / "logs" / "nowhere.log").read_text()


def test_terminate_cancels_running_and_queued_jobs(workdir: Path):
    jobs = [Job(id=f"long{i}", script="-", argv=[PY, "-c", STAMP.format(s=120)]) for i in range(2)]
    backend = SlurmBackend(jobs, SlurmSettings(jobs={"long1": {"directives": ("--begin=now+3600",)}}))
    handles = [launch(backend, job, workdir) for job in jobs]
    started_running(backend, handles[0])
    for handle in handles:
        backend.terminate(handle)
    ended = wait_all(backend, handles, 60)
    assert ended["long0"].signal == "SIGTERM"
    assert ended["long1"] == ExitInfo(None, status=JobStatus.CANCELLED, reason="Slurm CANCELLED (BeginTime)")
    assert squeue_active(handles) == ""


def test_kill_ends_a_job_that_ignores_sigterm_at_once(workdir: Path):
    code = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('stubborn', flush=True); time.sleep(120)")
    job = Job(id="stubborn", script="-", argv=[PY, "-c", code])
    backend = SlurmBackend([job], SlurmSettings())
    handle = launch(backend, job, workdir)
    log = workdir / "logs" / "stubborn.log"
    deadline = time.monotonic() + 30
    while not (log.exists() and "stubborn" in log.read_text()):     # SIGTERM is ignored from here on
        assert time.monotonic() < deadline
        time.sleep(0.1)
    backend.terminate(handle)
    time.sleep(1)
    began = time.monotonic()
    backend.kill(handle)
    assert wait_all(backend, [handle], 20)["stubborn"].signal == "SIGKILL"
    assert time.monotonic() - began < 20       # not the cluster's 30 s KillWait
    assert squeue_active([handle]) == ""


def test_kill_stale_finds_jobs_by_id_or_token_and_close_cancels_the_rest(workdir: Path):
    jobs = [Job(id=f"left{i}", script="-", argv=[PY, "-c", STAMP.format(s=120)]) for i in range(3)]
    old = SlurmBackend(jobs, SlurmSettings(directives=("--begin=now+3600",)))     # a dead orchestrator's
    handles = [launch(old, job, workdir) for job in jobs]
    fresh = SlurmBackend(jobs, SlurmSettings())
    assert fresh.kill_stale([handles[0].ref(), {"token": handles[1].token}]) == 2
    assert squeue_active(handles).split()[::2] == [handles[2].slurm_id]
    assert fresh.kill_stale([handles[0].ref()]) == 0
    old.close()
    assert squeue_active(handles) == ""


def test_dependencies_become_afterok(workdir: Path):
    jobs = [Job(id="parent", script="-", argv=[PY, "-c", STAMP.format(s=2)]),
            Job(id="child", script="-", argv=[PY, "-c", STAMP.format(s=0)], after=["parent"]),
            Job(id="broken", script="-", argv=[PY, "-c", "raise SystemExit(1)"]),
            Job(id="never", script="-", argv=[PY, "-c", "print('ran')"], after=["broken"])]
    backend = SlurmBackend(jobs, SlurmSettings())
    handles = [launch(backend, job, workdir) for job in jobs]
    assert "--dependency=afterok:" + handles[0].slurm_id in (workdir / "logs" / "child.sbatch").read_text()
    ended = wait_all(backend, handles, 60)
    assert [ended[job.id].exit_code for job in jobs] == [0, 0, 1, None]
    assert ended["never"].status is JobStatus.SKIPPED and not (workdir / "logs" / "never.log").exists()
    parent_end = float((workdir / "logs" / "parent.log").read_text().split()[-1])
    child_start = float((workdir / "logs" / "child.log").read_text().split()[1])
    assert child_start >= parent_end


def test_slurm_time_limit_ends_in_timeout(slurm_timeout: tuple[SlurmBackend, SlurmHandle]):
    backend, handle = slurm_timeout
    assert wait_all(backend, [handle], 150) == {
        "too_slow": ExitInfo(None, "SIGTERM", status=JobStatus.TIMEOUT, reason="Slurm TIMEOUT (TimeLimit)")}


def test_four_jobs_run_two_at_a_time(node_cpus: int, workdir: Path,
                                     slurm_timeout: tuple[SlurmBackend, SlurmHandle]):
    """Each job asks for half the node, so Slurm runs them in two waves of two."""
    slurm_timeout[0].kill(slurm_timeout[1])     # ended already, unless its test was deselected
    wait_all(*slurm_timeout[:1], [slurm_timeout[1]], 30)
    jobs = [Job(id=f"wave{i}", script="-", argv=[PY, "-c", STAMP.format(s=3)], cpus=max(1, node_cpus // 2))
            for i in range(4)]
    backend = SlurmBackend(jobs, SlurmSettings(), backoff=Backoff(0.2, 1.0))
    began = time.time()
    handles = [launch(backend, job, workdir) for job in jobs]
    assert wait_all(backend, handles, 90) == {job.id: ExitInfo(0, status=JobStatus.SUCCEEDED) for job in jobs}
    spans = []
    for job in jobs:
        words = (workdir / "logs" / f"{job.id}.log").read_text().split()
        spans.append((float(words[1]), float(words[3])))
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most == 2, spans
    assert min(s for s, _ in spans) - began < 20         # the first wave starts without waiting for a slot


# -- the whole CLI with --backend slurm --------------------------------------------------------

E2E_TREE = {
    "scripts/train_fake_ok.py": "import sys\nprint('fine', flush=True)\nprint('to stderr', file=sys.stderr)\n",
    "scripts/train_fake_bad.py": "import sys\nprint('about to fail')\nsys.exit(3)\n",
    "scripts/train_other.py": "raise SystemExit('not selected')\n",
}


def cli_run(root: Path, backend: str) -> tuple[subprocess.CompletedProcess, dict]:
    done = run_cli("--root", str(root), "--only", "fake*", "--plain", "--backend", backend,
                   "--run-id", backend, cwd=root)
    return done, json.loads((root / "runs" / backend / "manifest.json").read_text())


def test_cli_slurm_run_matches_a_local_run(make_repo):
    root = make_repo(E2E_TREE)
    local, local_manifest = cli_run(root, "local")
    slurm_, slurm_manifest = cli_run(root, "slurm")
    assert (local.returncode, slurm_.returncode) == (1, 1), slurm_.stdout + slurm_.stderr
    assert [local_manifest["status"], slurm_manifest["status"]] == ["failed", "failed"]
    assert (local_manifest["backend"], slurm_manifest["backend"]) == ("local", "slurm")

    def outcome(manifest: dict) -> dict:
        return {rec["id"]: (rec["status"], rec["exit_code"], rec["signal"], rec["attempts"], rec["log"])
                for rec in manifest["jobs"]}

    assert outcome(slurm_manifest) == outcome(local_manifest) == {
        "fake_bad": ("FAILED", 3, None, 1, "logs/fake_bad.log"),
        "fake_ok": ("SUCCEEDED", 0, None, 1, "logs/fake_ok.log")}
    for job_id in ("fake_ok", "fake_bad"):
        assert ((root / "runs/slurm/logs" / f"{job_id}.log").read_text()
                == (root / "runs/local/logs" / f"{job_id}.log").read_text())
    token = slurm_manifest["token"]
    assert token.startswith("slurm.")
    (script,) = (root / "runs/slurm/logs").glob("*.sbatch")          # both went out as one array
    text = script.read_text()
    assert "#SBATCH --array=0-1\n" in text and f"#SBATCH --comment={token}/fake_*" in text
    lines = script.with_suffix(".args").read_text().splitlines()
    assert [line.split(" -- ")[1] for line in lines] == [f"{PY} scripts/train_fake_{n}.py" for n in ("bad", "ok")]


def test_cli_dry_run_prints_batch_scripts_and_submits_nothing(make_repo):
    root = make_repo({**E2E_TREE, "pyproject.toml": '[tool.runall]\nbackend = "slurm"\n'
                                                    '[tool.runall.slurm]\npartition = "nowhere"\n'})
    done = run_cli("--root", str(root), "--only", "fake*", "--dry-run", cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("#!/bin/bash") == 1 and "#SBATCH --partition=nowhere" in done.stdout
    assert "#SBATCH --array=0-1\n" in done.stdout and "RUNALL_JOB_TOKEN=RUN_ID/fake_ok -- " in done.stdout
    assert not (root / "runs").exists()


def test_cli_ctrl_c_leaves_nothing_in_squeue(make_repo):
    root = make_repo({"scripts/train_fake_long.py": "import time\nprint('started', flush=True)\ntime.sleep(300)\n"})
    proc = subprocess.Popen([sys.executable, str(SHIM), "--root", str(root), "--backend", "slurm", "--plain",
                             "--run-id", "int", "--grace", "5"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        log, deadline = root / "runs/int/logs/fake_long.log", time.monotonic() + 120
        while not (log.exists() and "started" in log.read_text()):
            assert time.monotonic() < deadline and proc.poll() is None, "the job never started"
            time.sleep(0.2)
        slurm_id = Manifest.load(root / "runs/int").record("fake_long").backend_ref["slurm_job_id"]
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    queued = subprocess.run(["squeue", "-h", f"--jobs={slurm_id}", "-o", "%i %T"], capture_output=True, text=True)
    assert queued.stdout.strip() == ""
    record = json.loads((root / "runs/int/manifest.json").read_text())["jobs"][0]
    assert (record["status"], record["reason"]) == ("CANCELLED", "interrupted")


def test_cli_detach_then_status(make_repo):
    root = make_repo({**E2E_TREE, "scripts/train_fake_child.py": "print('ran')\n",
                      "runall.yaml": "jobs:\n  - script: scripts/train_fake_child.py\n    after: [fake_bad]\n"})
    began = time.monotonic()
    done = run_cli("--root", str(root), "--only", "fake*", "--backend", "slurm", "--detach", "--run-id", "d", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUBMITTED") == 3 and time.monotonic() - began < 30
    refs = {rec["id"]: rec["backend_ref"] for rec in json.loads((root / "runs/d/manifest.json").read_text())["jobs"]}
    assert all(ref and ref["slurm_job_id"] for ref in refs.values())
    child = (root / "runs/d/logs/fake_child.sbatch").read_text()
    assert f"--dependency=afterok:{refs['fake_bad']['slurm_job_id']}" in child
    deadline = time.monotonic() + 120
    while True:
        status = run_cli("--root", str(root), "--status", cwd=root)
        assert status.returncode == 0, status.stderr
        if "Run d: submitted" not in status.stdout:
            break
        assert time.monotonic() < deadline, status.stdout
        time.sleep(1)
    assert status.stdout.rstrip().endswith("Run d: failed"), status.stdout
    manifest = json.loads((root / "runs/d/manifest.json").read_text())
    assert (manifest["status"], manifest["exit_code"]) == ("failed", 1)
    assert {rec["id"]: (rec["status"], rec["exit_code"]) for rec in manifest["jobs"]} == {
        "fake_ok": ("SUCCEEDED", 0), "fake_bad": ("FAILED", 3), "fake_child": ("SKIPPED", None)}
    assert (root / "runs/d/logs/fake_ok.log").read_text() == "fine\nto stderr\n"
