"""Hostile and broken input (issue 13, rows 6-7 and 9-16), through the real CLI: nothing runs or
is written where it should not be, and every refusal is one line with exit code 2."""

from __future__ import annotations

import json
import os
import shlex
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import pytest

from conftest import run_cli

OK = "print('ok')\n"
FAILS = ("import os, sys\nn = int(open('count').read()) if os.path.exists('count') else 0\n"
         "open('count', 'w').write(str(n + 1))\nsys.exit(1)\n")          # counts its attempts in ./count
ARGS = ("import argparse, os\np = argparse.ArgumentParser()\np.add_argument('--output-dir')\np.add_argument('--lr')\n"
        "a = p.parse_args()\nos.makedirs(a.output_dir, exist_ok=True)\n")


def refused(done, *words: str) -> None:
    """Exit 2, one `runall: error:` line naming `words`, no traceback."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1 and lines[0].startswith("runall: error: "), done.stderr
    assert all(word in lines[0] for word in words), lines[0]


# -- row 6: reports are written through, never replacing what is there ---------------------------

def test_report_targets_that_are_not_files_are_refused_before_the_run(make_repo, tmp_path: Path) -> None:
    root = make_repo({"train_a.py": OK})
    fifo = root / "pipe"
    os.mkfifo(fifo)
    full = tmp_path / "full"                     # our own /dev/full (never the machine's: a bug would destroy it)
    try:
        os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("making a device node needs root (CI runs as root)")
    refused(run_cli("--root", str(root), "--junit-xml", str(full), cwd=root), "--junit-xml", "not a regular file")
    refused(run_cli("--root", str(root), "--report-json", str(fifo), cwd=root), "--report-json", "not a regular file")
    assert not (root / "runs").exists()
    assert fifo.is_fifo() and full.is_char_device()


def test_a_symlinked_report_is_written_through(make_repo, tmp_path: Path) -> None:
    root = make_repo({"train_a.py": OK})
    (tmp_path / "reports").mkdir()
    (root / "report.json").symlink_to(tmp_path / "reports" / "report.json")
    done = run_cli("--root", str(root), "--report-json", "report.json", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "report.json").is_symlink()
    assert json.loads((tmp_path / "reports" / "report.json").read_text())["status"] == "succeeded"


# -- row 7: valid XML whatever a log holds ---------------------------------------------------------

def test_junit_xml_stays_valid_with_forbidden_characters_in_a_log(make_repo) -> None:
    root = make_repo({"train_bad.py": "import sys\nprint('noise \\ufffe \\uffff \\x01 \\x85 \\x9b end')\nsys.exit(3)\n"})
    done = run_cli("--root", str(root), "--junit-xml", "junit.xml", cwd=root)
    assert done.returncode == 1
    failure = ET.parse(root / "junit.xml").find(".//failure")
    assert failure is not None and "noise" in failure.text and "end" in failure.text
    assert not any(ch in done.stdout for ch in "\ufffe\uffff\x85\x9b")          # nor on the terminal


# -- row 9: links out of the repository are not run ----------------------------------------------

def test_discovery_skips_and_reports_links_that_leave_the_repository(make_repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "more").mkdir(parents=True)
    (outside / "train_evil.py").write_text(OK)
    (outside / "more" / "train_deep.py").write_text(OK)
    root = make_repo({"train_own.py": OK, "pkg/train_inside.py": OK})
    (root / "train_link.py").symlink_to(outside / "train_evil.py")
    (root / "linked").symlink_to(outside / "more")
    (root / "train_alias.py").symlink_to(root / "pkg" / "train_inside.py")     # inside: fine
    done = run_cli("--root", str(root), "--list", "--format", "json", cwd=root)
    scripts = sorted(job["script"] for job in json.loads(done.stdout)["jobs"])
    assert scripts == ["pkg/train_inside.py", "train_alias.py", "train_own.py"]
    assert "train_link.py: links outside the repository" in done.stderr
    assert "linked: links outside the repository" in done.stderr


# -- row 10: each job's output folder stays under the output base -------------------------------------

def test_grid_values_cannot_move_an_output_folder_out_of_the_base(make_repo) -> None:
    root = make_repo({"train_a.py": ARGS})
    done = run_cli("--root", str(root), "--dry-run", "--format", "json", "--grid", "lr=/../../../../tmp/x,..", cwd=root)
    dirs = [job["argv"][job["argv"].index("--output-dir") + 1] for job in json.loads(done.stdout)["jobs"]]
    assert len(dirs) == 2
    for folder in dirs:
        resolved = (root / folder).resolve()
        assert resolved.parent == (root / "results").resolve(), folder
    refused(run_cli("--root", str(root), "--list", "--output-base", "", cwd=root), "--output-base", "empty")


# -- row 11: a dry run is safe to paste ----------------------------------------------------------------

def test_dry_run_escapes_a_newline_in_a_file_name(make_repo) -> None:
    root = make_repo({"train_ok.py": OK})
    (root / "train_x\ntouch PWNED\n.py").write_text(OK)
    done = run_cli("--root", str(root), "--dry-run", cwd=root)
    assert done.returncode == 0, done.stderr
    commands = "\n".join(line for line in done.stdout.splitlines() if not line.startswith("#"))
    words = shlex.split(commands)                      # what a shell would run, pasted
    assert "touch" not in words and words.count(words[0]) == 2 and words[0].endswith("python")
    assert any("\\n" in line for line in done.stdout.splitlines() if line.startswith("#"))


# -- row 12: Slurm batch scripts take no shell from the input -------------------------------------------

def test_env_names_that_are_not_names_are_refused(make_repo) -> None:
    root = make_repo({"train_a.py": OK, "runall.yaml": "jobs:\n  - script: train_a.py\n    env: {'X;touch /tmp/pwned;Y': 1}\n"})
    refused(run_cli("--root", str(root), "--dry-run", "--backend", "slurm", cwd=root), "runall.yaml:3", "env",
            "not a variable name")


def test_a_newline_in_a_slurm_directive_is_one_line_of_error(make_repo) -> None:
    root = make_repo({"train_a.py": OK})
    (root / "pyproject.toml").write_text('[tool.runall.slurm]\nqos = "high\\n#SBATCH --wrap=evil"\n')
    refused(run_cli("--root", str(root), "--dry-run", "--backend", "slurm", cwd=root), "job a", "#SBATCH")


# -- row 13: a script called -c is a file, option names are option names ---------------------------------

def test_a_script_named_dash_c_runs_as_a_path(make_repo) -> None:
    root = make_repo({"-c": OK, "runall.yaml": "jobs:\n  - script: '-c'\n    id: dash\n"})
    done = run_cli("--root", str(root), "--dry-run", "--format", "json", cwd=root)
    assert json.loads(done.stdout)["jobs"][0]["argv"][1] == "./-c"
    root2 = make_repo({"runall.yaml": "jobs:\n  - script: '-c'\n    id: dash\n    args: {'--x=1; import os': 1}\n"})
    refused(run_cli("--root", str(root2), "--list", cwd=root2), "runall.yaml:4", "not an option name")


# -- row 14: one line, exit 2, for input that used to give tracebacks ------------------------------------

@pytest.mark.parametrize("pyproject", [b"[tool.runall]\nroots = ['\xff\xfe']\n", b"tool = 5\n"])
def test_broken_pyproject_is_one_line(make_repo, pyproject: bytes) -> None:
    root = make_repo({"train_a.py": OK})
    (root / "pyproject.toml").write_bytes(pyproject)
    refused(run_cli("--root", str(root), "--list", cwd=root), "pyproject.toml")


@pytest.mark.parametrize("entry, words", [
    ("env: {A: \"x\\0y\"}", ("env", "NUL")),
    ("env: {'A=B': 1}", ("env", "not a variable name")),
    ("args: {lr: \"0.1\\0\"}", ("args",)),
])
def test_bad_job_file_values_are_one_line(make_repo, entry: str, words: tuple[str, ...]) -> None:
    root = make_repo({"train_a.py": OK, "runall.yaml": f"jobs:\n  - script: train_a.py\n    {entry}\n"})
    refused(run_cli("--root", str(root), "--dry-run", cwd=root), "runall.yaml:3", *words)
    assert not (root / "runs").exists()


@pytest.mark.parametrize("flag", ["--timeout", "--grace", "--retry-delay"])
def test_nan_is_not_a_number_of_seconds(make_repo, flag: str) -> None:
    root = make_repo({"train_a.py": OK})
    refused(run_cli("--root", str(root), flag, "nan", cwd=root), flag, "finite")


def test_a_long_dependency_chain_is_checked_without_recursion(make_repo) -> None:
    lines = ["jobs:"] + [f"  - script: train_a.py\n    id: j{i}\n" + (f"    after: [j{i + 1}]" if i < 1499 else "")
                         for i in range(1500)]          # j0 waits for j1, ... : checked from j0, 1,500 deep
    root = make_repo({"train_a.py": "raise SystemExit(1)\n", "runall.yaml": "\n".join(lines) + "\n"})
    done = run_cli("--root", str(root), "--plain", "-q", cwd=root)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-300:]
    records = json.loads((root / "runs" / "latest" / "manifest.json").read_text())["jobs"]
    assert sum(rec["status"] == "SKIPPED" for rec in records) == 1499      # j1499 failed, the chain was skipped


# -- row 15: a preview checks what a run checks ------------------------------------------------------------

@pytest.mark.parametrize("files, args, words", [
    ({"runall.yaml": "jobs:\n  - script: train_a.py\n    id: x\n    after: [y]\n"
                     "  - script: train_a.py\n    id: y\n    after: [x]\n"}, (), ("dependency cycle",)),
    ({"pyproject.toml": "[tool.runall]\nmax_workers = 0\n"}, (), ("pyproject.toml:2", "max_workers")),
    ({}, ("--max-workers", "0"), ("--max-workers", "at least 1")),
])
@pytest.mark.parametrize("preview", ["--list", "--dry-run"])
def test_previews_refuse_what_a_run_refuses(make_repo, files: dict, args: tuple, words: tuple, preview: str) -> None:
    root = make_repo({"train_a.py": OK, **files})
    refused(run_cli("--root", str(root), preview, *args, cwd=root), *words)


# -- row 16: 0 is a value --------------------------------------------------------------------------------

def test_zero_retries_in_the_job_file_beats_pyproject_and_the_command_line_beats_both(make_repo) -> None:
    root = make_repo({"train_flaky.py": FAILS,
                      "runall.yaml": "jobs:\n  - script: train_flaky.py\n    retries: 0\n"})
    (root / "pyproject.toml").write_text("[tool.runall]\nretries = 2\nretry_delay = 0\n")
    done = run_cli("--root", str(root), cwd=root)
    assert done.returncode == 1 and (root / "count").read_text() == "1"       # job file's 0 wins
    done = run_cli("--root", str(root), "--retries", "1", cwd=root)
    assert done.returncode == 1 and (root / "count").read_text() == "3"       # --retries 1: 2 more tries
