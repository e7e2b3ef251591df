"""What the machine offers (slots, CPUs, GPU ids, memory) and what each running job holds.

The default rule, for jobs that declare no `cpus`/`gpus`: serially, a job sees every core and
GPU the orchestrator sees (thread caps at the core count, CUDA_VISIBLE_DEVICES untouched). In
parallel, each job's thread cap is its share of the cores (cores // workers), and a job whose
code uses a GPU framework gets one GPU of its own when the machine has GPUs, waiting for a free
one; other jobs see no GPU. A declared `gpus: N` takes N GPUs (`gpus: 0`: none), `cpus: N` N cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import psutil

from runall.errors import UsageError
from runall.model import Job

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class Capacity:
    """The resources jobs share: worker slots, CPUs, GPU ids and memory (bytes)."""

    slots: int
    cpus: int
    gpu_ids: tuple[str, ...]
    memory: int

    def to_dict(self) -> dict[str, object]:
        return {"slots": self.slots, "cpus": self.cpus, "gpus": list(self.gpu_ids), "memory": self.memory}


@dataclass(frozen=True)
class Allocation:
    """What one started job holds until it ends; `pin_gpus` False: it sees every GPU (serial)."""

    cpus: int
    gpu_ids: tuple[str, ...]
    memory: int
    pin_gpus: bool = True


def cpu_share(capacity: Capacity) -> int:
    """The cores a job without `cpus` takes: its share (at least one)."""
    return max(1, capacity.cpus // max(1, capacity.slots))


def wanted(job: Job, capacity: Capacity) -> tuple[int, int, bool]:
    """(cpus, gpus, pin_gpus) a job takes under the default rule (module docstring)."""
    cpus = job.cpus if job.cpus is not None else cpu_share(capacity)
    if job.gpus is not None:
        return cpus, job.gpus, True
    if capacity.slots == 1:
        return cpus, 0, False
    return cpus, 1 if job.gpu_framework and capacity.gpu_ids else 0, True


def describe(job: Job, capacity: Capacity) -> str:
    """What a job gets, in words (`--dry-run -v`)."""
    cpus, gpus, pin = wanted(job, capacity)
    if not capacity.gpu_ids and not gpus:
        gpu_text = "no GPU on this machine"
    elif not pin:
        gpu_text = "every GPU"
    else:
        gpu_text = f"{gpus} GPU(s), assigned when free" if gpus else "no GPU (CUDA_VISIBLE_DEVICES='')"
    framework = ", uses a GPU framework" if job.gpu_framework else ""
    return f"{cpus} core(s), {cpus} thread(s), {gpu_text}{framework}"


def cpu_count() -> int:
    """CPUs this process may use (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def detect_gpu_ids(configured: int | None, environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """GPU ids from CUDA_VISIBLE_DEVICES, else nvidia-smi; a configured count takes that many.

    With a configured count larger than what is visible, ids are 0..count-1.
    """
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = tuple(v.strip() for v in visible.split(",") if v.strip() and v.strip() not in ("-1", "NoDevFiles"))
    elif configured is None:
        ids = _nvidia_smi_ids()
    else:
        ids = ()
    if configured is None:
        return ids
    return ids[:configured] if len(ids) >= configured else tuple(str(i) for i in range(configured))


def _nvidia_smi_ids() -> tuple[str, ...]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        out = subprocess.run([exe, "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line.strip() for line in out.splitlines() if line.strip())


def detect_capacity(slots: int, gpus: int | None) -> Capacity:
    """The machine's capacity for a run with `slots` workers and an optional configured GPU count."""
    return Capacity(slots, cpu_count(), detect_gpu_ids(gpus), psutil.virtual_memory().total)


def check_jobs(jobs: Iterable[Job], capacity: Capacity) -> None:
    """Raise UsageError for the first job that asks for more than the machine has."""
    for job in jobs:
        cpus, gpus, _ = wanted(job, capacity)
        for what, asked, has in (("cpus", cpus, capacity.cpus),
                                 ("gpus", gpus, len(capacity.gpu_ids)),
                                 ("memory", job.memory or 0, capacity.memory)):
            if asked < 0:
                raise UsageError(f"{what} must not be negative, got {asked}", where=f"job {job.id}")
            if asked > has:
                raise UsageError(f"asks for {what}={asked} but this machine has {has}", where=f"job {job.id}")


class ResourcePool:
    """Tracks free resources; a job starts only when its whole request fits.

    Memory fits when it is within both the unreserved total and what the system reports
    available now; a job that is alone may always start, so a run never stalls on memory.
    """

    def __init__(self, capacity: Capacity,
                 available_memory: Callable[[], int] = lambda: psutil.virtual_memory().available) -> None:
        self.capacity = capacity
        self._available_memory = available_memory
        self._slots = capacity.slots
        # More workers than cores: each default job still gets one core's worth, all at once.
        self._cpus = max(capacity.cpus, cpu_share(capacity) * capacity.slots)
        self._gpus = list(capacity.gpu_ids)
        self._memory = capacity.memory

    @property
    def busy(self) -> bool:
        return self._slots < self.capacity.slots

    @property
    def has_slot(self) -> bool:
        return self._slots > 0

    def acquire(self, job: Job) -> Allocation | None:
        """Reserve the job's resources, or return None when they do not fit now."""
        cpus, gpus, pin = wanted(job, self.capacity)
        memory = job.memory or 0
        if not self.has_slot or cpus > self._cpus or gpus > len(self._gpus):
            return None
        if memory and self.busy and memory > min(self._memory, self._available_memory()):
            return None
        gpu_ids = tuple(self._gpus[:gpus])
        del self._gpus[:gpus]
        self._slots -= 1
        self._cpus -= cpus
        self._memory -= memory
        return Allocation(cpus, gpu_ids, memory, pin)

    def release(self, allocation: Allocation) -> None:
        self._slots += 1
        self._cpus += allocation.cpus
        self._memory += allocation.memory
        self._gpus.extend(allocation.gpu_ids)
        order = {g: i for i, g in enumerate(self.capacity.gpu_ids)}
        self._gpus.sort(key=order.__getitem__)


def job_environment(job: Job, allocation: Allocation, thread_limits: bool = True) -> dict[str, str]:
    """Variables set for a job: its GPUs, thread caps matching its CPUs; the job's own env wins."""
    env = {"PYTHONUNBUFFERED": "1"}
    if allocation.pin_gpus:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(allocation.gpu_ids)
    if thread_limits:
        env.update({var: str(max(1, allocation.cpus)) for var in THREAD_VARS})
    env.update(job.env)
    return env
