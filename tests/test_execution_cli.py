"""End to end through `python run_all_training.py`: a parallel run, its run directory, --resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from conftest import ARGPARSE_SCRIPT, run_cli

FAILS_ONCE = ARGPARSE_SCRIPT + '''
marker = os.path.join(a.output_dir, "failed-once")
if not os.path.exists(marker):
    open(marker, "w").close()
    raise SystemExit("first try fails")
'''


def test_parallel_run_then_resume(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_good.py": ARGPARSE_SCRIPT, "scripts/train_flaky.py": FAILS_ONCE})
    first = run_cli("--parallel", "--max-workers", "2", "--epochs", "2", cwd=root)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "FAILED" in first.stdout and "first try fails" in first.stdout
    run_dir = (root / "runs" / "latest").resolve()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    status = {rec["id"]: rec["status"] for rec in manifest["jobs"]}
    assert sorted(status.values()) == ["FAILED", "SUCCEEDED"]
    good = next(rec for rec in manifest["jobs"] if rec["status"] == "SUCCEEDED")
    assert good["metrics"] and (root / good["metrics"]).is_file()
    assert "--epochs" in good["argv"] and manifest["options"]["parallel"] is True

    again = run_cli("--resume", cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert [rec["status"] for rec in manifest["jobs"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert sorted(rec["attempts"] for rec in manifest["jobs"]) == [1, 2]
    assert sorted(p.name for p in (root / "runs").iterdir()) == [run_dir.name, "latest"]


def test_usage_error_exit_code(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_good.py": ARGPARSE_SCRIPT})
    done = run_cli("--retries", "-1", cwd=root)
    assert done.returncode == 2 and "--retries" in done.stderr
    assert not (root / "runs").exists()
