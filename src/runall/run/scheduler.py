"""Which pending job starts next: priority, expected duration, dependencies, free resources."""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Iterable, Mapping, Sequence

from runall.model import Job
from runall.run.resources import Allocation, ResourcePool


def order_jobs(jobs: Sequence[Job], expected: Mapping[str, float]) -> list[Job]:
    """Highest priority first, then longest expected duration, then list order.

    Jobs without a recorded duration count as longest, so without history list order holds.
    """
    index = {job.id: i for i, job in enumerate(jobs)}
    return sorted(jobs, key=lambda j: (-j.priority, -expected.get(j.id, math.inf), index[j.id]))


class Scheduler:
    """Holds the pending jobs of a run and hands out those that may start now.

    Dependencies on ids outside this run count as met (`satisfied` names jobs that already
    succeeded, e.g. in the run being resumed). A job whose dependency fails is skipped.

    Every operation costs what it touches, not the number of pending jobs: jobs waiting for
    dependencies are counted down as those succeed, jobs waiting for a retry's delay sit in
    a heap by time, and ready jobs in one heap per resource request (`_request`), so
    `ready` tries the first job of each request and knows that the rest would not fit either.
    """

    def __init__(self, jobs: Sequence[Job], pool: ResourcePool,
                 expected: Mapping[str, float] | None = None, satisfied: Iterable[str] = ()) -> None:
        self.pool = pool
        ordered = order_jobs(jobs, expected or {})
        self._jobs = {job.id: job for job in ordered}
        self._rank = {job.id: i for i, job in enumerate(ordered)}
        self._front = 0                                      # retried jobs go before all others
        self._succeeded = set(satisfied)
        self._blocked: dict[str, int] = {}                   # job id -> dependencies not yet succeeded
        self._dependents: dict[str, list[str]] = {}
        self._ready: dict[tuple[object, ...], list[tuple[int, str]]] = {}   # by request: heap of (rank, id)
        self._delayed: list[tuple[float, int, str]] = []     # (not before, rank, job id)
        self._count = 0
        for job in ordered:
            unmet = {dep for dep in job.after if dep in self._jobs and dep not in self._succeeded}
            for dep in unmet:
                self._dependents.setdefault(dep, []).append(job.id)
            if unmet:
                self._blocked[job.id] = len(unmet)
                self._count += 1
            else:
                self._make_ready(job.id)

    @property
    def has_pending(self) -> bool:
        return self._count > 0

    def next_due(self) -> float | None:
        """The earliest time a pending job waits for (a retry's delay), or None."""
        return self._delayed[0][0] if self._delayed else None

    def ready(self, now: float) -> list[tuple[Job, Allocation]]:
        """Jobs that may start now, their resources already reserved, in start order."""
        while self._delayed and self._delayed[0][0] <= now:
            _, rank, job_id = heapq.heappop(self._delayed)
            self._count -= 1
            self._make_ready(job_id, rank)
        started: list[tuple[Job, Allocation]] = []
        full: set[tuple[object, ...]] = set()                # requests that do not fit now
        while self.pool.has_slot:
            heads = [(heap[0], shape) for shape, heap in self._ready.items() if shape not in full]
            if not heads:
                break
            (_, job_id), shape = min(heads)
            job = self._jobs[job_id]
            allocation = self.pool.acquire(job)
            if allocation is None:
                full.add(shape)
                continue
            heap = self._ready[shape]
            heapq.heappop(heap)
            if not heap:
                del self._ready[shape]
            self._count -= 1
            started.append((job, allocation))
        return started

    def finished(self, job: Job, allocation: Allocation, succeeded: bool) -> list[tuple[Job, str]]:
        """Record a job's final outcome; returns the pending jobs now skipped, each with the
        dependency that did not succeed."""
        self.pool.release(allocation)
        if succeeded:
            self._succeed(job.id)
            return []
        skipped: list[tuple[Job, str]] = []
        failed = deque([job.id])
        while failed:
            dependency = failed.popleft()
            for waiting in self._dependents.get(dependency, ()):
                if self._blocked.pop(waiting, None) is not None:
                    self._count -= 1
                    skipped.append((self._jobs[waiting], dependency))
                    failed.append(waiting)
        return skipped

    def submitted(self, job: Job, allocation: Allocation) -> None:
        """A detached run handed `job` to a cluster that enforces its dependencies itself: the
        jobs waiting for it may be submitted now."""
        self.pool.release(allocation)
        self._succeed(job.id)

    def retry(self, job: Job, allocation: Allocation, not_before: float) -> None:
        """Put a job back, to start again no earlier than `not_before`, before every other job."""
        self.pool.release(allocation)
        self._front -= 1
        heapq.heappush(self._delayed, (not_before, self._front, job.id))
        self._count += 1

    def cancel(self) -> list[Job]:
        """Drop and return every pending job, in start order."""
        ranked = [item for heap in self._ready.values() for item in heap]
        ranked += [(rank, job_id) for _, rank, job_id in self._delayed]
        ranked += [(self._rank[job_id], job_id) for job_id in self._blocked]
        self._ready, self._delayed, self._blocked, self._count = {}, [], {}, 0
        return [self._jobs[job_id] for _, job_id in sorted(ranked)]

    def _make_ready(self, job_id: str, rank: int | None = None) -> None:
        job = self._jobs[job_id]
        heap = self._ready.setdefault(_request(job), [])
        heapq.heappush(heap, (self._rank[job_id] if rank is None else rank, job_id))
        self._count += 1

    def _succeed(self, job_id: str) -> None:
        self._succeeded.add(job_id)
        for waiting in self._dependents.get(job_id, ()):
            left = self._blocked.get(waiting)
            if left is None:
                continue
            if left > 1:
                self._blocked[waiting] = left - 1
            else:
                del self._blocked[waiting]
                self._count -= 1
                self._make_ready(waiting)


def _request(job: Job) -> tuple[object, ...]:
    """What decides whether a job fits (`resources.wanted` and its memory): jobs with the same
    request fit, or do not, together."""
    return job.cpus, job.gpus, job.gpu_framework, job.memory or 0
