"""SlurmBackend: attempts go out with sbatch, as job arrays where they can, polled all at once.

Attempts started together (`start_batch`) that share resources, limits, setup and
dependencies go out as one job array (`--array=0-N%K`, K = `--max-workers`), each element
taking its log, environment and argv from a line of an arguments file in the run folder;
the rest one sbatch each. Every attempt keeps its own handle (`<array id>_<index>` for an
element), state, exit code, log, retries. State comes from one `squeue --array
--states=all` call per poll (it reports the exit status too); jobs squeue no longer knows
are looked up with one `sacct` call where the cluster keeps accounting. Polls are spaced by
a growing interval so a busy controller is not hammered.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping, Sequence

from runall.backends.base import ExitInfo, LaunchSpec, shell_comment
from runall.backends.slurm.parse import SACCT_FIELDS, SQUEUE_FORMAT, SlurmRecord, parse_sacct, parse_squeue
from runall.backends.slurm.render import array_line, render_array, render_script, shared_options
from runall.backends.slurm.settings import SlurmSettings, parse_settings
from runall.config import ExecutionOptions, Project, Sourced
from runall.model import Job, JobStatus
from runall.run.resources import Capacity

MISSING_LIMIT = 3          # polls a job may be unknown to squeue and sacct before it counts as lost
MAX_ARRAY_SIZE = 1001      # Slurm's default MaxArraySize, when `scontrol show config` does not say


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

    def __init__(self, job_id: str, slurm_id: str, token: str, restarts: int = 0) -> None:
        self.job_id = job_id
        self.slurm_id = slurm_id
        self.token = token
        self.restarts = restarts        # requeues already reported as new attempts
        self.missing = 0

    def ref(self) -> dict[str, Any]:
        return {"slurm_job_id": self.slurm_id, "token": self.token, "job_id": self.job_id, "restarts": self.restarts}

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
    capacity is room for every job at once, and nothing is checked against this machine's
    cores, GPUs or memory. `max_workers` caps how many run at once: it is each array's `%K`,
    and each submission waits (`afterany`) for the one before it while that one has attempts
    left.
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
        self._units: dict[str, set[str]] = {}    # submission (array or job id) -> its ids not seen ending
        self._arrays: dict[str, frozenset[str]] = {}    # array id -> the ids of all its elements
        self._last_unit: str | None = None
        self._max_array: int | None = None

    def capacity(self) -> Capacity:
        jobs = self.jobs.values()
        return Capacity(max(1, len(jobs)), max(1, sum(job.cpus or 1 for job in jobs)),
                        tuple(str(i) for i in range(sum(job.gpus or 0 for job in jobs))),
                        max(1, sum(job.memory or 0 for job in jobs)))

    def preview(self, specs: Sequence[LaunchSpec]) -> str:
        """What starting every spec at once would submit: each array's batch script and argument
        lines, each other attempt's batch script (a job is submitted once its dependencies have
        succeeded, so no `--dependency` line)."""
        folder = specs[0].log_path.parent if specs else Path("logs")
        groups = self._groups(specs, with_dependencies=False)
        out = [shell_comment(f"{len(specs)} job(s) in {sum(len(c) for c in groups)} sbatch submission(s) "
                             f"from {folder}") + "\n"]
        for chunks in groups:
            for chunk in chunks:
                if len(chunk) == 1:
                    spec = chunk[0]
                    title = shell_comment(f"---- {spec.job_id}: {spec.log_path.with_suffix('.sbatch')}")
                    out.append(f"\n{title}\n{self.script(spec)}")
                    continue
                script, args = self._array_paths(chunk)
                lines = "".join(array_line(self.jobs[s.job_id], s) + "\n" for s in chunk)
                out.append(f"\n{shell_comment(f'---- array of {len(chunk)}: {script}')}\n"
                           f"{self._array_script(chunk, [])}\n{shell_comment(f'---- {args}')}\n{lines}")
        return "".join(out)

    def script(self, spec: LaunchSpec) -> str:
        """The batch script that `start(spec)` submits."""
        return render_script(self.jobs[spec.job_id], spec, self.settings.for_job(spec.job_id),
                             self._depends_on(spec.job_id) + self._chain())

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
        slurm_id = out.strip().split(";")[0]
        handle = SlurmHandle(spec.job_id, slurm_id, spec.token)
        self._submitted(slurm_id, [handle])
        return handle

    def start_batch(self, specs: Sequence[LaunchSpec]) -> list[SlurmHandle | OSError]:
        """Start attempts together: those that can share a job array go out as one (split at the
        cluster's MaxArraySize), the others one by one. One handle, or the OSError of a failed
        submission, per spec, in order."""
        outcome: dict[int, SlurmHandle | OSError] = {}
        for chunks in self._groups(specs, with_dependencies=True):
            for chunk in chunks:
                if len(chunk) == 1:
                    try:
                        outcome[id(chunk[0])] = self.start(chunk[0])
                    except OSError as exc:
                        outcome[id(chunk[0])] = exc
                    continue
                try:
                    handles: list[SlurmHandle | OSError] = list(self._start_array(chunk))
                except OSError as exc:
                    handles = [exc] * len(chunk)
                outcome.update({id(spec): handle for spec, handle in zip(chunk, handles)})
        return [outcome[id(spec)] for spec in specs]

    def _groups(self, specs: Sequence[LaunchSpec], with_dependencies: bool) -> list[list[list[LaunchSpec]]]:
        """Specs that can go out as one array (same shared options and setup lines), in order of
        first appearance, each group split into chunks of at most MaxArraySize."""
        groups: dict[tuple[str, ...], list[LaunchSpec]] = {}
        for spec in specs:
            job, settings = self.jobs[spec.job_id], self.settings.for_job(spec.job_id)
            depends_on = self._depends_on(spec.job_id) if with_dependencies else []
            key = (str(spec.cwd), *shared_options(job, settings, depends_on), "\0", *settings.setup)
            if spec.launch is not None:            # a multi-process job: its own script (srun, launcher)
                key = ("\0launcher", spec.job_id, str(spec.attempt))
            groups.setdefault(key, []).append(spec)
        size = self._array_limit() if len(specs) > 1 else 1
        return [[group[i:i + size] for i in range(0, len(group), size)] for group in groups.values()]

    def _start_array(self, specs: Sequence[LaunchSpec]) -> list[SlurmHandle]:
        script_path, args_path = self._array_paths(specs)
        script_path.parent.mkdir(parents=True, exist_ok=True)
        args_path.write_text("".join(array_line(self.jobs[s.job_id], s) + "\n" for s in specs), encoding="utf-8")
        script_path.write_text(self._array_script(specs, self._depends_on(specs[0].job_id) + self._chain()),
                               encoding="utf-8")
        try:
            out = slurm("sbatch", "--parsable", str(script_path))
        except OSError as exc:
            for spec in specs:
                spec.log_path.write_text(f"runall: cannot submit {script_path}: {exc}\n", encoding="utf-8")
            raise
        array_id = out.strip().split(";")[0]
        handles = [SlurmHandle(spec.job_id, f"{array_id}_{i}", spec.token) for i, spec in enumerate(specs)]
        self._submitted(array_id, handles)
        return handles

    def _array_script(self, specs: Sequence[LaunchSpec], depends_on: Sequence[str]) -> str:
        script_path, args_path = self._array_paths(specs)
        return render_array([self.jobs[s.job_id] for s in specs], specs, self.settings.for_job(specs[0].job_id),
                            args_path, script_path.with_suffix(".out"), depends_on, self._max_workers)

    @staticmethod
    def _array_paths(specs: Sequence[LaunchSpec]) -> tuple[Path, Path]:
        """The array's batch script and arguments file, named after its first attempt's log."""
        stem = specs[0].log_path.with_suffix("")
        return stem.with_name(f"{stem.name}+{len(specs) - 1}.sbatch"), stem.with_name(f"{stem.name}+{len(specs) - 1}.args")

    def _submitted(self, unit: str, handles: Sequence[SlurmHandle]) -> None:
        for handle in handles:
            self._active[handle.job_id] = handle
        self._units[unit] = {handle.slurm_id for handle in handles}
        if unit != handles[0].slurm_id:
            self._arrays[unit] = frozenset(self._units[unit])
        self._last_unit = unit
        self.backoff.reset()

    def _depends_on(self, job_id: str) -> list[str]:
        """Slurm ids a job's attempt must wait for: its dependencies still queued or running here,
        a whole array where every element of it is one."""
        ids = [self._active[dep].slurm_id for dep in self.jobs[job_id].after if dep in self._active]
        by_array: dict[str, set[str]] = {}
        for slurm_id in ids:
            if "_" in slurm_id:
                by_array.setdefault(slurm_id.split("_")[0], set()).add(slurm_id)
        whole = {array for array, members in by_array.items() if members == self._arrays.get(array)}
        return sorted({slurm_id.split("_")[0] if slurm_id.split("_")[0] in whole else slurm_id for slurm_id in ids})

    def _chain(self) -> list[str]:
        """With `max_workers`, wait for the previous submission while it has attempts left."""
        if self._max_workers and self._last_unit and self._units.get(self._last_unit):
            return [f"afterany:{self._last_unit}"]
        return []

    def _array_limit(self) -> int:
        """Elements per array: the cluster's MaxArraySize (ids run from 0 to MaxArraySize - 1)."""
        if self._max_array is None:
            self._max_array = MAX_ARRAY_SIZE
            try:
                for line in slurm("scontrol", "show", "config").splitlines():
                    name, _, value = line.partition("=")
                    if name.strip() == "MaxArraySize" and value.strip().isdigit():
                        self._max_array = int(value.strip())
            except OSError:
                pass
        return max(1, self._max_array)

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
                if not info.requeued:
                    self._units.get(handle.slurm_id.split("_")[0], set()).discard(handle.slurm_id)
                    if self._active.get(handle.job_id) is handle:
                        del self._active[handle.job_id]
        if ended:
            self.backoff.reset()
        return ended

    def query(self, slurm_ids: Sequence[str]) -> dict[str, SlurmRecord]:
        """Records for these ids (`A_i` for array elements): one squeue call, asking for whole
        arrays, one line per element, plus one sacct call for ids squeue has dropped."""
        ids = ",".join(sorted({slurm_id.split("_")[0] for slurm_id in slurm_ids}))
        records = parse_squeue(slurm("squeue", "--noheader", "--array", "--states=all", f"--jobs={ids}",
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
        """ExitInfo when the attempt has ended, else None; unknown for MISSING_LIMIT polls is lost.

        A requeue (the restart count grew) ends the attempt as PREEMPTED while the job goes on:
        one requeue per poll, so every attempt is recorded."""
        if record is None:
            handle.missing += 1
            if handle.missing < MISSING_LIMIT:
                return None
            return ExitInfo(None, status=JobStatus.FAILED, reason="job vanished from Slurm; outcome unknown")
        handle.missing = 0
        if record.restarts > handle.restarts:
            handle.restarts += 1
            return ExitInfo(None, status=JobStatus.PREEMPTED, requeued=True,
                            reason=f"requeued by Slurm (restart {handle.restarts}); the next attempt goes on")
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
        return SlurmHandle(str(ref["job_id"]), str(ref["slurm_job_id"]), str(ref.get("token", "")),
                           int(ref.get("restarts") or 0))

    def kill_stale(self, refs: Sequence[Mapping[str, Any]]) -> int:
        """scancel the refs' jobs still queued or running; a ref with only a token is found by its
        comment (an array's comment, `PREFIX*`, stands for every token starting with PREFIX)."""
        ids = {str(ref["slurm_job_id"]) for ref in refs if ref.get("slurm_job_id")}
        tokens = {ref["token"] for ref in refs if ref.get("token") and not ref.get("slurm_job_id")}
        try:
            if tokens:
                for line in slurm("squeue", "--me", "--noheader", "--array", "--format=%i|%k").splitlines():
                    slurm_id, _, comment = (part.strip() for part in line.partition("|"))
                    if comment in tokens or (comment.endswith("*") and any(t.startswith(comment[:-1]) for t in tokens)):
                        ids.add(slurm_id)
            active = [i for i, record in self.query(sorted(ids)).items() if i in ids and not record.final] if ids else []
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
