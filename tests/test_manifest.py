"""The run manifest, the `latest` pointer, run ids and the duration history."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from runall.errors import RecordError, UsageError
from runall.model import Job, JobStatus
from runall.record import manifest as manifest_mod
from runall.record.history import expected_durations
from runall.record.manifest import Manifest, new_run_id, resolve_run_dir, update_latest


def jobs() -> list[Job]:
    return [Job(id="a", script="a.py", argv=["python", "a.py", "--epochs", "1"], output_dir="results/a"),
            Job(id="b/c", script="b.py", argv=["python", "b.py"], env={"K": "v"}, after=["a"])]


def create(tmp_path: Path, run_id: str = "r1", **meta) -> Manifest:
    return Manifest.create(tmp_path / run_id, jobs(), root=tmp_path,
                           meta={"settings": {"epochs": 1}, "options": {"parallel": False}, **meta})


def test_create_writes_valid_json(tmp_path: Path) -> None:
    m = create(tmp_path, capacity={"cpus": 2})
    data = json.loads(m.path.read_text())
    assert data["run_id"] == "r1" and data["status"] == "running" and data["settings"] == {"epochs": 1}
    assert data["capacity"] == {"cpus": 2}
    assert set(data["git"]) == {"commit", "dirty"} and data["host"]["hostname"] and data["python"]["version"]
    assert [rec["status"] for rec in data["jobs"]] == ["PENDING", "PENDING"]
    assert [Job.from_dict(rec["job"]) for rec in data["jobs"]] == jobs()
    assert (tmp_path / "r1" / "logs").is_dir()
    assert [p.name for p in (tmp_path / "r1").iterdir() if p.name.startswith(".")] == []


def test_transitions_are_saved_and_reloaded(tmp_path: Path) -> None:
    m = create(tmp_path)
    m.begin_attempt("a", 1, "logs/a.log", 1000.0, ["0"])
    m.launched("a", 42, {"pid": 42, "token": "r1/a"})
    m.save(wait=False)
    m.begin_attempt("b/c", 1, "logs/b.log", 1000.0, [])
    m.end_attempt("b/c", JobStatus.FAILED, end=1002.5, exit_code=3, retry=True)
    m.set_meta(status="failed", exit_code=1)
    m.save()
    back = Manifest.load(tmp_path / "r1")
    a, bc = back.record("a"), back.record("b/c")
    assert a.status is JobStatus.RUNNING and a.pid == 42 and a.gpu_ids == ["0"] and a.backend_ref["token"] == "r1/a"
    assert bc.status is JobStatus.PENDING and bc.exit_code == 3 and bc.duration == 2.5      # to be retried
    assert [(h.attempt, h.status, h.exit_code, h.log) for h in bc.history] == [(1, JobStatus.FAILED, 3, "logs/b.log")]
    assert back.status == "failed" and back.meta["exit_code"] == 1
    assert back.encode() == m.encode()
    assert json.loads(m.path.read_text())["jobs"][0]["argv"] == ["python", "a.py", "--epochs", "1"]


def test_mark_reset_and_verdict(tmp_path: Path) -> None:
    m = create(tmp_path)
    assert m.verdict() == ("failed", 1)
    m.begin_attempt("a", 1, "logs/a.log", 1000.0, [])
    m.end_attempt("a", JobStatus.SUCCEEDED, end=1001.0, exit_code=0)
    m.mark("b/c", JobStatus.SKIPPED, "dependency a did not succeed")
    assert m.verdict() == ("failed", 1) and m.verdict(interrupted=True) == ("interrupted", 130)
    m.begin_attempt("b/c", 1, "logs/b.log", 1000.0, [])
    m.reset_for_resume("b/c")                  # the orchestrator died while it ran
    record = m.record("b/c")
    assert record.status is JobStatus.PENDING and record.history[-1].status is JobStatus.CANCELLED
    m.begin_attempt("b/c", 2, "logs/b.attempt2.log", 1000.0, [])
    m.end_attempt("b/c", JobStatus.SUCCEEDED, end=1001.0, exit_code=0)
    assert m.finish() == 0 and m.status == "succeeded" and m.meta["finished"]


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = create(tmp_path)
    original = m.path.read_text()

    def broken_fsync(fd: int) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(manifest_mod.os, "fsync", broken_fsync)
    m.mark("a", JobStatus.CANCELLED, "test")
    with pytest.raises(RecordError, match="cannot write .*manifest.json: disk on fire"):
        m.save()
    assert m.path.read_text() == original
    assert [p.name for p in m.run_dir.iterdir() if p.name.startswith(".")] == []


def test_load_errors(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{not json")
    with pytest.raises(UsageError, match="cannot read run manifest"):
        Manifest.load(tmp_path / "bad")


def test_run_ids_sort_by_time() -> None:
    first, second = new_run_id(1_700_000_000), new_run_id(1_700_000_001)
    assert first < second and first.startswith("20231114-221320-") and len(first.split("-")[-1]) == 6
    assert new_run_id() != new_run_id()


def test_latest_symlink(tmp_path: Path) -> None:
    create(tmp_path, "r1")
    create(tmp_path, "r2")
    update_latest(tmp_path, "r1")
    update_latest(tmp_path, "r2")
    assert os.readlink(tmp_path / "latest") == "r2"
    assert resolve_run_dir(tmp_path, "latest") == tmp_path / "r2"
    assert resolve_run_dir(tmp_path, "r1") == tmp_path / "r1"


def test_latest_text_file_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_symlinks(*args: object) -> None:
        raise OSError("symlinks not supported")

    monkeypatch.setattr(manifest_mod.os, "symlink", no_symlinks)
    create(tmp_path, "r1")
    update_latest(tmp_path, "r1")
    assert (tmp_path / "latest").read_text().strip() == "r1"
    assert resolve_run_dir(tmp_path, "latest") == tmp_path / "r1"


def test_history_takes_latest_success(tmp_path: Path) -> None:
    def ran(m: Manifest, job_id: str, status: JobStatus, duration: float) -> None:
        m.begin_attempt(job_id, 1, "logs/x.log", 1000.0, [])
        m.end_attempt(job_id, status, end=1000.0 + duration)

    old = create(tmp_path, "r1")
    ran(old, "a", JobStatus.SUCCEEDED, 50.0)
    ran(old, "b/c", JobStatus.SUCCEEDED, 7.0)
    old.save()
    past = time.time() - 100
    os.utime(old.path, (past, past))
    new = create(tmp_path, "r2")
    ran(new, "a", JobStatus.SUCCEEDED, 20.0)
    ran(new, "b/c", JobStatus.FAILED, 1.0)
    new.save()
    (tmp_path / "junk").mkdir()
    update_latest(tmp_path, "r2")
    assert expected_durations(tmp_path) == {"a": 20.0, "b/c": 7.0}
    assert expected_durations(tmp_path, max_runs=1) == {"a": 20.0}
    assert expected_durations(tmp_path / "missing") == {}


# -- the journal: O(changed records) per save, read back by load, folded into manifest.json ----

def wait_for_lines(path: Path, count: int, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(lines := path.read_text().splitlines()) >= count:
            return lines
        time.sleep(0.01)
    raise AssertionError(f"{path}: fewer than {count} lines after {timeout}s")


def test_a_change_is_one_journal_line_whatever_the_run_size(tmp_path: Path) -> None:
    many = [Job(id=f"j{i}", script="j.py", argv=["python", "j.py", "--i", str(i)]) for i in range(1000)]
    m = Manifest.create(tmp_path / "big", many, root=tmp_path, meta={})
    folded = m.path.read_text()
    m.begin_attempt("j500", 1, "logs/j500.log", 1000.0, [])
    m.save(wait=False)
    m.set_meta(note="x")
    m.save(wait=False)
    journal = m.run_dir / manifest_mod.JOURNAL
    lines = wait_for_lines(journal, 2)
    assert [json.loads(line).get("id") for line in lines] == ["j500", None] and len(journal.read_bytes()) < 1000
    assert m.path.read_text() == folded                                  # not rewritten for one change
    back = Manifest.load(m.run_dir)
    assert back.record("j500").status is JobStatus.RUNNING and back.meta["note"] == "x"
    assert back.record("j499").status is JobStatus.PENDING

    with open(journal, "a") as fh:                                      # a write torn by a crash
        fh.write('{"seq": 99, "id": "j1", "status": "SUCC')
    assert Manifest.load(m.run_dir).record("j1").status is JobStatus.PENDING

    m.save()                                                            # folded: one complete file again
    assert not journal.exists()
    data = json.loads(m.path.read_text())
    assert data["note"] == "x" and data["jobs"][500]["status"] == "RUNNING"
    assert Manifest.load(m.run_dir).encode() == m.encode()


def test_journal_lines_older_than_the_manifest_are_ignored(tmp_path: Path) -> None:
    m = create(tmp_path)
    m.begin_attempt("a", 1, "logs/a.log", 1000.0, [])
    m.save(wait=False)
    journal = m.run_dir / manifest_mod.JOURNAL
    old = wait_for_lines(journal, 1)
    m.end_attempt("a", JobStatus.SUCCEEDED, end=1001.0, exit_code=0)
    m.save()
    journal.write_text("\n".join(old) + "\n")     # as if the orchestrator died before removing it
    assert Manifest.load(m.run_dir).record("a").status is JobStatus.SUCCEEDED


def test_outcomes_read_states_without_records_and_follow_the_journal(tmp_path: Path) -> None:
    m = create(tmp_path)
    m.begin_attempt("a", 1, "logs/a.log", 1000.0, [])
    m.end_attempt("a", JobStatus.SUCCEEDED, end=1004.0, exit_code=0)
    m.save()
    m.begin_attempt("b/c", 1, "logs/b.log", 1000.0, [])
    m.save(wait=False)
    wait_for_lines(m.run_dir / manifest_mod.JOURNAL, 1)
    assert Manifest.outcomes(m.run_dir) == {"a": ("SUCCEEDED", 4.0), "b/c": ("RUNNING", None)}
    (tmp_path / "other").mkdir()                       # a manifest in another layout: one line
    (tmp_path / "other" / "manifest.json").write_text(json.dumps(m.to_dict()))
    assert Manifest.outcomes(tmp_path / "other")["a"] == ("SUCCEEDED", 4.0)
