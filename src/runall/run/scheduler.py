"""Which pending job starts next: priority, expected duration, dependencies, free resources."""

from __future__ import annotations

import math
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
    """

    def __init__(self, jobs: Sequence[Job], pool: ResourcePool,
                 expected: Mapping[str, float] | None = None, satisfied: Iterable[str] = ()) -> None:
        self.pool = pool
        self._pending = order_jobs(jobs, expected or {})
        self._ids = {job.id for job in jobs}
        self._succeeded = set(satisfied)
        self._failed: set[str] = set()
        self._not_before: dict[str, float] = {}

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def next_due(self) -> float | None:
        """The earliest time a pending job waits for (a retry's delay), or None."""
        return min((self._not_before[job.id] for job in self._pending if job.id in self._not_before), default=None)

    def ready(self, now: float) -> list[tuple[Job, Allocation]]:
        """Jobs that may start now, their resources already reserved, in start order."""
        started = []
        for job in list(self._pending):
            if not self.pool.has_slot:
                break
            if self._not_before.get(job.id, 0.0) > now or not self._deps_met(job):
                continue
            allocation = self.pool.acquire(job)
            if allocation is not None:
                self._pending.remove(job)
                started.append((job, allocation))
        return started

    def finished(self, job: Job, allocation: Allocation, succeeded: bool) -> list[tuple[Job, str]]:
        """Record a job's final outcome; returns the pending jobs now skipped, each with the
        dependency that did not succeed."""
        self.pool.release(allocation)
        if succeeded:
            self._succeeded.add(job.id)
            return []
        self._failed.add(job.id)
        skipped: list[tuple[Job, str]] = []
        changed = True
        while changed:
            changed = False
            for pending in list(self._pending):
                failed = next((dep for dep in pending.after if dep in self._failed), None)
                if failed is not None:
                    self._pending.remove(pending)
                    self._failed.add(pending.id)
                    skipped.append((pending, failed))
                    changed = True
        return skipped

    def submitted(self, job: Job, allocation: Allocation) -> None:
        """A detached run handed `job` to a cluster that enforces its dependencies itself: the
        jobs waiting for it may be submitted now."""
        self.pool.release(allocation)
        self._succeeded.add(job.id)

    def retry(self, job: Job, allocation: Allocation, not_before: float) -> None:
        """Put a job back, to start again no earlier than `not_before`."""
        self.pool.release(allocation)
        self._not_before[job.id] = not_before
        self._pending.insert(0, job)

    def cancel(self) -> list[Job]:
        """Drop and return every pending job."""
        dropped, self._pending = self._pending, []
        return dropped

    def _deps_met(self, job: Job) -> bool:
        return all(dep in self._succeeded or dep not in self._ids for dep in job.after)
