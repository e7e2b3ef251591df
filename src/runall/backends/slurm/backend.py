"""SlurmBackend: each attempt is one sbatch submission, polled for all jobs at once.

State comes from one `squeue --states=all` call per poll (it reports the exit status too);
jobs squeue no longer knows are looked up with one `sacct` call where the cluster keeps
accounting. Polls are spaced by a growing interval so a busy controller is not hammered.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping, Sequence

from runall.backends.base import ExitInfo, LaunchSpec, shell_comment
from runall.backends.slurm.parse import SACCT_FIELDS, SQUEUE_FORMAT, SlurmRecord, parse_sacct, parse_squeue
from runall.backends.slurm.render import render_script
from runall.backends.slurm.settings import SlurmSettings, parse_settings
from runall.config import ExecutionOptions, Project, Sourced
from runall.model import Job, JobStatus
from runall.run.resources import Capacity

MISSING_LIMIT = 3          # polls a job may be unknown to squeue and sacct before it counts as lost


def slurm(*argv: str, timeout: float = 30) -> str:
    """Run a Slurm client command and return its output; OSError with its message on failure."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        raise OSError(f"{argv[0]}: {exc}") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise OSError(f"{argv[0]}: {message}")
    return done.stdout


class SlurmHandle:
    """A submitted attempt, known by its Slurm job id."""

    pid = None

    def __init__(self, job_id: str, slurm_id: str, token: str) -> None:
        self.job_id = job_id
        self.slurm_id = slurm_id
        self.token = token
        self.missing = 0

    def ref(self) -> dict[str, Any]:
        return {"slurm_job_id": self.slurm_id, "token": self.token, "job_id": self.job_id}

    def __repr__(self) -> str:
        return f"SlurmHandle({self.job_id!r}, slurm_id={self.slurm_id})"


class Backoff:
    """Poll spacing: starts at `low`, grows by `factor` up to `high`; `reset` after activity."""

    def __init__(self, low: float = 0.5, high: float = 5.0, factor: float = 1.5) -> None:
        self.low, self.high, self.factor = low, high, factor
        self.interval = low
        self.due = 0.0

    def reset(self) -> None:
        self.interval = self.low
        self.due = min(self.due, time.monotonic() + self.low)

    def wait(self, timeout: float) -> bool:
        """Sleep until the next poll is due or `timeout` passes; True when it is due."""
        delay = self.due - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, max(timeout, 0.0)))
        if time.monotonic() < self.due:
            return False
        self.due = time.monotonic() + self.interval
        self.interval = min(self.high, self.interval * self.factor)
        return True


class SlurmBackend:
    """Submits attempts with sbatch and watches them with squeue (see `Backend`).

    `jobs` gives each attempt's resources, timeout and dependencies by job id; `timeout` is
    the limit for jobs without their own. A dependency on a job whose attempt is still queued
    or running here becomes `--dependency=afterok`. The cluster decides what fits, so the
    capacity is room for every job at once (`max_workers` caps how many are submitted at a
    time) and nothing is checked against this machine's cores, GPUs or memory.
    """

    name: ClassVar[str] = "slurm"
    counts_local_memory: ClassVar[bool] = False
    can_detach: ClassVar[bool] = True

    @classmethod
    def parse_settings(cls, project: Project, values: Mapping[str, Sourced]) -> SlurmSettings:
        return parse_settings(project.table.get("slurm", {}), lambda table, key: project.where(key, table))

    @classmethod
    def create(cls, jobs: Sequence[Job], options: ExecutionOptions, settings: SlurmSettings) -> "SlurmBackend":
        """The backend for `jobs`; every job's batch script is rendered once here, so a value that
        cannot be written into one is an error (exit 2) before anything is submitted."""
        backend = cls(jobs, settings, timeout=options.timeout, max_workers=options.max_workers)
        for job in jobs:
            backend.script(LaunchSpec(job.id, 1, list(job.argv), Path("."), dict(job.env), Path("check.log"), "check"))
        return backend

    def __init__(self, jobs: Iterable[Job], settings: SlurmSettings, timeout: float | None = None,
                 backoff: Backoff | None = None, max_workers: int | None = None) -> None:
        self.jobs: Mapping[str, Job] = {
            job.id: job if job.timeout is not None or timeout is None else replace(job, timeout=timeout)
            for job in jobs}
        self.settings = settings
        self.backoff = backoff or Backoff()
        self._active: dict[str, SlurmHandle] = {}
        self._sacct = True
        self._max_workers = max_workers

    def capacity(self) -> Capacity:
        jobs = self.jobs.values()
        return Capacity(self._max_workers or max(1, len(jobs)), max(1, sum(job.cpus or 1 for job in jobs)),
                        tuple(str(i) for i in range(sum(job.gpus or 0 for job in jobs))),
                        max(1, sum(job.memory or 0 for job in jobs)))

    def preview(self, specs: Sequence[LaunchSpec]) -> str:
        """The batch script each spec would submit (a job is submitted once its dependencies have
        succeeded, so no `--dependency` line)."""
        folder = specs[0].log_path.parent if specs else Path("logs")
        out = [shell_comment(f"{len(specs)} job(s), each submitted with sbatch from {folder}") + "\n"]
        for spec in specs:
            script_path = spec.log_path.with_suffix(".sbatch")
            out.append(f"\n{shell_comment(f'---- {spec.job_id}: {script_path}')}\n{self.script(spec)}")
        return "".join(out)

    def script(self, spec: LaunchSpec) -> str:
        """The batch script that `start(spec)` submits."""
        job = self.jobs[spec.job_id]
        depends_on = [self._active[dep].slurm_id for dep in job.after if dep in self._active]
        return render_script(job, spec, self.settings.for_job(job.id), depends_on)

    def start(self, spec: LaunchSpec) -> SlurmHandle:
        script = self.script(spec)
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        path = spec.log_path.with_suffix(".sbatch")
        path.write_text(script, encoding="utf-8")
        try:
            out = slurm("sbatch", "--parsable", str(path))
        except OSError as exc:
            spec.log_path.write_text(f"runall: cannot submit {path}: {exc}\n", encoding="utf-8")
            raise
        handle = SlurmHandle(spec.job_id, out.strip().split(";")[0], spec.token)
        self._active[spec.job_id] = handle
        self.backoff.reset()
        return handle

    def poll(self, handles: Sequence[SlurmHandle], timeout: float) -> list[tuple[SlurmHandle, ExitInfo]]:
        if not handles or not self.backoff.wait(timeout):
            return []
        try:
            records = self.query([h.slurm_id for h in handles])
        except OSError:
            return []           # controller unreachable: try again at the next poll
        ended = []
        for handle in handles:
            info = self._settle(handle, records.get(handle.slurm_id))
            if info is not None:
                ended.append((handle, info))
                if self._active.get(handle.job_id) is handle:
                    del self._active[handle.job_id]
        if ended:
            self.backoff.reset()
        return ended

    def query(self, slurm_ids: Sequence[str]) -> dict[str, SlurmRecord]:
        """Records for these ids: one squeue call, plus one sacct call for ids squeue has dropped."""
        ids = ",".join(slurm_ids)
        records = parse_squeue(slurm("squeue", "--noheader", "--states=all", f"--jobs={ids}",
                                     f"--Format={SQUEUE_FORMAT}"))
        missing = [i for i in slurm_ids if i not in records]
        if missing and self._sacct:
            try:
                records.update(parse_sacct(slurm("sacct", "--noheader", "--parsable2", "--allocations",
                                                 f"--jobs={','.join(missing)}", f"--format={SACCT_FIELDS}")))
            except OSError:
                self._sacct = False     # no accounting storage on this cluster
        return records

    def _settle(self, handle: SlurmHandle, record: SlurmRecord | None) -> ExitInfo | None:
        """ExitInfo when the attempt has ended, else None; unknown for MISSING_LIMIT polls is lost."""
        if record is None:
            handle.missing += 1
            if handle.missing < MISSING_LIMIT:
                return None
            return ExitInfo(None, status=JobStatus.FAILED, reason="job vanished from Slurm; outcome unknown")
        handle.missing = 0
        return record.outcome() if record.final else None

    def terminate(self, handle: SlurmHandle) -> None:
        """Cancel the job while queued; once running, SIGTERM its processes (kill stays possible)."""
        _quiet("scancel", "--state=PENDING", handle.slurm_id)
        _quiet("scancel", "--state=RUNNING", "--full", "--signal=TERM", handle.slurm_id)

    def kill(self, handle: SlurmHandle) -> None:
        """SIGKILL the batch script and its children at once, and cancel the job if still queued."""
        _quiet("scancel", "--batch", "--signal=KILL", handle.slurm_id)
        _quiet("scancel", handle.slurm_id)

    def describe(self, ref: Mapping[str, Any]) -> str:
        return f"Slurm job {ref.get('slurm_job_id')}"

    def reattach(self, ref: Mapping[str, Any]) -> SlurmHandle:
        """A handle for a job submitted earlier (`--status` of a detached run)."""
        return SlurmHandle(str(ref["job_id"]), str(ref["slurm_job_id"]), str(ref.get("token", "")))

    def kill_stale(self, refs: Sequence[Mapping[str, Any]]) -> int:
        """scancel the refs' jobs still queued or running; a ref with only a token is found by its comment."""
        ids = {str(ref["slurm_job_id"]) for ref in refs if ref.get("slurm_job_id")}
        tokens = {ref["token"] for ref in refs if ref.get("token") and not ref.get("slurm_job_id")}
        try:
            if tokens:
                for line in slurm("squeue", "--me", "--noheader", "--format=%i|%k").splitlines():
                    slurm_id, _, comment = line.partition("|")
                    if comment.strip() in tokens:
                        ids.add(slurm_id.strip())
            active = [i for i, record in self.query(sorted(ids)).items() if not record.final] if ids else []
        except OSError:
            return 0
        if active:
            _quiet("scancel", *active)
        return len(active)

    def close(self) -> None:
        """Cancel what this run submitted and has not seen end (nothing, after a normal run)."""
        if self._active:
            _quiet("scancel", *(handle.slurm_id for handle in self._active.values()))
            self._active.clear()


def _quiet(*argv: str) -> None:
    """Run a command whose failure only means there is nothing left to act on."""
    try:
        slurm(*argv)
    except OSError:
        pass
