"""Scheduler and resources, without processes: order, dependencies, fitting, GPU ids, environment."""

from __future__ import annotations

import pytest

from runall.errors import UsageError
from runall.model import Job
from runall.run.resources import (Allocation, Capacity, ResourcePool, check_jobs, detect_gpu_ids,
                                  job_environment)
from runall.plan.checks import check_dependencies
from runall.run.scheduler import Scheduler, order_jobs

GB = 1 << 30


def job(id: str, **fields) -> Job:
    return Job(id=id, script=f"{id}.py", argv=["python", f"{id}.py"], **fields)


def pool(slots: int = 4, cpus: int = 4, gpus: int = 0, memory: int = 16 * GB, available: int = 16 * GB) -> ResourcePool:
    return ResourcePool(Capacity(slots, cpus, tuple(str(i) for i in range(gpus)), memory), lambda: available)


def ids(started: list[tuple[Job, Allocation]]) -> list[str]:
    return [j.id for j, _ in started]


def test_order_priority_then_longest_then_list_order() -> None:
    jobs = [job("a"), job("b"), job("c"), job("d", priority=5), job("e")]
    expected = {"a": 1.0, "b": 30.0, "c": 10.0, "d": 0.1}
    assert [j.id for j in order_jobs(jobs, expected)] == ["d", "e", "b", "c", "a"]   # e: unknown, first
    assert [j.id for j in order_jobs(jobs[:3], {})] == ["a", "b", "c"]


def test_slots_and_cpus_limit_what_starts() -> None:
    sched = Scheduler([job("a", cpus=2), job("b", cpus=2), job("c")], pool(slots=3, cpus=3))
    started = sched.ready(0)
    assert ids(started) == ["a", "c"]                    # b does not fit in the one CPU left
    sched.finished(started[0][0], started[0][1], True)
    assert ids(sched.ready(0)) == ["b"]


def test_gpus_are_assigned_exclusively() -> None:
    sched = Scheduler([job("a", gpus=1), job("b", gpus=1), job("c", gpus=1)], pool(gpus=2))
    started = sched.ready(0)
    assert [a.gpu_ids for _, a in started] == [("0",), ("1",)]
    sched.finished(started[1][0], started[1][1], True)
    assert [a.gpu_ids for _, a in sched.ready(0)] == [("1",)]


def test_memory_waits_unless_alone() -> None:
    p = pool(memory=16 * GB, available=4 * GB)
    sched = Scheduler([job("a"), job("big", memory=8 * GB)], p)
    first = sched.ready(0)
    assert ids(first) == ["a"]                           # busy and only 4 GB available: big waits
    sched.finished(first[0][0], first[0][1], True)
    assert ids(sched.ready(0)) == ["big"]                # alone it may start


def test_dependencies_wait_and_failures_skip() -> None:
    sched = Scheduler([job("c", after=["b"]), job("b", after=["a"]), job("a"), job("x", after=["elsewhere"])],
                      pool())
    started = sched.ready(0)
    assert ids(started) == ["a", "x"]                    # ids outside the run count as met
    skipped = sched.finished(started[0][0], started[0][1], False)
    assert [(j.id, dep) for j, dep in skipped] == [("b", "a"), ("c", "b")]
    assert not sched.has_pending


def test_satisfied_dependencies_and_retry_delay() -> None:
    sched = Scheduler([job("b", after=["a"])], pool(), satisfied=["a"])
    (started,) = sched.ready(0)
    sched.retry(started[0], started[1], not_before=10.0)
    assert sched.ready(5.0) == [] and ids(sched.ready(10.0)) == ["b"]


def test_cancel_drops_pending() -> None:
    sched = Scheduler([job("a"), job("b")], pool(slots=1))
    sched.ready(0)
    assert [j.id for j in sched.cancel()] == ["b"] and not sched.has_pending


def test_dependency_cycle_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"job a: dependency cycle: a -> b -> a"):
        check_dependencies([job("a", after=["b"]), job("b", after=["a"])])
    with pytest.raises(UsageError, match="cycle: s -> s"):
        check_dependencies([job("s", after=["s"])])
    check_dependencies([job("a"), job("b", after=["a"]), job("c", after=["a", "b", "outside"])])


@pytest.mark.parametrize("fields, message", [
    ({"cpus": 9}, "job big: asks for cpus=9 but this machine has 8"),
    ({"gpus": 1}, "job big: asks for gpus=1 but this machine has 0"),
    ({"memory": 32 * GB}, "job big: asks for memory=34359738368 but this machine has 17179869184"),
    ({"cpus": -1}, "job big: cpus must not be negative"),
])
def test_check_jobs(fields: dict, message: str) -> None:
    with pytest.raises(UsageError) as err:
        check_jobs([job("ok"), job("big", **fields)], Capacity(1, 8, (), 16 * GB))
    assert str(err.value).startswith(message)


def test_detect_gpu_ids() -> None:
    assert detect_gpu_ids(2, {}) == ("0", "1")
    assert detect_gpu_ids(None, {"CUDA_VISIBLE_DEVICES": "3,5"}) == ("3", "5")
    assert detect_gpu_ids(1, {"CUDA_VISIBLE_DEVICES": "3,5"}) == ("3",)
    assert detect_gpu_ids(None, {"CUDA_VISIBLE_DEVICES": ""}) == ()
    assert detect_gpu_ids(0, {}) == ()


def test_job_environment() -> None:
    env = job_environment(job("a", env={"OMP_NUM_THREADS": "8", "X": "1"}), Allocation(2, ("1", "3"), 0))
    assert env["CUDA_VISIBLE_DEVICES"] == "1,3"
    assert env["MKL_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "2"
    assert env["OMP_NUM_THREADS"] == "8" and env["X"] == "1"
    plain = job_environment(job("b"), Allocation(1, (), 0), thread_limits=False)
    assert plain["CUDA_VISIBLE_DEVICES"] == "" and "OMP_NUM_THREADS" not in plain
