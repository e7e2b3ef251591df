"""Launchers: which jobs get one, the commands they become (local and Slurm), and real torchrun
runs whose ranks are prefixed in the log and stopped together by timeouts and interrupts."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli

from helpers_procs import (run_plain as run, driver_argv, job_argv, kill_pids, recorded_pids, survivors, wait_for,
                           write_spec)
from runall.backends.local.backend import LocalBackend
from runall.backends.slurm.body import restart_log_prefix
from runall.backends.slurm.render import render_script
from runall.backends.slurm.settings import SlurmSettings, parse_settings
from runall.config import ExecutionOptions
from runall.errors import UsageError
from runall.model import Job
from runall.plan.jobfile import load_jobfile
from runall.plan.launchers import with_launcher
from runall.run.launchers import local_command, node_command
from runall.run.resources import Allocation
from runall.run.runner import launch_spec, log_name

PY = sys.executable
TORCHRUN = str(Path(PY).parent / "torchrun")


def make_job(**fields) -> Job:
    return Job(**{"id": "ddp", "script": "train_ddp.py", "argv": [PY, "train_ddp.py", "--epochs", "2"], **fields})


def spec_for(job: Job, attempt: int = 1, cpus: int | None = None):
    return launch_spec(Path("/r/runs/R"), "R", job, Allocation(cpus or job.cpus or 1, (), 0), attempt,
                       Path("/r"))


# -- which jobs run through a launcher ----------------------------------------------------------

def test_default_launcher_applies_where_a_job_names_none_and_none_opts_out():
    jobs = [make_job(id="a"), make_job(id="b", launcher="accelerate"), make_job(id="c", launcher="none")]
    assert [j.launcher for j in with_launcher(jobs, "torchrun")] == ["torchrun", "accelerate", None]
    assert [j.launcher for j in with_launcher(jobs)] == [None, "accelerate", None]


@pytest.mark.parametrize("fields, message", [
    ({"procs": 2}, "procs=2 starts several processes, which needs a launcher"),
    ({"nodes": 2}, "nodes=2 starts several processes"),
    ({"nodes": 2, "launcher": "accelerate"}, "accelerate launch needs a machine rank per node"),
])
def test_jobs_that_need_a_launcher_say_so(fields, message):
    with pytest.raises(UsageError, match=message) as err:
        with_launcher([make_job(**fields)])
    assert "job ddp" in str(err.value)


def test_a_gpu_job_without_a_launcher_stays_one_process():
    assert with_launcher([make_job(gpus=2)])[0].launcher is None


def test_job_file_keys_and_their_errors(make_repo):
    root = make_repo({"train_ddp.py": "pass\n"})
    (root / "runall.yaml").write_text("jobs:\n  - script: train_ddp.py\n    launcher: torchrun\n    procs: 2\n"
                                      "    nodes: 3\n")
    assert load_jobfile(root / "runall.yaml", root)[0].fields == {"launcher": "torchrun", "procs": 2, "nodes": 3}
    for text, message in (("    launcher: mpirun\n", "runall.yaml:3: jobs[0].launcher: must be one of torchrun"),
                          ("    procs: 0\n", "runall.yaml:3: jobs[0].procs: must be an integer >= 1"),
                          ("    procs: 2\n    gpus: 4\n", "runall.yaml:2: jobs[0]: procs=2 but gpus=4")):
        (root / "runall.yaml").write_text("jobs:\n  - script: train_ddp.py\n" + text)
        with pytest.raises(UsageError, match=re.escape(message)):
            load_jobfile(root / "runall.yaml", root)


# -- the commands -------------------------------------------------------------------------------

def test_torchrun_locally_one_process_per_gpu_standalone_rendezvous():
    spec = spec_for(make_job(launcher="torchrun", gpus=2, cpus=8))
    assert local_command(spec.argv, spec.launch) == [
        TORCHRUN, "--standalone", "--nnodes=1", "--nproc-per-node=2", "--log-dir=/r/runs/R/logs/ddp.ranks", "--tee=3",
        "train_ddp.py", "--epochs", "2"]
    assert spec.env["OMP_NUM_THREADS"] == "4"                      # 8 CPUs shared by 2 processes
    assert spec.env["TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE"] == "[rank${rank}]:"


def test_python_m_torch_distributed_run_uses_the_jobs_interpreter_and_cpu_procs():
    job = make_job(launcher="torch.distributed.run", procs=3, cpus=2, env={"OMP_NUM_THREADS": "2"})
    spec = spec_for(job, attempt=2)
    assert local_command(spec.argv, spec.launch)[:7] == [
        PY, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc-per-node=3",
        "--log-dir=/r/runs/R/logs/ddp.attempt2.ranks"]
    assert spec.env["OMP_NUM_THREADS"] == "2"                      # the job's own env wins


def test_accelerate_gets_a_port_and_is_told_to_use_the_cpu():
    spec = spec_for(make_job(launcher="accelerate", procs=2, cpus=2))
    command = local_command(spec.argv, spec.launch, port=29611)
    assert command[1:] == ["launch", "--num_processes=2", "--num_machines=1", "--multi_gpu",
                           "--main_process_port=29611", "--tee=3", "--log_dir=/r/runs/R/logs/ddp.ranks",
                           "train_ddp.py", "--epochs", "2"]
    assert spec.env["ACCELERATE_USE_CPU"] == "true"
    single = spec_for(make_job(launcher="accelerate", gpus=1))
    assert local_command(single.argv, single.launch)[1:] == ["launch", "--num_processes=1", "--num_machines=1",
                                                              "train_ddp.py", "--epochs", "2"]
    assert "ACCELERATE_USE_CPU" not in single.env


def test_free_ports_differ_between_accelerate_jobs():
    spec = spec_for(make_job(launcher="accelerate", procs=2))
    ports = {next(a for a in local_command(spec.argv, spec.launch) if a.startswith("--main_process_port"))
             for _ in range(5)}
    assert len(ports) > 1


def test_node_command_rendezvous_comes_from_the_batch_script():
    spec = spec_for(make_job(launcher="torchrun", procs=2, nodes=4))
    assert node_command(spec.argv, spec.launch) == [
        TORCHRUN, "--nnodes=4", "--rdzv-backend=c10d", "--nproc-per-node=2", "--log-dir=/r/runs/R/logs/ddp.ranks",
        "--tee=3", "train_ddp.py", "--epochs", "2"]


def test_slurm_multi_node_script():
    job = make_job(launcher="torchrun", gpus=4, cpus=16, nodes=2, timeout=3600)
    text = render_script(job, spec_for(job), SlurmSettings(warning_time=120))
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1", "#SBATCH --cpus-per-task=16",
                 "#SBATCH --gres=gpu:4", "#SBATCH --time=60", "#SBATCH --signal=B:USR1@120", "#SBATCH --requeue",
                 'runall_nodes=( $(scontrol show hostnames "$SLURM_JOB_NODELIST") )',
                 'export PET_RDZV_ENDPOINT="${runall_nodes[0]}:$(( 20000 + SLURM_JOB_ID % 20000 ))"',
                 'export PET_RDZV_ID="$SLURM_JOB_ID"',
                 f"srun --nodes=2 --ntasks=2 --ntasks-per-node=1 --cpus-per-task=16 --kill-on-bad-exit=1 {TORCHRUN} "
                 "--nnodes=2 --rdzv-backend=c10d --nproc-per-node=4 --log-dir=/r/runs/R/logs/ddp.ranks --tee=3 "
                 "train_ddp.py --epochs 2 &"):
        assert line + "\n" in text
    assert "--ntasks=1\n" not in text


def test_slurm_without_a_time_limit_or_requeue():
    job = make_job()
    text = render_script(job, spec_for(job), SlurmSettings(requeue=False))
    assert "--signal" not in text and "--requeue" not in text and "SLURM_RESTART_COUNT" not in text
    assert "runall: the job was sent SIGTERM" not in text


def test_restart_logs_follow_the_runners_log_names():
    for job_id in ("ddp", "grid@lr=0.1"):
        for attempt in (1, 2, 7):
            spec = spec_for(make_job(id=job_id), attempt)
            assert spec.log_path.name == log_name(job_id, attempt)
            assert restart_log_prefix(spec).name + f"{attempt + 3}.log" == log_name(job_id, attempt + 3)


@pytest.mark.parametrize("table, message", [
    ({"requeue": "yes"}, "'requeue' must be true or false"),
    ({"warning_time": -1}, "'warning_time' must be whole seconds >= 0"),
])
def test_slurm_settings_errors(table, message):
    with pytest.raises(UsageError, match=message):
        parse_settings(table)


def test_local_and_ray_backends_refuse_several_nodes():
    with pytest.raises(UsageError, match="job .*: nodes=2 needs the Slurm backend, not local"):
        LocalBackend.create([make_job(launcher="torchrun", nodes=2)], ExecutionOptions(), None)
    from runall.backends.ray.backend import RayBackend
    from runall.backends.ray.settings import RaySettings

    with pytest.raises(UsageError, match="nodes=2 needs the Slurm backend, not ray"):
        RayBackend.create([make_job(launcher="torchrun", nodes=2)], ExecutionOptions(), RaySettings())


def test_dry_run_shows_the_full_launcher_command(make_repo):
    root = make_repo({"scripts/train_ddp.py": "import argparse\nargparse.ArgumentParser().add_argument('--epochs')\n",
                      "runall.yaml": "jobs:\n  - script: scripts/train_ddp.py\n    procs: 2\n    cpus: 2\n"})
    done = run_cli("--root", str(root), "--dry-run", "--launcher", "torchrun", "--epochs", "3", cwd=root)
    assert done.returncode == 0, done.stderr
    assert (f"{TORCHRUN} --standalone --nnodes=1 --nproc-per-node=2 --log-dir={root}/runs/RUN_ID/logs/ddp.ranks "
            "--tee=3 scripts/train_ddp.py --epochs 3\n") in done.stdout
    slurm = run_cli("--root", str(root), "--dry-run", "--launcher", "torchrun", "--backend", "slurm", cwd=root)
    assert "#SBATCH --nodes=1\n" in slurm.stdout and "srun --nodes=1" in slurm.stdout
    missing = run_cli("--root", str(root), "--dry-run", cwd=root)
    assert missing.returncode == 2 and "job ddp: procs=2 starts several processes" in missing.stderr


# -- real torchrun ------------------------------------------------------------------------------

@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pids").mkdir()
    return tmp_path



def test_two_launcher_jobs_at_once_each_rank_prefixed_in_its_log(root: Path):
    jobs = [Job(id=f"ddp{i}", script="h.py", argv=job_argv(root / "pids", "rank-env", root / f"env{i}", 2),
                launcher=launcher, procs=2) for i, launcher in enumerate(("torchrun", "torch.distributed.run"))]
    for i in range(2):
        (root / f"env{i}").mkdir()
    code, manifest, out = run(root, jobs, "--parallel", "--max-workers", "2")
    assert code == 0, out
    envs = [[json.loads((root / f"env{i}" / f"rank{r}.json").read_text()) for r in range(2)] for i in range(2)]
    assert [[e["RANK"] for e in job] for job in envs] == [["0", "1"], ["0", "1"]]
    assert all(e["WORLD_SIZE"] == "2" for job in envs for e in job)
    assert all(e["OMP_NUM_THREADS"] == "1" for job in envs for e in job)   # a share of the job's CPUs, at least 1
    assert envs[0][0]["MASTER_PORT"] != envs[1][0]["MASTER_PORT"]           # two rendezvous, no collision
    assert max(job[0]["time"] for job in envs) < min(job[0]["time"] for job in envs) + 2   # they overlapped
    for i in range(2):
        log = (root / "runs" / "latest" / "logs" / f"ddp{i}.log").read_text()
        assert "[rank0]:rank 0 of 2" in log and "[rank1]:rank 1 of 2" in log, log
        ranks = sorted((root / "runs" / "latest" / "logs" / f"ddp{i}.ranks").glob("*/attempt_0/*/stdout.log"))
        assert [p.read_text() for p in ranks] == ["rank 0 of 2\n", "rank 1 of 2\n"]


def test_timeout_stops_every_rank(root: Path):
    job = Job(id="stuck", script="h.py", argv=job_argv(root / "pids", "ignore-term", 60), launcher="torchrun",
              procs=2, timeout=10)                        # time for torchrun to start both ranks on a busy machine
    began = time.monotonic()
    code, manifest, _ = run(root, [job])                 # `run` checks that no rank survives
    assert code == 1 and manifest["jobs"][0]["status"] == "TIMEOUT"
    assert len(recorded_pids(root / "pids")) == 2 and time.monotonic() - began < 30


def test_interrupt_stops_every_rank(tmp_path: Path):
    pids = tmp_path / "pids"
    pids.mkdir()
    jobs = [{"id": "stuck", "script": "h.py", "argv": job_argv(pids, "ignore-term", 60), "launcher": "torchrun",
             "procs": 2}]
    proc = subprocess.Popen(driver_argv(write_spec(tmp_path / "spec.json", tmp_path, jobs), "--runs-dir",
                                        str(tmp_path / "runs"), "--grace", "1"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: len(recorded_pids(pids)) == 2, timeout=30), "the ranks did not start"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        assert survivors(pids, wait=1.0) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_pids(recorded_pids(pids))
    assert proc.returncode == 130, out
    record = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())["jobs"][0]
    assert (record["status"], record["reason"]) == ("CANCELLED", "interrupted")
