"""Which jobs run through a launcher (torchrun, `python -m torch.distributed.run`, `accelerate
launch`), and how many processes each starts; the commands themselves are `run.launchers`."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from runall.errors import UsageError
from runall.model import Job

NONE = "none"


def processes(job: Job) -> int:
    """Processes per node: one per GPU, else `procs` (CPU processes, gloo), else one."""
    return job.gpus or job.procs or 1


def with_launcher(jobs: Sequence[Job], default: str = NONE) -> list[Job]:
    """Each job with its launcher resolved: its own (`none` included), else `default`
    (`[tool.runall] launcher` or `--launcher`). `procs` above 1 and `nodes` above 1 need a
    launcher; without one, a job with GPUs is one process that sees them all."""
    resolved = []
    for job in jobs:
        name = job.launcher or default
        job = replace(job, launcher=None if name == NONE else name)
        if job.launcher is None and ((job.procs or 1) > 1 or job.nodes > 1):
            what = f"nodes={job.nodes}" if job.nodes > 1 else f"procs={job.procs}"
            raise UsageError(f"{what} starts several processes, which needs a launcher "
                             "(launcher: torchrun in the job file, or --launcher torchrun)", where=f"job {job.id}")
        if job.launcher == "accelerate" and job.nodes > 1:
            raise UsageError(f"nodes={job.nodes}: accelerate launch needs a machine rank per node, which runall "
                             "does not set; use launcher: torchrun for jobs across nodes", where=f"job {job.id}")
        resolved.append(job)
    return resolved
