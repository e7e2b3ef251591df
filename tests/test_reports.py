"""The JSON report and the JUnit XML report, read back with a real JUnit parser."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from junitparser import Error, Failure, JUnitXml, Skipped

from conftest import ARGPARSE_SCRIPT, SHIM, as_manifest, run_cli
from runall.record.manifest import Manifest
from runall.record.reports import SCHEMA_VERSION, json_report, write_reports

REPORT_KEYS = {"schema", "schema_version", "run_id", "run_dir", "root", "status", "exit_code", "created", "finished",
               "duration", "counts", "jobs", "leaderboards", "grids"}
JOB_KEYS = {"id", "status", "attempts", "required", "start", "end", "duration", "exit_code", "signal", "reason", "lineage",
            "argv", "log", "output_dir", "params", "tags", "metrics"}
FAILING = 'import sys\nprint("loading data")\nprint("\\x1b[31mboom\\x1b[0m")\nsys.exit(3)\n'
SCORED = ARGPARSE_SCRIPT + 'json.dump({"r2": 0.75, "mae": 2.5}, open(os.path.join(a.output_dir, "metrics.json"), "w"))\n'
SLOW = 'import time\nprint("started", flush=True)\ntime.sleep(60)\n'


def manifest(run_dir: Path) -> Manifest:
    (run_dir / "logs").mkdir(parents=True)
    (run_dir / "logs" / "bad.log").write_text("".join(f"step {i}\n" for i in range(50)) + "Error: \x07bad <data> & more\n")
    base = {"attempts": 1, "duration": 1.5, "exit_code": None, "signal": None, "reason": None, "log": None,
            "metrics": None, "argv": ["python", "x.py"], "output_dir": None, "start": None, "end": None}
    jobs = [("ok", "SUCCEEDED", {"exit_code": 0}), ("bad", "FAILED", {"exit_code": 3, "log": "logs/bad.log"}),
            ("slow", "TIMEOUT", {"signal": "SIGTERM", "reason": "timed out"}),
            ("dep", "SKIPPED", {"attempts": 0, "duration": None, "reason": "dependency did not succeed: bad"}),
            ("later", "CANCELLED", {"attempts": 0, "duration": None, "reason": "interrupted"}),
            ("orphan", "RUNNING", {"duration": None})]
    return as_manifest(run_dir, {"run_id": "r1", "root": str(run_dir.parent), "status": "failed", "exit_code": 1,
            "created": "2025-01-01T12:00:00.000+00:00", "finished": "2025-01-01T12:00:09.500+00:00",
            "host": {"hostname": "node1"},
            "jobs": [{**base, "id": i, "status": s, "job": {"script": f"pkg/{i}.py"}, **extra} for i, s, extra in jobs]})


def test_junit_xml_parses_with_one_testcase_per_job(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    write_reports(manifest(run_dir), None, tmp_path / "out" / "junit.xml")
    (suite,) = JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml"))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped, suite.time) == (6, 2, 1, 2, 9.5)
    assert suite.timestamp == "2025-01-01T12:00:00" and suite.hostname == "node1"
    cases = {case.name: case for case in suite}
    assert list(cases) == ["ok", "bad", "slow", "dep", "later", "orphan"]
    assert cases["ok"].is_passed and cases["ok"].time == 1.5 and cases["ok"].classname == "pkg.ok"
    (failure,) = cases["bad"].result
    assert isinstance(failure, Failure) and failure.type == "FAILED" and failure.message == "FAILED: exit 3"
    lines = failure.text.splitlines()
    assert lines[0] == f"log: {run_dir / 'logs' / 'bad.log'}" and lines[-1] == "Error: ?bad <data> & more"
    assert lines[1] == "step 21" and len(lines) == 31
    assert cases["slow"].result[0].message == "TIMEOUT: SIGTERM (timed out)"
    assert [type(r) for r in cases["dep"].result + cases["later"].result] == [Skipped, Skipped]
    assert cases["dep"].result[0].message == "SKIPPED: dependency did not succeed: bad"
    assert isinstance(cases["orphan"].result[0], Error)


def test_json_report_has_the_documented_keys(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    report = json_report(manifest(run_dir))
    assert set(report) == REPORT_KEYS and report["schema_version"] == SCHEMA_VERSION == 2
    assert report["duration"] == 9.5 and report["counts"]["total"] == 6 and report["counts"]["FAILED"] == 1
    assert sum(n for status, n in report["counts"].items() if status != "total") == 6
    assert all(set(job) == JOB_KEYS for job in report["jobs"])
    assert report["jobs"][1]["log"] == str(run_dir / "logs" / "bad.log")
    json.dumps(report)


def test_reports_of_a_failing_run(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_scored.py": SCORED, "scripts/train_broken.py": FAILING})
    done = run_cli("--report-json", "out/report.json", "--junit-xml", "out/junit.xml", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((root / "out" / "report.json").read_text())
    assert report["status"] == "failed" and report["exit_code"] == 1
    assert report["counts"] == {"total": 2, "PENDING": 0, "RUNNING": 0, "SUCCEEDED": 1, "FAILED": 1, "TIMEOUT": 0,
                                "PREEMPTED": 0, "CANCELLED": 0, "SKIPPED": 0}
    jobs = {job["id"]: job for job in report["jobs"]}
    assert jobs["scored"]["metrics"]["values"] == {"r2": 0.75, "mae": 2.5}
    assert jobs["scored"]["metrics"]["primary"] == "r2"
    assert jobs["scored"]["output_dir"] == str(root / "results" / "scored")
    assert jobs["broken"]["exit_code"] == 3 and jobs["broken"]["metrics"] is None
    assert Path(jobs["broken"]["log"]).is_file() and jobs["broken"]["argv"][1] == "scripts/train_broken.py"
    assert report["leaderboards"] == [{"task": None, "dataset": None, "script": "scripts/train_scored.py",
                                       "metric": "r2", "higher_is_better": True, "ranking": ["scored"],
                                       "unranked": [], "ties": []}]
    (suite,) = JUnitXml.fromfile(str(root / "out" / "junit.xml"))
    cases = {case.name: case for case in suite}
    assert set(cases) == {"scored", "broken"} and cases["scored"].is_passed
    assert "boom" in cases["broken"].result[0].text and "\x1b" not in cases["broken"].result[0].text


def test_reports_of_an_interrupted_run(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_slow.py": SLOW, "scripts/train_zlater.py": SLOW})
    proc = subprocess.Popen([sys.executable, str(SHIM), "--report-json", "r.json", "--junit-xml", "j.xml",
                             "--grace", "1"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while "RUNNING" not in _manifest_text(root) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, out
    report = json.loads((root / "r.json").read_text())
    assert report["status"] == "interrupted" and report["exit_code"] == 130
    assert [job["status"] for job in report["jobs"]] == ["CANCELLED", "CANCELLED"]
    (suite,) = JUnitXml.fromfile(str(root / "j.xml"))
    assert [type(case.result[0]) for case in suite] == [Skipped, Skipped]


def test_an_unwritable_report_is_refused_before_the_run(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT, "blocker": "a file"})
    done = run_cli("--junit-xml", "blocker/junit.xml", "--report-json", "ok.json", cwd=root)
    assert done.returncode == 2 and done.stderr.startswith("runall: error: --junit-xml: cannot create blocker/junit.xml")
    assert not (root / "runs").exists() and not (root / "ok.json").exists()


def _manifest_text(root: Path) -> str:
    try:
        return (root / "runs" / "latest" / "manifest.json").read_text()
    except OSError:
        return ""
