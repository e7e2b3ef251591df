"""Stage 7, execution: schedule jobs onto resources and run them through a backend."""

from .backend import Backend, ExitInfo, Handle, LaunchSpec
from .command import add_arguments, resume, run_jobs
from .events import JobEvent, JobStatus, Reporter, RunResult
from .local import LocalBackend
from .reporter import PlainReporter
from .resources import Allocation, Capacity, ResourcePool
from .runner import RunOptions, Runner
from .scheduler import Scheduler

__all__ = [
    "Allocation", "Backend", "Capacity", "ExitInfo", "Handle", "JobEvent", "JobStatus", "LaunchSpec",
    "LocalBackend", "PlainReporter", "Reporter", "ResourcePool", "RunOptions", "RunResult", "Runner",
    "Scheduler", "add_arguments", "resume", "run_jobs",
]
