"""What Slurm says about jobs: squeue/sacct output parsed into records, states mapped to runall's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from runall.backends.base import ExitInfo, signal_name
from runall.model import JobStatus

# `squeue --array --Format`: id (`A_i` for an array element), state, reason, the raw wait status
# of the batch script, times requeued.
SQUEUE_FORMAT = "JobArrayID:|,State:|,Reason:|,exit_code:|,RestartCnt:|"
SACCT_FIELDS = "JobID,State,ExitCode"
ACTIVE_STATES = frozenset({
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
    "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD",
})
FINAL_STATES: Mapping[str, JobStatus] = {
    "COMPLETED": JobStatus.SUCCEEDED, "FAILED": JobStatus.FAILED,
    "TIMEOUT": JobStatus.TIMEOUT, "DEADLINE": JobStatus.TIMEOUT,
    "CANCELLED": JobStatus.CANCELLED, "REVOKED": JobStatus.CANCELLED,
    "NODE_FAIL": JobStatus.FAILED, "BOOT_FAIL": JobStatus.FAILED, "OUT_OF_MEMORY": JobStatus.FAILED,
    "PREEMPTED": JobStatus.PREEMPTED, "SPECIAL_EXIT": JobStatus.FAILED,
}
# A job cancelled because a job it depends on failed was never run: the local scheduler's SKIPPED.
NEVER_RAN = "DependencyNeverSatisfied"
_QUIET_REASONS = frozenset({"", "None", "NonZeroExitCode"})


@dataclass(frozen=True)
class SlurmRecord:
    """What Slurm reports about one job: its state, the reason, and how its script ended."""

    state: str
    reason: str = ""
    exit_code: int | None = None
    signal: int | None = None
    restarts: int = 0               # how often the job was requeued (a new attempt each time)

    @property
    def final(self) -> bool:
        return self.state not in ACTIVE_STATES

    def outcome(self) -> ExitInfo:
        """How a job in a final state ended, with its manifest state and, where telling, a reason."""
        status = FINAL_STATES.get(self.state, JobStatus.FAILED)
        if status is JobStatus.SUCCEEDED and (self.exit_code or self.signal):
            status = JobStatus.FAILED
        if status is JobStatus.CANCELLED and self.reason == NEVER_RAN:
            status = JobStatus.SKIPPED
        reason = None if self.state in ("COMPLETED", "FAILED") and self.reason in _QUIET_REASONS else (
            f"Slurm {self.state}" + ("" if self.reason in _QUIET_REASONS else f" ({self.reason})"))
        if self.signal:
            return ExitInfo(None, signal_name(self.signal), status=status, reason=reason)
        ran = self.exit_code or self.state in ("COMPLETED", "FAILED")   # else the 0 means nothing
        return ExitInfo(self.exit_code if ran else None, status=status, reason=reason)


def parse_squeue(text: str) -> dict[str, SlurmRecord]:
    """`squeue --Format SQUEUE_FORMAT` output -> job id -> record (exit_code is a wait status)."""
    records = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 4 or not parts[0]:
            continue
        status = int(parts[3]) if parts[3].isdigit() else 0
        restarts = int(parts[4]) if len(parts) > 4 and parts[4].isdigit() else 0
        records[parts[0]] = SlurmRecord(parts[1], parts[2], status >> 8 & 0xFF, status & 0x7F or None, restarts)
    return records


def parse_sacct(text: str) -> dict[str, SlurmRecord]:
    """`sacct -nPX -o SACCT_FIELDS` output -> job id -> record (ExitCode is `code:signal`)."""
    records = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 3 or not parts[0]:
            continue
        code, _, sig = parts[2].partition(":")
        state = parts[1].split()[0] if parts[1].strip() else "UNKNOWN"
        records[parts[0]] = SlurmRecord(state, "", int(code) if code.isdigit() else None,
                                        int(sig) if sig.isdigit() and int(sig) else None)
    return records
