"""Execution with real processes, through `session.start`: outcomes, timeouts, trees, output, resources."""

from __future__ import annotations

import io
import json
import subprocess
import time
from pathlib import Path

import pytest

from helpers_procs import run_plain as run, driver_argv, job_argv, start_run, write_spec
from runall.errors import UsageError
from runall.model import Job
from runall.view.plain import PlainReporter


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pids").mkdir()
    return tmp_path


def job(root: Path, id: str, behaviour: str, *args: object, **fields) -> Job:
    return Job(id=id, script=f"{id}.py", argv=job_argv(root / "pids", behaviour, *args), **fields)



def by_id(manifest: dict) -> dict[str, dict]:
    return {rec["id"]: rec for rec in manifest["jobs"]}


def test_success_and_crash(root: Path) -> None:
    code, manifest, out = run(root, [job(root, "ok", "sleep", 0), job(root, "boom", "crash", 1)])
    jobs = by_id(manifest)
    assert code == 1
    assert manifest["status"] == "failed" and manifest["exit_code"] == 1
    assert jobs["ok"]["status"] == "SUCCEEDED" and jobs["ok"]["exit_code"] == 0
    assert jobs["boom"]["status"] == "FAILED" and jobs["boom"]["exit_code"] == 1
    assert jobs["boom"]["attempts"] == 1 and jobs["boom"]["signal"] is None
    for rec in jobs.values():
        assert rec["argv"] == rec["job"]["argv"]
        assert rec["start"] and rec["end"] and rec["duration"] >= 0 and rec["peak_rss"] > 0
        assert (root / "runs" / "latest" / rec["log"]).is_file()
    assert "about to crash" in (root / "runs" / "latest" / jobs["boom"]["log"]).read_text()
    assert "FAILED     boom" in out and "| about to crash" in out
    assert all(ch.isprintable() for line in out.splitlines() for ch in line)


def test_all_succeed_exit_zero(root: Path) -> None:
    code, manifest, _ = run(root, [job(root, "a", "sleep", 0), job(root, "b", "sleep", 0)], "--parallel")
    assert code == 0 and manifest["status"] == "succeeded"


def test_optional_job_failure_does_not_fail_run(root: Path) -> None:
    code, _, _ = run(root, [job(root, "a", "sleep", 0), job(root, "b", "crash", 3, required=False)])
    assert code == 0


def test_death_by_signal(root: Path) -> None:
    code, manifest, out = run(root, [job(root, "sig", "signal", "SIGKILL")])
    rec = by_id(manifest)["sig"]
    assert code == 1 and rec["status"] == "FAILED"
    assert rec["signal"] == "SIGKILL" and rec["exit_code"] is None
    assert "SIGKILL" in out


def test_timeout_terminates(root: Path) -> None:
    start = time.monotonic()
    code, manifest, _ = run(root, [job(root, "hang", "sleep", 30)], "--timeout", "1")
    rec = by_id(manifest)["hang"]
    assert code == 1 and rec["status"] == "TIMEOUT" and rec["signal"] == "SIGTERM"
    assert time.monotonic() - start < 10


def test_timeout_precedence_and_sigterm_ignored(root: Path) -> None:
    """Command line > job file > [tool.runall]: a job's own timeout beats pyproject's, --timeout beats both."""
    (root / "pyproject.toml").write_text("[tool.runall]\ntimeout = 100\n")
    start = time.monotonic()
    code, manifest, _ = run(root, [job(root, "stubborn", "ignore-term", 30, timeout=1)])
    rec = by_id(manifest)["stubborn"]
    assert code == 1 and rec["status"] == "TIMEOUT" and rec["signal"] == "SIGKILL"
    assert 1.5 < rec["duration"] < 8          # timeout 1 s + grace 1 s
    assert time.monotonic() - start < 12
    (root / "runs" / "latest").unlink()
    code, manifest, _ = run(root, [job(root, "stubborn", "ignore-term", 30, timeout=100)], "--timeout", "1")
    assert by_id(manifest)["stubborn"]["status"] == "TIMEOUT" and by_id(manifest)["stubborn"]["duration"] < 8


def test_timeout_kills_whole_tree(root: Path) -> None:
    code, manifest, _ = run(root, [job(root, "tree", "tree", 30)], "--timeout", "2")
    assert code == 1 and by_id(manifest)["tree"]["status"] == "TIMEOUT"
    assert len(list((root / "pids").glob("*.pid"))) == 5     # leader, 3 children, 1 grandchild


def test_daemon_left_behind_is_killed_at_the_end(root: Path) -> None:
    code, _, _ = run(root, [job(root, "d", "daemon", 30)])        # run() checks for survivors
    assert code == 0 and len(list((root / "pids").glob("*.pid"))) == 2


def test_huge_output_goes_to_the_log(root: Path) -> None:
    code, manifest, _ = run(root, [job(root, "spam", "spam", 100)])
    assert code == 0
    assert (root / "runs" / "latest" / by_id(manifest)["spam"]["log"]).stat().st_size == 100 * 1024 * 1024


def test_huge_output_leaves_orchestrator_memory_flat(root: Path) -> None:
    peaks = {}
    for mb in (0, 100):
        spec = write_spec(root / "spec.json", root, [{"id": "spam", "script": "s.py",
                                                       "argv": job_argv(root / "pids", "spam", mb)}])
        done = subprocess.run(driver_argv(spec, "--runs-dir", str(root / f"runs{mb}")), capture_output=True, timeout=120)
        assert done.returncode == 0
        peaks[mb] = int((root / "driver-rss").read_text())
    assert peaks[100] - peaks[0] < 10 * 1024 * 1024, peaks


def test_parallel_runs_concurrently(root: Path) -> None:
    jobs = [job(root, f"s{i}", "sleep", 2) for i in range(4)]
    start = time.monotonic()
    code, _, _ = run(root, jobs, "--parallel", "--max-workers", "2")
    elapsed = time.monotonic() - start
    assert code == 0 and 3.9 < elapsed < 7.0, elapsed


def test_gpus_and_thread_caps(root: Path) -> None:
    jobs = [job(root, f"g{i}", "env", root / f"env{i}.json", 1, gpus=1, cpus=1) for i in range(2)]
    jobs.append(job(root, "cpu", "env", root / "env-cpu.json", cpus=2, env={"MKL_NUM_THREADS": "7"}))
    code, manifest, _ = run(root, jobs, "--parallel", "--max-workers", "2", "--gpus", "2")
    assert code == 0
    envs = [json.loads((root / f"env{i}.json").read_text()) for i in range(2)]
    assert sorted(env["CUDA_VISIBLE_DEVICES"] for env in envs) == ["0", "1"]
    assert all(env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1" for env in envs)
    cpu_env = json.loads((root / "env-cpu.json").read_text())
    assert cpu_env["CUDA_VISIBLE_DEVICES"] == "" and cpu_env["OMP_NUM_THREADS"] == "2"
    assert cpu_env["MKL_NUM_THREADS"] == "7"                     # the job's own env wins
    assert sorted(by_id(manifest)[f"g{i}"]["gpu_ids"][0] for i in range(2)) == ["0", "1"]


def test_no_thread_limits(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    run(root, [job(root, "e", "env", root / "env.json")], "--no-thread-limits")
    assert "OMP_NUM_THREADS" not in json.loads((root / "env.json").read_text())


def test_retries_keep_each_log(root: Path) -> None:
    counter = root / "counter"
    code, manifest, out = run(root, [job(root, "flaky", "flaky", counter, 2)], "--retries", "2",
                              "--retry-delay", "0.05")
    rec = by_id(manifest)["flaky"]
    assert code == 0 and rec["status"] == "SUCCEEDED" and rec["attempts"] == 3
    assert [h["status"] for h in rec["history"]] == ["FAILED", "FAILED", "SUCCEEDED"]
    logs = root / "runs" / "latest" / "logs"
    assert sorted(p.name for p in logs.iterdir()) == ["flaky.attempt2.log", "flaky.attempt3.log", "flaky.log"]
    assert (logs / "flaky.attempt2.log").read_text().strip() == "try 2"
    assert "retry 2/3" in out


def test_retries_exhausted(root: Path) -> None:
    code, manifest, _ = run(root, [job(root, "flaky", "flaky", root / "c", 5, retries=1)], "--retry-delay", "0")
    rec = by_id(manifest)["flaky"]
    assert code == 1 and rec["status"] == "FAILED" and rec["attempts"] == 2


def test_fail_fast_cancels_the_rest(root: Path) -> None:
    jobs = [job(root, "long", "ignore-term", 30), job(root, "boom", "crash", 2), job(root, "later", "sleep", 0)]
    start = time.monotonic()
    code, manifest, _ = run(root, jobs, "--parallel", "--max-workers", "2", "--fail-fast")
    status = {k: v["status"] for k, v in by_id(manifest).items()}
    assert code == 1 and status == {"long": "CANCELLED", "boom": "FAILED", "later": "CANCELLED"}
    assert time.monotonic() - start < 10


def test_dependencies(root: Path) -> None:
    jobs = [job(root, "c", "sleep", 0, after=["b"]), job(root, "b", "crash", 1, after=["a"]),
            job(root, "a", "sleep", 0), job(root, "d", "sleep", 0, after=["a"])]
    code, manifest, _ = run(root, jobs, "--parallel")
    status = {k: v["status"] for k, v in by_id(manifest).items()}
    assert code == 1 and status == {"a": "SUCCEEDED", "b": "FAILED", "c": "SKIPPED", "d": "SUCCEEDED"}
    recs = by_id(manifest)
    assert recs["b"]["start"] >= recs["a"]["end"] and recs["c"]["reason"] == "dependency b did not succeed"


def test_history_orders_longest_first(root: Path) -> None:
    jobs = [job(root, "short", "sleep", 0), job(root, "long", "sleep", 0.5)]
    run(root, jobs)
    _, manifest, _ = run(root, jobs)
    recs = by_id(manifest)
    assert recs["long"]["start"] < recs["short"]["start"]
    _, manifest, _ = run(root, [job(root, "short", "sleep", 0, priority=1), jobs[1]])
    recs = by_id(manifest)
    assert recs["short"]["start"] < recs["long"]["start"]


def test_cannot_start(root: Path) -> None:
    missing = Job(id="missing", script="x.py", argv=[str(root / "no-such-program")])
    code, manifest, _ = run(root, [missing])
    rec = by_id(manifest)["missing"]
    assert code == 1 and rec["status"] == "FAILED" and "no-such-program" in rec["reason"]


def test_metrics_path(root: Path) -> None:
    out_dir = "results/m"
    code, manifest, _ = run(root, [job(root, "m", "metrics", root / out_dir, output_dir=out_dir)])
    assert code == 0 and by_id(manifest)["m"]["metrics"] == "results/m/metrics.json"


@pytest.mark.parametrize("options, fields, where", [
    (["--retries", "-1"], {}, "--retries"),
    (["--parallel", "--max-workers", "0"], {}, "--max-workers"),
    (["--timeout", "0"], {}, "--timeout"),
    ([], {"cpus": 100000}, "job big"),
    (["--gpus", "1"], {"gpus": 2}, "job big"),
    ([], {"memory": 1 << 60}, "job big"),
    ([], {"after": ["big"]}, "job big"),
    (["--run-id", "../x"], {}, "--run-id"),
])
def test_usage_errors_before_anything_starts(root: Path, options: list[str], fields: dict, where: str) -> None:
    jobs = [job(root, "big", "sleep", 0, **fields)]
    with pytest.raises(UsageError) as err:
        start_run(root, jobs, "--runs-dir", str(root / "runs"), *options)
    assert str(err.value).startswith(where)
    assert "\n" not in str(err.value)
    assert not (root / "runs").exists() and not list((root / "pids").iterdir())


def test_config_defaults_and_command_line_precedence(root: Path) -> None:
    pyproject = root / "pyproject.toml"
    pyproject.write_text('[tool.runall]\nparallel = true\nretries = 3\ngrace = 2\nbackend = "local"\n')
    start_run(root, [job(root, "a", "sleep", 0)], "--runs-dir", str(root / "runs"), "--retries", "0",
              reporter=PlainReporter(io.StringIO()))
    options = json.loads((root / "runs" / "latest" / "manifest.json").read_text())["options"]
    assert options["parallel"] is True and options["retries"] == 0 and options["grace"] == 2
    pyproject.write_text('[tool.runall]\nmax_workers = "many"\n')
    with pytest.raises(UsageError, match=r"pyproject.toml:2: \[tool.runall\] max_workers: must be a whole number, "
                                         r"got 'many'$"):
        start_run(root, [], "--runs-dir", str(root / "runs"))
    pyproject.write_text('[tool.runall]\ngrace = -1\n')
    with pytest.raises(UsageError, match=r"pyproject.toml:2: \[tool.runall\] grace: must be at least 0"):
        start_run(root, [], "--runs-dir", str(root / "runs"))


def test_runs_dir_from_settings(root: Path) -> None:
    (root / "pyproject.toml").write_text('[tool.runall]\nruns_dir = "elsewhere"\n')
    start_run(root, [job(root, "a", "sleep", 0)], reporter=PlainReporter(io.StringIO()))
    assert (root / "elsewhere" / "latest" / "manifest.json").is_file()


def test_existing_run_id(root: Path) -> None:
    run(root, [job(root, "a", "sleep", 0)], "--run-id", "one")
    with pytest.raises(UsageError, match="already exists"):
        run(root, [job(root, "a", "sleep", 0)], "--run-id", "one")
    assert (root / "runs" / "latest").resolve().name == "one"
