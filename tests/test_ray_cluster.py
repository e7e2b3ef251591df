"""The Ray backend against a real Ray head: the same scratch repositories run on the local and
Ray backends must end the same way (states, exit codes, signals, attempts, logs), through a
timeout, a failure with a retry, a dependency chain and an interrupt, leaving no process behind.

The head is the one .ci/run started (RUNALL_TEST_RAY_ADDRESS), else one started here on a free
loopback port for the session. Without Ray installed these tests skip, except in CI (CI=true),
where that is a failure: the CI log must show they ran.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import psutil
import pytest
from conftest import REPO, SHIM
from helpers_procs import HERE as HELPERS, kill_pids, recorded_pids, survivors, wait_for

from runall.backends.base import TOKEN_VAR

IN_CI = os.environ.get("CI", "").lower() == "true"
ENV = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}      # each test names its cluster


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """The head's `127.0.0.1:PORT`."""
    if importlib.util.find_spec("ray") is None:
        (pytest.fail if IN_CI else pytest.skip)("ray is not installed: pip install -e '.[ray]' (.ci/run does)")
    if os.environ.get("RUNALL_TEST_RAY_ADDRESS"):
        yield os.environ["RUNALL_TEST_RAY_ADDRESS"]
        return
    sys.path.insert(0, str(REPO))
    from benchmarks.ray_head import RayHead

    with RayHead(cpus=2) as address:
        ENV.update({name: os.environ[name] for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")})
        yield address


def cli(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SHIM), "--root", str(root), "--plain", *args], cwd=root,
                          capture_output=True, text=True, timeout=timeout, env=ENV)


def backend_args(backend: str, address: str) -> list[str]:
    return ["--backend", "ray", "--ray-address", address] if backend == "ray" else ["--backend", "local"]


def manifest(root: Path, run: str) -> dict[str, Any]:
    return json.loads((root / "runs" / run / "manifest.json").read_text())


def outcome(data: dict[str, Any]) -> dict[str, tuple]:
    return {rec["id"]: (rec["status"], rec["exit_code"], rec["signal"], rec["attempts"], rec["reason"], rec["log"])
            for rec in data["jobs"]}


def logs(root: Path, run: str) -> dict[str, str]:
    folder = root / "runs" / run / "logs"
    return {path.name: path.read_text() for path in sorted(folder.glob("*.log"))}


def run_both(root: Path, address: str, *args: str) -> dict[str, subprocess.CompletedProcess]:
    """The same command on each backend, as runs `local` and `ray`."""
    return {backend: cli(root, *backend_args(backend, address), "--run-id", backend, *args)
            for backend in ("local", "ray")}


def helper_job(behaviour: str, *args: object) -> str:
    """A training script that becomes a helpers_procs job (pids in pids/<run id>; the token is
    `<run id>.<random>/<job id>`)."""
    return (f"import os, sys\n\nif __name__ == '__main__':\n"
            f"    run = os.environ[{TOKEN_VAR!r}].split('/')[0].rsplit('.', 1)[0]\n"
            f"    pids = os.path.join(os.getcwd(), 'pids', run)\n    os.makedirs(pids, exist_ok=True)\n"
            f"    os.execv(sys.executable, [sys.executable, {str(HELPERS)!r}, 'job', pids, {behaviour!r}, "
            f"*{[str(a) for a in args]!r}])\n")


BASIC = {
    "scripts/train_ok.py": "import os, sys\nenv = os.environ\n"
                           "print('fine', os.getcwd(), env['OMP_NUM_THREADS'], repr(env['CUDA_VISIBLE_DEVICES']), "
                           f"env[{TOKEN_VAR!r}].split('/')[1], env.get('FROM_JOB_FILE'), flush=True)\n"
                           "print('to stderr', file=sys.stderr)\n",
    "scripts/train_bad.py": "import sys\nprint('about to fail')\nsys.exit(3)\n",
    "scripts/train_daemon.py": helper_job("daemon", 60),
    "runall.yaml": "jobs:\n  - script: scripts/train_ok.py\n    cpus: 2\n    gpus: 0\n    env: {FROM_JOB_FILE: here}\n",
}


def test_success_failure_environment_and_leftovers_match_local(make_repo, ray_address: str) -> None:
    root = make_repo(BASIC)
    done = run_both(root, ray_address)
    for backend, result in done.items():
        assert result.returncode == 1, f"{backend}: {result.stdout}{result.stderr}"
        assert survivors(root / "pids" / backend, wait=2) == [], f"{backend} left the daemon running"
    local, ray = manifest(root, "local"), manifest(root, "ray")
    assert (local["backend"], ray["backend"]) == ("local", "ray")
    assert outcome(ray) == outcome(local) == {
        "bad": ("FAILED", 3, None, 1, None, "logs/bad.log"),
        "daemon": ("SUCCEEDED", 0, None, 1, None, "logs/daemon.log"),
        "ok": ("SUCCEEDED", 0, None, 1, None, "logs/ok.log")}
    assert logs(root, "ray") == logs(root, "local")
    assert logs(root, "ray")["ok.log"] == f"fine {root} 2 '' ok here\nto stderr\n"

    (root / "scripts/train_bad.py").write_text("print('fixed')\n")           # --resume reruns only `bad`
    for backend in ("local", "ray"):
        resumed = cli(root, "--resume", backend, *backend_args(backend, ray_address)[2:])
        assert resumed.returncode == 0, f"{backend}: {resumed.stdout}{resumed.stderr}"
    local, ray = manifest(root, "local"), manifest(root, "ray")
    assert ray["status"] == local["status"] == "succeeded" and ray["backend"] == "ray"
    assert outcome(ray)["bad"] == outcome(local)["bad"] == ("SUCCEEDED", 0, None, 2, None, "logs/bad.attempt2.log")
    assert logs(root, "ray")["bad.attempt2.log"] == "fixed\n"


CHAIN = {
    "scripts/train_slow.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n",
    "scripts/train_flaky.py": (f"import os, sys\ncounter = os.path.join('state', os.environ[{TOKEN_VAR!r}]"
                               ".replace('/', '_'))\nos.makedirs('state', exist_ok=True)\n"
                               "n = int(open(counter).read()) if os.path.exists(counter) else 0\n"
                               "open(counter, 'w').write(str(n + 1))\nprint('try', n + 1)\nsys.exit(1 if n == 0 else 0)\n"),
    "scripts/train_parent.py": "import time\ntime.sleep(0.5)\nprint('parent ends', time.time())\n",
    "scripts/train_child.py": "import time\nprint('child starts', time.time())\n",
    "scripts/train_broken.py": "raise SystemExit(2)\n",
    "scripts/train_orphan.py": "print('never')\n",
    "runall.yaml": ("jobs:\n  - script: scripts/train_slow.py\n    timeout: 1\n"
                    "  - script: scripts/train_flaky.py\n    retries: 1\n"
                    "  - script: scripts/train_child.py\n    after: [parent]\n"
                    "  - script: scripts/train_orphan.py\n    after: [broken]\n"),
}


def test_timeout_retry_and_dependencies_match_local(make_repo, ray_address: str) -> None:
    root = make_repo(CHAIN)
    done = run_both(root, ray_address, "--parallel", "--retry-delay", "0.1", "--grace", "1")
    for backend, result in done.items():
        assert result.returncode == 1, f"{backend}: {result.stdout}{result.stderr}"
    local, ray = manifest(root, "local"), manifest(root, "ray")
    assert outcome(ray) == outcome(local) == {
        "slow": ("TIMEOUT", None, "SIGTERM", 1, "timed out", "logs/slow.log"),
        "flaky": ("SUCCEEDED", 0, None, 2, None, "logs/flaky.attempt2.log"),
        "parent": ("SUCCEEDED", 0, None, 1, None, "logs/parent.log"),
        "child": ("SUCCEEDED", 0, None, 1, None, "logs/child.log"),
        "broken": ("FAILED", 2, None, 1, None, "logs/broken.log"),
        "orphan": ("SKIPPED", None, None, 0, "dependency broken did not succeed", None)}
    flaky = next(rec for rec in ray["jobs"] if rec["id"] == "flaky")
    assert [(a["status"], a["exit_code"]) for a in flaky["history"]] == [("FAILED", 1), ("SUCCEEDED", 0)]

    def strip_times(texts: dict[str, str]) -> dict[str, str]:
        return {name: " ".join(w for w in text.split() if not w[0].isdigit() or "." not in w)
                for name, text in texts.items()}

    assert strip_times(logs(root, "ray")) == strip_times(logs(root, "local"))
    ray_logs = logs(root, "ray")
    assert ray_logs["flaky.log"] == "try 1\n" and ray_logs["flaky.attempt2.log"] == "try 2\n"
    assert float(ray_logs["child.log"].split()[-1]) >= float(ray_logs["parent.log"].split()[-1])


def test_ctrl_c_stops_everything_like_local(make_repo, ray_address: str) -> None:
    """SIGINT mid-run: a job that ignores SIGTERM (with children, one in its own session) is
    killed after the grace, the queued job is cancelled, and no process is left."""
    root = make_repo({"scripts/train_tree.py": helper_job("tree", 60), "scripts/train_later.py": "print('never')\n",
                      "runall.yaml": "jobs:\n  - script: scripts/train_tree.py\n    priority: 10\n"})
    results = {}
    for backend in ("local", "ray"):
        pids = root / "pids" / backend
        proc = subprocess.Popen([sys.executable, str(SHIM), "--root", str(root), "--plain", "--run-id", backend,
                                 "--max-workers", "1", "--grace", "1", *backend_args(backend, ray_address)],
                                cwd=root, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert wait_for(lambda: len(recorded_pids(pids)) == 5, timeout=60), f"{backend}: the tree never started"
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=60)
            assert survivors(pids, wait=2) == [], f"{backend} left job processes running"
        finally:
            proc.kill()
            kill_pids(recorded_pids(pids))
        assert proc.returncode == 130, f"{backend}: {out}"
        results[backend] = manifest(root, backend)
    assert results["ray"]["status"] == results["local"]["status"] == "interrupted"
    assert outcome(results["ray"]) == outcome(results["local"]) == {
        "tree": ("CANCELLED", None, "SIGKILL", 1, "interrupted", "logs/tree.log"),
        "later": ("CANCELLED", None, None, 0, "interrupted", None)}


def test_kill_stale_finds_leftovers_by_token_on_the_nodes(ray_address: str, tmp_path: Path) -> None:
    """What a dead orchestrator left (found by token only, as `--resume` does) is killed."""
    from runall.backends.ray.backend import RayBackend
    from runall.backends.ray.settings import RaySettings

    pids = tmp_path / "pids"
    pids.mkdir()
    argv = [sys.executable, str(HELPERS), "job", str(pids), "tree", "60"]
    leftover = subprocess.Popen(argv, env={**ENV, TOKEN_VAR: "dead-run/job"}, start_new_session=True)
    other = subprocess.Popen(argv, env={**ENV, TOKEN_VAR: "other-run/job"}, start_new_session=True)
    backend = RayBackend([], RaySettings(ray_address, "test"))
    try:
        assert wait_for(lambda: len(recorded_pids(pids)) == 10, timeout=30)
        assert backend.kill_stale([{"token": "dead-run/job"}]) == 5
        leftover.wait(timeout=10)
        assert other.poll() is None and psutil.Process(other.pid).is_running()
    finally:
        backend.close()
        other.kill()
        kill_pids(recorded_pids(pids))


def test_a_job_no_node_can_hold_exits_2_before_anything_starts(make_repo, ray_address: str) -> None:
    root = make_repo({"scripts/train_a.py": "print('a')\n",
                      "runall.yaml": "jobs:\n  - script: scripts/train_a.py\n    cpus: 1\n    resources: {a100: 1}\n"})
    done = cli(root, *backend_args("ray", ray_address))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (f"runall: error: job a: asks for num_cpus=1, num_gpus=0, memory=-, resources={{'a100': 1}}, "
                           f"but no node of the Ray cluster at {ray_address} has that much\n")
    assert not (root / "runs").exists()


def test_without_an_address_a_local_instance_runs_the_jobs_and_stops(make_repo, ray_address: str) -> None:
    root = make_repo({"scripts/train_ok.py": "import os\nprint('embedded', os.environ['OMP_NUM_THREADS'])\n"})
    before = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] in ("raylet", "gcs_server")}
    done = cli(root, "--backend", "ray", "--run-id", "embedded", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    cores = len(os.sched_getaffinity(0))            # one job: all the cores, as locally
    assert logs(root, "embedded") == {"ok.log": f"embedded {cores}\n"}
    assert manifest(root, "embedded")["capacity"]["cpus"] == cores
    time.sleep(1)
    after = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] in ("raylet", "gcs_server")}
    assert after <= before, "the local Ray instance outlived the run"


def test_an_attempt_still_queued_is_cancelled_and_never_runs(ray_address: str, tmp_path: Path) -> None:
    """Stopping an attempt that waits for room: Ray drops the task; the running one gets SIGTERM."""
    from runall.backends.base import ExitInfo, LaunchSpec
    from runall.backends.ray.backend import RayBackend
    from runall.backends.ray.settings import RaySettings
    from runall.model import Job, JobStatus

    probe = RayBackend([], RaySettings(ray_address, "test"))
    cpus = probe.capacity().cpus                # the whole cluster, so the second job must queue
    probe.close()
    code = "import time; print('hogging', flush=True); time.sleep(60)"
    jobs = [Job(id=name, script="-", argv=[sys.executable, "-c", code], cpus=cpus) for name in ("hog", "queued")]
    backend = RayBackend(jobs, RaySettings(ray_address, "test"))
    specs = [LaunchSpec(job.id, 1, job.argv, tmp_path, {}, tmp_path / "logs" / f"{job.id}.log", f"q/{job.id}")
             for job in jobs]
    try:
        hog, queued = (backend.start(spec) for spec in specs)
        assert wait_for(lambda: "hogging" in (tmp_path / "logs/hog.log").read_text()
                        if (tmp_path / "logs/hog.log").exists() else False, timeout=30)
        for handle in (queued, hog):
            backend.terminate(handle)
        ended: dict[str, ExitInfo] = {}
        deadline = time.monotonic() + 30
        while len(ended) < 2 and time.monotonic() < deadline:
            ended.update((handle.job_id, info) for handle, info in backend.poll([h for h in (hog, queued)
                                                                                 if h.job_id not in ended], 0.5))
    finally:
        backend.close()
    assert ended["queued"] == ExitInfo(None, status=JobStatus.CANCELLED, reason="cancelled before it started")
    assert not (tmp_path / "logs/queued.log").exists()
    assert (ended["hog"].exit_code, ended["hog"].signal) == (None, "SIGTERM") and ended["hog"].peak_rss, ended
