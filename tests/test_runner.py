"""The run loop's decisions with a fake clock and a scripted backend: no process, no waiting.

Real processes and signals are tested in test_execution_*.py and test_resume.py; here the
timing rules themselves: retry backoff, timeout -> grace -> kill, fail-fast, interrupts,
dependency skipping, and the verdict.
"""

from __future__ import annotations

from pathlib import Path

from fakes import Behaviour, FakeBackend, FakeClock
from runall.config import ExecutionOptions
from runall.model import Job, JobStatus
from runall.record.manifest import Manifest
from runall.run.resources import ResourcePool
from runall.run.runner import Runner
from runall.run.scheduler import Scheduler
from runall.view.plain import PlainReporter


class Events(PlainReporter):
    """Keeps every event and the result."""

    def __init__(self) -> None:
        super().__init__(summary=False, events=False)
        self.events: list = []
        self.result = None

    def on_event(self, event) -> None:
        self.events.append(event)

    def on_finish(self, result) -> None:
        self.result = result


def run(tmp_path: Path, jobs: list[Job], scripts: dict, slots: int = 1, interrupt_at: tuple[float, ...] = (),
        **options) -> tuple[Runner, FakeBackend, Events]:
    clock = FakeClock()
    backend = FakeBackend(clock, scripts, slots)
    manifest = Manifest.create(tmp_path / "run", jobs, root=tmp_path, meta={})
    reporter = Events()
    runner = Runner(manifest, jobs, Scheduler(jobs, ResourcePool(backend.capacity(), lambda: 1 << 40)), backend,
                    reporter, ExecutionOptions(**{"grace": 10.0, **options}), tmp_path, clock=clock)
    for when in interrupt_at:
        clock.at(when, lambda: setattr(runner, "interrupts", runner.interrupts + 1))
    runner.run()
    return runner, backend, reporter


def job(name: str, **fields) -> Job:
    return Job(name, f"{name}.py", ["python", f"{name}.py"], **fields)


def statuses(runner: Runner) -> dict[str, str]:
    return {rec.id: rec.status.value for rec in runner.manifest.records()}


def test_retry_backoff_doubles_and_attempts_are_recorded(tmp_path: Path) -> None:
    fails = Behaviour(duration=1, exit_code=1)
    runner, backend, events = run(tmp_path, [job("a")], {"a": [fails, fails, Behaviour(duration=1)]},
                                  retries=3, retry_delay=2.0)
    starts = [t for t, _, _ in backend.made("start")]
    assert starts == [0.0, 3.0, 8.0]                    # ran 1 s, waited 2 s; ran 1 s, waited 4 s
    record = runner.manifest.record("a")
    assert record.status is JobStatus.SUCCEEDED and record.attempts == 3
    assert [a.status for a in record.history] == [JobStatus.FAILED, JobStatus.FAILED, JobStatus.SUCCEEDED]
    assert [e.retry_in for e in events.events if e.will_retry] == [2.0, 4.0]
    assert events.result.exit_code == 0 and runner.manifest.status == "succeeded"


def test_timeout_terminates_then_kills_after_the_grace_period(tmp_path: Path) -> None:
    stubborn = Behaviour(duration=100, ignores_term=True)
    runner, backend, _ = run(tmp_path, [job("slow", timeout=5.0)], {"slow": [stubborn]}, grace=3.0)
    assert backend.made("terminate") == [(5.0, "slow", 1)]
    assert backend.made("kill") == [(8.0, "slow", 1)]
    record = runner.manifest.record("slow")
    assert record.status is JobStatus.TIMEOUT and record.signal == "SIGKILL" and record.reason == "timed out"


def test_timeout_without_kill_when_the_job_obeys_sigterm(tmp_path: Path) -> None:
    runner, backend, _ = run(tmp_path, [job("slow")], {"slow": [Behaviour(duration=100)]}, timeout=5.0)
    assert backend.made("terminate") == [(5.0, "slow", 1)] and backend.made("kill") == []
    assert runner.manifest.record("slow").signal == "SIGTERM"


def test_a_timed_out_attempt_is_retried(tmp_path: Path) -> None:
    runner, backend, _ = run(tmp_path, [job("a", timeout=2.0, retries=1)],
                             {"a": [Behaviour(duration=100), Behaviour(duration=1)]}, retry_delay=0.5)
    assert [t for t, _, _ in backend.made("start")] == [0.0, 2.5]
    assert runner.manifest.record("a").status is JobStatus.SUCCEEDED


def test_fail_fast_cancels_pending_and_stops_running_jobs(tmp_path: Path) -> None:
    jobs = [job("long"), job("bad"), job("later")]
    runner, backend, events = run(tmp_path, jobs, {"long": [Behaviour(duration=50)], "bad": [Behaviour(1, 2)]},
                                  slots=2, fail_fast=True)
    assert statuses(runner) == {"long": "CANCELLED", "bad": "FAILED", "later": "CANCELLED"}
    assert backend.made("terminate") == [(1.0, "long", 1)]
    assert [job for _, job, _ in backend.made("start")] == ["long", "bad"]
    assert runner.manifest.record("later").reason == "fail-fast: another job failed"
    assert events.result.exit_code == 1


def test_an_optional_job_failing_neither_stops_the_run_nor_fails_it(tmp_path: Path) -> None:
    runner, _, events = run(tmp_path, [job("opt", required=False), job("b")], {"opt": [Behaviour(1, 1)]},
                            fail_fast=True)
    assert statuses(runner) == {"opt": "FAILED", "b": "SUCCEEDED"} and events.result.exit_code == 0


def test_first_interrupt_terminates_second_kills(tmp_path: Path) -> None:
    jobs = [job("a"), job("b"), job("c")]
    stubborn = [Behaviour(duration=100, ignores_term=True)]
    runner, backend, events = run(tmp_path, jobs, {"a": stubborn, "b": stubborn}, slots=2, interrupt_at=(4.0, 6.0))
    assert [(t, j) for t, j, _ in backend.made("terminate")] == [(4.0, "a"), (4.0, "b")]
    kills = backend.made("kill")                        # at the next check after the second, not after grace
    assert [j for _, j, _ in kills] == ["a", "b"] and all(6.0 <= t <= 6.0 + runner.poll_interval for t, _, _ in kills)
    assert statuses(runner) == {"a": "CANCELLED", "b": "CANCELLED", "c": "CANCELLED"}
    assert events.result.exit_code == 130 and runner.manifest.status == "interrupted"
    stopping = [(e.job_id, e.status, e.reason) for e in events.events if e.stopping]   # what the views show meanwhile
    assert stopping == [("a", JobStatus.RUNNING, "interrupted"), ("b", JobStatus.RUNNING, "interrupted")]


def test_a_failed_dependency_skips_its_dependents_transitively(tmp_path: Path) -> None:
    jobs = [job("prep"), job("train", after=["prep"]), job("report", after=["train"]), job("other")]
    runner, backend, _ = run(tmp_path, jobs, {"prep": [Behaviour(1, 1)]})
    assert statuses(runner) == {"prep": "FAILED", "train": "SKIPPED", "report": "SKIPPED", "other": "SUCCEEDED"}
    assert runner.manifest.record("report").reason == "dependency train did not succeed"
    assert [job for _, job, _ in backend.made("start")] == ["prep", "other"]


def test_a_job_that_cannot_start_fails_without_a_retry_loop(tmp_path: Path) -> None:
    runner, backend, _ = run(tmp_path, [job("a", retries=1)], {"a": [Behaviour(fails_to_start=True)]},
                             retry_delay=1.0)
    record = runner.manifest.record("a")
    assert record.status is JobStatus.FAILED and record.reason == "cannot start a" and record.attempts == 2
    assert len(backend.made("start")) == 2 and backend.made("close")


def test_a_requeued_attempt_is_preempted_and_the_next_one_goes_on_with_a_fresh_deadline(tmp_path: Path) -> None:
    runner, backend, reporter = run(tmp_path, [job("long", timeout=8)], {"long": [Behaviour(duration=10, requeue_at=4)]})
    rec = runner.manifest.record("long")
    assert (rec.status, rec.attempts, rec.log) == (JobStatus.SUCCEEDED, 2, "logs/long.attempt2.log")
    assert [(a.attempt, a.status, a.reason, a.log) for a in rec.history] == [
        (1, JobStatus.PREEMPTED, "requeued", "logs/long.log"), (2, JobStatus.SUCCEEDED, None, "logs/long.attempt2.log")]
    assert backend.made("start") == [(0.0, "long", 1)] and backend.made("terminate") == []   # 4 + 8 > 10: no timeout
    assert [(e.status, e.attempt, e.will_retry) for e in reporter.events] == [
        (JobStatus.RUNNING, 1, False), (JobStatus.PREEMPTED, 1, True), (JobStatus.RUNNING, 2, False),
        (JobStatus.SUCCEEDED, 2, False)]
    assert reporter.result.exit_code == 0
