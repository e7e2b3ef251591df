"""The live view (rendered to a fake terminal), its ETA and process sampling, and how the
CLI chooses between it and plain lines."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from conftest import as_manifest
from runall.cli import parse
from runall.config import ReportOptions
from runall.model import Job, JobStatus
from runall.run.events import JobEvent, RunResult
from runall.run.session import make_reporter
from runall.view.live import LiveReporter, Row, TreeSampler, column_widths, remaining, shorten
from runall.view.plain import PlainReporter

BUSY_TREE = '''\
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
print("ready", flush=True)
time.sleep(60)
'''


def event(job_id: str, status: JobStatus, **kw) -> JobEvent:
    base = dict(job_id=job_id, status=status, attempt=1, max_attempts=1, done=0, total=2, time=time.time())
    return JobEvent(**{**base, **kw})


def screen(reporter: LiveReporter) -> str:
    console = Console(file=io.StringIO(), width=140, record=True)
    console.print(reporter.render())
    return console.export_text()


def test_remaining_time_only_from_earlier_runs() -> None:
    now = 1000.0
    rows = [Row("done", JobStatus.SUCCEEDED, duration=5.0), Row("run", JobStatus.RUNNING, start=now - 10),
            Row("wait"), Row("new")]
    expected = {"run": 30.0, "wait": 40.0, "done": 99.0}
    assert remaining(rows[:3], expected, now, workers=2) == pytest.approx((20 + 40) / 2 + 10)   # the wait bounds it
    assert remaining(rows[:3], expected, now, workers=1) == pytest.approx(20 + 40)
    assert remaining(rows[1:3], {**expected, "wait": 4.0}, now, workers=2) == pytest.approx(20)  # never below a
    assert remaining(rows, expected, now, workers=1) is None         # "new" was never run: no guess  # running job's rest
    assert remaining(rows[2:], {}, now, workers=1) is None
    assert remaining(rows[1:2], {"run": 9.0}, now, workers=2) is None  # running past its usual time: no "0.0s"
    assert remaining(rows[:1], {}, now, workers=1) == 0.0


def test_shorten_and_column_widths_keep_the_status_whole() -> None:
    assert shorten("alzheimers_structured@config=alzheimers_ensemble", 15, middle=True) == "alzheim…nsemble"
    assert shorten("epoch 3/10 loss 0.25", 10) == "epoch 3/1…" and shorten("short", 10) == "short"
    cells = [["alzheimers_structured@config=alzheimers_ensemble", "SUCCEEDED", "1/1", "18.7s", "-", "-",
              "alzheimers_ensemble: linear roc_auc 0.818 ± 0.006; boosting roc_auc 0.835 ± 0.008"]]
    widths = column_widths(cells, 79)
    assert widths[1:6] == [9, 7, 7, 3, 3] and sum(widths) + 2 * 6 == 79
    assert widths[0] == widths[6] == (79 - 29 - 12) // 2                  # id and log share the rest
    assert column_widths(cells, 200)[0] == len(cells[0][0])             # room enough: nothing is cut


def test_a_retried_attempt_is_not_final() -> None:
    row = Row.from_event(event("a", JobStatus.FAILED, exit_code=2, will_retry=True, retry_in=2.0, max_attempts=3),
                         Row("a", log=Path("a.log")))
    assert row.retrying and not row.final and row.note == "retry 2/3 in 2s" and row.log == Path("a.log")


def test_tree_sampler_sums_a_process_tree_and_tolerates_its_end() -> None:
    proc = subprocess.Popen([sys.executable, "-c", BUSY_TREE], stdout=subprocess.PIPE, text=True)
    sampler = TreeSampler()
    try:
        assert proc.stdout.readline() == "ready\n"
        sampler.sample(proc.pid)
        time.sleep(0.5)
        cpu, rss = sampler.sample(proc.pid)
        assert cpu > 5 and rss > 2 * 5 * 2**20          # the busy child counts (an idle tree is ~0); two interpreters
    finally:
        for child in __import__("psutil").Process(proc.pid).children():
            child.kill()
        proc.kill()
        proc.wait()
    assert sampler.sample(proc.pid) is None


def test_live_view_rows_and_final_summary(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"x" * 100_000 + b"\nepoch 1\nepoch 2 10%\repoch 2 \x1b[1m100%\x1b[0m\n")
    out = io.StringIO()
    reporter = LiveReporter(["a", "b"], console=Console(file=out, force_terminal=True, width=140, height=30),
                            expected={"a": 100.0, "b": 100.0}, workers=1, commands={"a": ["python", "train a.py"]})
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        reporter.on_event(event("a", JobStatus.RUNNING, start=time.time() - 3, pid=proc.pid, log_path=log))
        text = screen(reporter)
    finally:
        proc.kill()
        proc.wait()
    assert "0/2 jobs  1 running  elapsed" in text and "ETA 3m1" in text        # a: 97 s left, b: 100 s
    row = next(line.rstrip() for line in text.splitlines() if line.startswith("a "))
    assert row.split()[:3] == ["a", "RUNNING", "1/1"] and row.split()[3].startswith("3.")
    assert row.endswith("epoch 2 100%")                                         # last frame, codes removed
    assert row.split()[5].endswith("M")                                          # memory of the tree
    assert next(line for line in text.splitlines() if line.startswith("b ")).split()[:2] == ["b", "PENDING"]

    reporter.on_event(event("a", JobStatus.RUNNING, start=time.time() - 4, pid=proc.pid, log_path=log,
                            reason="interrupted", stopping=True))
    text = screen(reporter)
    assert "stopping 1 job" in text and "ETA" not in text
    row = next(line.rstrip() for line in text.splitlines() if line.startswith("a "))
    assert row.split()[:2] == ["a", "STOPPING"] and "interrupted | epoch 2 100%" in row
    reporter.on_event(event("a", JobStatus.FAILED, start=time.time() - 4, duration=4.0, exit_code=3, log_path=log,
                            done=1))
    reporter.on_event(event("b", JobStatus.SKIPPED, reason="dependency did not succeed: a", done=2))
    text = screen(reporter)
    assert "2/2 jobs  0 running  1 failed" in text and "ETA" not in text
    assert "exit 3 | epoch 2 100%" in text and "dependency did not succeed: a" in text
    records = [{"id": i, "status": s, "attempts": 1, "duration": 4.0, "exit_code": 3, "signal": None,
                "reason": None, "log": "a.log", "metrics": None} for i, s in (("a", "FAILED"), ("b", "SKIPPED"))]
    reporter.on_finish(RunResult("r1", tmp_path, 1, False, {}, as_manifest(tmp_path, {"run_id": "r1", "jobs": records})))
    printed = out.getvalue()
    assert "a: $ python 'train a.py'" in printed
    assert f"FAILED a (exit 3), log {log}:" in printed and printed.rstrip().endswith("manifest.json")


def test_events_are_cheap_while_the_view_runs(tmp_path: Path) -> None:
    reporter = LiveReporter(["a"], console=Console(file=io.StringIO(), force_terminal=True, width=100))
    start = time.perf_counter()
    for n in range(2000):
        reporter.on_event(event("a", JobStatus.RUNNING, attempt=n + 1, pid=os.getpid(), log_path=tmp_path / "a.log"))
    elapsed = time.perf_counter() - start
    reporter.on_finish(RunResult("r1", tmp_path, 0, False, {}, as_manifest(tmp_path, {"run_id": "r1", "jobs": []})))
    assert elapsed < 10.0      # generous: catches a view that blocks on each event, not a slow machine


@pytest.fixture
def terminal():
    """A text stream on a real pseudo-terminal (isatty() is true)."""
    main, side = os.openpty()
    with open(side, "w") as stream:
        yield stream
    os.close(main)


def choose(stream, *options: str) -> object:
    jobs = [Job("a", "a.py", ["python", "a.py"])]
    return make_reporter(ReportOptions.from_values(parse(list(options)).values), jobs, {}, 1, stream)


def test_reporter_choice(terminal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert isinstance(choose(terminal), LiveReporter)
    assert choose(terminal, "-v").commands == {"a": ["python", "a.py"]}
    assert isinstance(choose(io.StringIO()), PlainReporter)
    assert isinstance(choose(terminal, "--plain"), PlainReporter)
    quiet = choose(terminal, "-q")
    assert isinstance(quiet, PlainReporter) and not quiet.events
    monkeypatch.setenv("NO_COLOR", "1")
    assert isinstance(choose(terminal), PlainReporter)
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(choose(terminal), PlainReporter)


def test_plain_quiet_and_verbose() -> None:
    quiet, verbose = io.StringIO(), io.StringIO()
    PlainReporter(quiet, events=False).on_event(event("a", JobStatus.RUNNING, pid=7))
    PlainReporter(verbose, commands={"a": ["python", "x y.py", "--lr", "0.1"]}).on_event(
        event("a", JobStatus.RUNNING, pid=7))
    assert quiet.getvalue() == ""
    assert verbose.getvalue().splitlines() == ["[ 0/2] RUNNING    a  pid 7", "        $ python 'x y.py' --lr 0.1"]
    stopping = io.StringIO()
    PlainReporter(stopping, commands={"a": ["python"]}).on_event(
        event("a", JobStatus.RUNNING, pid=7, reason="interrupted", stopping=True))
    assert stopping.getvalue() == "[ 0/2] STOPPING   a  interrupted\n"


def test_80_columns_keep_every_status_whole_and_the_log_visible(tmp_path: Path) -> None:
    ids = ["alzheimers_structured@config=alzheimers_ensemble", "alzheimers_structured@config=alzheimers_baseline",
           "cardiovascular", "brain_mri"]
    logs = {}
    for job_id in ids:
        logs[job_id] = tmp_path / f"{job_id}.log"
        logs[job_id].write_text(f"{job_id}: linear roc_auc 0.818 ± 0.006; boosting roc_auc 0.835 ± 0.008\n")
    reporter = LiveReporter(ids, console=Console(file=io.StringIO(), force_terminal=True, width=80, height=30))
    reporter.on_event(event(ids[0], JobStatus.SUCCEEDED, duration=18.7, log_path=logs[ids[0]], total=4, done=1))
    reporter.on_event(event(ids[1], JobStatus.CANCELLED, duration=1.0, log_path=logs[ids[1]], total=4, done=2,
                            reason="interrupted", signal="SIGTERM"))
    reporter.on_event(event(ids[2], JobStatus.FAILED, attempt=1, max_attempts=3, will_retry=True, retry_in=2.0,
                            log_path=logs[ids[2]], total=4, done=2, exit_code=1))
    reporter.on_event(event(ids[3], JobStatus.RUNNING, pid=os.getpid(), log_path=logs[ids[3]], total=4, done=2,
                            start=time.time() - 5))
    console = Console(file=io.StringIO(), width=80, height=30, record=True)
    console.print(reporter.render())
    lines = console.export_text().splitlines()
    assert max(map(len, lines)) <= 79 and "LAST LOG" in lines[1]
    rows = {line.split()[0]: line for line in lines[2:6]}
    assert [row.split()[1] for row in rows.values()] == ["SUCCEEDED", "CANCELLED", "RETRY", "RUNNING"]
    assert "alzheimer…_ensemble" in lines[2] and "alzheimer…_baseline" in lines[3]   # ids cut in the middle
    assert rows["brain_mri"].rstrip().endswith("…") and "brain_mri: linear" in rows["brain_mri"]
    assert "retry 2/3 in 2s | …" in rows["cardiovascular"]
