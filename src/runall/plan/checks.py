"""What must hold of a job list before anything runs or is previewed: unique ids, sane per-job
limits, dependencies without cycles. `--list`, `--dry-run` and a run check the same things."""

from __future__ import annotations

from typing import Sequence

from runall.errors import UsageError
from runall.model import Job


def check_plan(jobs: Sequence[Job]) -> None:
    """UsageError naming the first job that breaks a rule."""
    seen: set[str] = set()
    for job in jobs:
        if job.id in seen:
            raise UsageError("duplicate job id", where=f"job {job.id}")
        seen.add(job.id)
        if job.retries is not None and job.retries < 0:
            raise UsageError(f"retries must not be negative, got {job.retries}", where=f"job {job.id}")
        if job.timeout is not None and not job.timeout > 0:
            raise UsageError(f"timeout must be more than 0, got {job.timeout}", where=f"job {job.id}")
    check_dependencies(jobs)


def check_dependencies(jobs: Sequence[Job]) -> None:
    """Raise UsageError when the jobs' `after` lists form a cycle (iteratively: chains of any length)."""
    after = {job.id: job.after for job in jobs}
    state: dict[str, int] = {}          # 1: on the current path, 2: done
    for start in after:
        if state.get(start):
            continue
        path, stack = [start], [iter(after[start])]
        state[start] = 1
        while stack:
            dep = next(stack[-1], None)
            if dep is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(dep) == 1:
                cycle = " -> ".join([*path[path.index(dep):], dep])
                raise UsageError(f"dependency cycle: {cycle}", where=f"job {dep}")
            elif dep in after and not state.get(dep):
                state[dep] = 1
                path.append(dep)
                stack.append(iter(after[dep]))
