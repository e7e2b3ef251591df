"""Launcher commands: a job's `python SCRIPT ARGS` started as several processes by torchrun,
`python -m torch.distributed.run` or `accelerate launch`.

`launch_for` decides, per attempt, what a backend needs to know (`Launch`); `local_command`
is the command on this machine (a standalone rendezvous on a free port: jobs running at
once never share one), `node_command` the command each node of a cluster job runs under
`srun` (the rendezvous endpoint comes from the batch script, see `RENDEZVOUS_VARS`). Every
rank's output goes to the job's log with a `[rank<N>]:` prefix (torchrun's `--tee`), and
to one file per rank under `Launch.rank_logs`.
"""

from __future__ import annotations

import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

from runall.model import Job
from runall.plan.launchers import processes

PREFIX_VAR = "TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE"
RANK_PREFIX = "[rank${rank}]:"          # torch's template: global rank, also across nodes
# torchrun reads any option from PET_<OPTION>: the batch script sets these on the first node's address.
RENDEZVOUS_VARS = ("PET_RDZV_ENDPOINT", "PET_RDZV_ID")


@dataclass(frozen=True)
class Launch:
    """How one attempt's processes start: launcher, processes per node, nodes, GPUs per node,
    and the folder of the per-rank logs."""

    launcher: str
    procs: int
    nodes: int
    gpus: int
    rank_logs: Path


def launch_for(job: Job, log_path: Path) -> Launch | None:
    """The launch of an attempt whose log is `log_path`; None for a plain `python SCRIPT` job."""
    if job.launcher is None:
        return None
    return Launch(job.launcher, processes(job), job.nodes, job.gpus or 0, log_path.with_suffix(".ranks"))


def launcher_env(launch: Launch) -> dict[str, str]:
    """Variables every launcher needs: the rank prefix; accelerate without GPUs also needs to
    be told to use the CPU (its own `--cpu` would start a single process)."""
    env = {PREFIX_VAR: RANK_PREFIX}
    if launch.launcher == "accelerate" and not launch.gpus:
        env["ACCELERATE_USE_CPU"] = "true"
    return env


def local_command(argv: list[str], launch: Launch, port: int | None = None) -> list[str]:
    """The command that runs `argv` (interpreter, script, args) as `launch.procs` processes here."""
    if launch.launcher == "accelerate":
        return _accelerate(argv, launch, port or free_port())
    return [*_torchrun(argv, launch), "--standalone", "--nnodes=1", *_torchrun_common(launch), *argv[1:]]


def node_command(argv: list[str], launch: Launch) -> list[str]:
    """The command each node of a cluster job runs (one task per node, under srun): a c10d
    rendezvous at PET_RDZV_ENDPOINT with id PET_RDZV_ID, both set by the batch script."""
    if launch.launcher == "accelerate":          # one node only (`plan.launchers.with_launcher`)
        return _accelerate(argv, launch, port_for(str(launch.rank_logs)))
    return [*_torchrun(argv, launch), f"--nnodes={launch.nodes}", "--rdzv-backend=c10d",
            *_torchrun_common(launch), *argv[1:]]


def free_port() -> int:
    """A TCP port nobody listens on now (for launchers without a standalone rendezvous)."""
    import socket  # only for a launcher's rendezvous: keeps start-up fast

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_for(key: str) -> int:
    """A port in 20000-39999 fixed by `key`, where the port must be written down before the job runs."""
    return 20000 + zlib.crc32(key.encode()) % 20000


def executable(argv: list[str], name: str) -> str:
    """`name` next to the job's interpreter (its virtual environment), else as found on PATH."""
    beside = Path(argv[0]).parent / name
    return str(beside) if beside.is_file() else shutil.which(name) or name


def _torchrun(argv: list[str], launch: Launch) -> list[str]:
    if launch.launcher == "torch.distributed.run":
        return [argv[0], "-m", "torch.distributed.run"]
    return [executable(argv, "torchrun")]


def _torchrun_common(launch: Launch) -> list[str]:
    return [f"--nproc-per-node={launch.procs}", f"--log-dir={launch.rank_logs}", "--tee=3"]


def _accelerate(argv: list[str], launch: Launch, port: int) -> list[str]:
    command = [executable(argv, "accelerate"), "launch", f"--num_processes={launch.procs}", "--num_machines=1"]
    if launch.procs > 1:            # accelerate's torchrun path (also for CPU processes, see launcher_env)
        command += ["--multi_gpu", f"--main_process_port={port}", "--tee=3", f"--log_dir={launch.rank_logs}"]
    return command + argv[1:]
