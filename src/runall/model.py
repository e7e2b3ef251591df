"""Plain data passed between the stages: a job with its resources, and the states it goes through."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any


class JobStatus(str, enum.Enum):
    """Lifecycle of one job in a run; the value is what the manifest stores."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"
    PREEMPTED = "PREEMPTED"          # the cluster took the attempt away (a requeued attempt ends so)

    @property
    def final(self) -> bool:
        """True for states a job ends in (nothing further happens to it in this run)."""
        return self not in (JobStatus.PENDING, JobStatus.RUNNING)

    @property
    def retryable(self) -> bool:
        """Only crashes, timeouts and preemptions are retried."""
        return self in (JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.PREEMPTED)


LAUNCHERS = ("torchrun", "torch.distributed.run", "accelerate")   # `none`: the script's own interpreter


@dataclass
class Job:
    """One unit of work: a training script run as `python SCRIPT [argv...]` from the root.

    `argv` is the complete command (interpreter first), built once by `jobs.build_argv`;
    everything downstream (preview, execution, manifest) uses it as is.
    """

    id: str
    script: str                      # path relative to the repository root, POSIX style
    argv: list[str]                  # full command line, e.g. [sys.executable, script, ...]
    output_dir: str | None = None    # relative to the root; None when the script has no output role
    name: str = ""                   # human readable name (defaults to id)
    options: list[str] = field(default_factory=list)        # option strings the script defines
    roles: dict[str, str | None] = field(default_factory=dict)  # role -> option string used
    flags_known: bool = True
    env: dict[str, str] = field(default_factory=dict)       # extra environment variables
    cpus: int | None = None          # None: its share of the cores (all of them, serially)
    gpus: int | None = None          # None: one when it uses a GPU framework in a parallel run (see resources)
    memory: int | None = None        # bytes; None = no reservation
    resources: dict[str, float] = field(default_factory=dict)   # custom resources (Ray), e.g. {"a100": 1}
    timeout: float | None = None     # seconds; None = no limit
    retries: int | None = None      # None: the run's --retries / [tool.runall] retries
    priority: int = 0                # higher starts first
    required: bool = True            # an optional job's failure does not fail the run
    tags: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)          # ids that must succeed first
    source: str = "discovered"       # "discovered" or "config"
    params: dict[str, Any] = field(default_factory=dict)    # grid values and declared args
    gpu_framework: bool = False      # its code imports torch, JAX, TensorFlow, ... (plan.frameworks)
    dropped: dict[str, str] = field(default_factory=dict)   # value given for every job -> why it cannot reach this one
    will_fail: str | None = None     # why its source cannot run ("SyntaxError at line 3: ..."), seen before the run
    launcher: str | None = None      # one of LAUNCHERS: the script runs as several processes
    procs: int | None = None         # processes per node without GPUs (gloo); with gpus: one per GPU
    nodes: int = 1                   # nodes of a cluster backend, one launcher per node

    def to_dict(self, copy: bool = True) -> dict[str, Any]:
        """JSON-ready form, used by previews and the run manifest: lists and dicts copied, or
        (`copy=False`, for text encoded at once) the job's own."""
        if not copy:
            return {name: getattr(self, name) for name in _JOB_FIELDS}
        return {name: _copied(getattr(self, name)) for name in _JOB_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        """Inverse of `to_dict`, ignoring keys this version does not know."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


_JOB_FIELDS = tuple(f.name for f in fields(Job))


def _copied(value: Any) -> Any:
    """`value` with its containers copied, as `dataclasses.asdict` would (but without its cost)."""
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value
