"""Real processes for the execution tests: job behaviours, an orchestrator driver, pid checks.

Run as a script:
  helpers_procs.py job PID_DIR BEHAVIOUR [ARGS...]   one job process (writes PID_DIR/<pid>.pid)
  helpers_procs.py drive SPEC.json [OPTIONS...]      an orchestrator: a run (or --resume) of SPEC
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve()


def job_argv(pid_dir: Path, behaviour: str, *args: object) -> list[str]:
    """The argv of a job process with the given behaviour (see `_job`)."""
    return [sys.executable, str(HERE), "job", str(pid_dir), behaviour, *map(str, args)]


def recorded_pids(pid_dir: Path) -> list[int]:
    return [int(p.stem) for p in pid_dir.glob("*.pid")]


def survivors(pid_dir: Path, wait: float = 0.0) -> list[int]:
    """Pids written by job processes that are still running (zombies count as gone)."""
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for pid in recorded_pids(pid_dir):
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.Error:
                pass
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)


def kill_pids(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def start_run(root: Path, jobs: list, *options: str, reporter: Any = None) -> int:
    """Run `jobs` in `root` with command-line `options`, as the CLI would once it has its jobs."""
    from runall.cli import parse, run_request
    from runall.run import session

    return session.start(jobs, run_request(parse(["--root", str(root), *options])), reporter)


def run_plain(root: Path, jobs: list, *options: str) -> tuple[int, dict, str]:
    """Run jobs with options (runs/ under root, 1 s grace); returns exit code, manifest data and
    the plain reporter's output, after checking that no process of theirs survived."""
    import io

    from runall.view.plain import PlainReporter

    out = io.StringIO()
    code = start_run(root, jobs, "--runs-dir", str(root / "runs"), "--grace", "1", *options,
                     reporter=PlainReporter(out))
    manifest = json.loads((root / "runs" / "latest" / "manifest.json").read_text())
    assert survivors(root / "pids", wait=2.0) == []
    return code, manifest, out.getvalue()


def resume_run(root: Path, *options: str, reporter: Any = None) -> int:
    """`--resume` in `root` with command-line `options` (which name the run, or `--resume` alone)."""
    from runall.cli import parse, run_request
    from runall.record.manifest import Manifest, resolve_run_dir
    from runall.run import session

    invocation = parse(["--root", str(root), *options])
    manifest = Manifest.load(resolve_run_dir(invocation.runs_dir, invocation.value("resume") or "latest"))
    return session.resume(manifest, run_request(invocation, manifest), reporter=reporter)


def driver_argv(spec: Path, *options: str) -> list[str]:
    return [sys.executable, str(HERE), "drive", str(spec), *options]


def write_spec(path: Path, root: Path, jobs: list[dict]) -> Path:
    path.write_text(json.dumps({"root": str(root), "jobs": jobs}))
    return path


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# -- as a script ----------------------------------------------------------------------------

def _spawn(pid_dir: Path, behaviour: str, *args: str, new_session: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE), "job", str(pid_dir), behaviour, *args],
                            start_new_session=new_session)


def _job(pid_dir: Path, behaviour: str, args: list[str]) -> int:
    partial = pid_dir / f".{os.getpid()}.tmp"          # renamed into place: a reader never sees it empty
    partial.write_text(behaviour)
    partial.rename(pid_dir / f"{os.getpid()}.pid")
    if behaviour == "sleep":                  # sleep SECONDS [EXIT_CODE]
        time.sleep(float(args[0]))
        return int(args[1]) if len(args) > 1 else 0
    if behaviour == "crash":                  # crash EXIT_CODE
        print("about to crash", flush=True)
        return int(args[0])
    if behaviour == "signal":                 # signal NAME: die by that signal
        os.kill(os.getpid(), getattr(signal, args[0]))
        time.sleep(5)
        return 0
    if behaviour == "ignore-term":            # ignore-term SECONDS
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(float(args[0]))
        return 0
    if behaviour == "tree":                   # tree SECONDS: children, a grandchild, one in its own session
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kids = [_spawn(pid_dir, "ignore-term", args[0]), _spawn(pid_dir, "tree-child", args[0]),
                _spawn(pid_dir, "ignore-term", args[0], new_session=True)]
        for kid in kids:
            kid.wait()
        return 0
    if behaviour == "daemon":                 # daemon SECONDS: leave a process in its own session, exit 0
        _spawn(pid_dir, "ignore-term", args[0], new_session=True)
        time.sleep(0.5)
        return 0
    if behaviour == "escape":                 # escape SECONDS: a double-forked daemon and a detached child
        if os.fork() == 0:                    # with an empty environment, both ignoring SIGTERM; then sleep
            os.setsid()
            if os.fork() == 0:
                os._exit(_job(pid_dir, "ignore-term", args))
            os._exit(0)
        os.wait()
        subprocess.Popen([sys.executable, str(HERE), "job", str(pid_dir), "ignore-term", args[0]],
                         start_new_session=True, env={})
        time.sleep(float(args[0]))
        return 0
    if behaviour == "tree-child":
        _spawn(pid_dir, "ignore-term", args[0]).wait()
        return 0
    if behaviour == "spam":                   # spam MEGABYTES: print that much
        line = "x" * 1023 + "\n"
        for _ in range(int(args[0]) * 1024):
            sys.stdout.write(line)
        return 0
    if behaviour == "env":                    # env FILE: dump the environment as JSON
        Path(args[0]).write_text(json.dumps(dict(os.environ)))
        time.sleep(float(args[1]) if len(args) > 1 else 0)
        return 0
    if behaviour == "rank-env":               # rank-env DIR SECONDS: a launcher's rank: say who, dump env
        rank = os.environ.get("RANK", "none")
        print(f"rank {rank} of {os.environ.get('WORLD_SIZE')}", flush=True)
        Path(args[0], f"rank{rank}.json").write_text(json.dumps({**os.environ, "time": time.time()}))
        time.sleep(float(args[1]))
        return 0
    if behaviour == "flaky":                  # flaky COUNTER_FILE FAILURES: fail the first N times
        counter = Path(args[0])
        n = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(n + 1))
        print(f"try {n + 1}", flush=True)
        return 1 if n < int(args[1]) else 0
    if behaviour == "slow-once":              # slow-once COUNTER_FILE SECONDS: slow the first time only
        first = not Path(args[0]).exists()
        Path(args[0]).write_text("started")
        time.sleep(float(args[1]) if first else 0)
        return 0
    if behaviour == "metrics":                # metrics OUTPUT_DIR
        Path(args[0]).mkdir(parents=True, exist_ok=True)
        (Path(args[0]) / "metrics.json").write_text('{"auc": 0.9}')
        return 0
    raise SystemExit(f"unknown behaviour {behaviour}")


def _drive(spec_path: Path, options: list[str]) -> int:
    import resource

    from runall.errors import UsageError
    from runall.model import Job

    spec = json.loads(spec_path.read_text())
    root = Path(spec["root"])
    try:
        if "--resume" in options:
            code = resume_run(root, *options)
        else:
            code = start_run(root, [Job.from_dict(j) for j in spec["jobs"]], *options)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = exc.exit_code
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    (spec_path.parent / "driver-rss").write_text(str(peak))
    return code


if __name__ == "__main__":
    if sys.argv[1] == "job":
        raise SystemExit(_job(Path(sys.argv[2]), sys.argv[3], sys.argv[4:]))
    raise SystemExit(_drive(Path(sys.argv[2]), sys.argv[3:]))
