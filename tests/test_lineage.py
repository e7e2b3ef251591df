"""Lineage: what each job's model came from, recorded by real runs in a real git repository and
printed by `runall lineage`; equal for equal code, data and argv, different after a one-byte change."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from conftest import run_cli

from runall.model import Job
from runall.record import lineage
from runall.record.lineage import DataHashes, data_paths

TRAIN = '''\
import argparse, os
p = argparse.ArgumentParser()
p.add_argument("--data-path")
p.add_argument("--epochs", type=int, default=1)
a = p.parse_args()
print("read", len(open(a.data_path, "rb").read()) if a.data_path and os.path.isfile(a.data_path) else "-")
'''


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(make_repo) -> Path:
    root = make_repo({"scripts/train_fit.py": TRAIN, "scripts/train_other.py": TRAIN, ".gitignore": "runs/\n",
                      "data/cohort.csv": "id,age\n1,40\n2,50\n"})
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def run(root: Path, run_id: str, *options: str) -> dict:
    done = run_cli("--root", str(root), "--run-id", run_id, "--plain", "--data-path", "data/cohort.csv", "--epochs", "2",
                   *options, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "runs" / run_id / "manifest.json").read_text())


def lineage_of(manifest: dict, job_id: str) -> dict:
    return next(rec["lineage"] for rec in manifest["jobs"] if rec["id"] == job_id)


def test_equal_commit_data_and_argv_give_equal_hashes_and_one_byte_changes_them(repo: Path):
    first, second = run(repo, "a"), run(repo, "b")
    assert lineage_of(first, "fit")["hash"] == lineage_of(second, "fit")["hash"]
    assert lineage_of(first, "fit")["hash"] != lineage_of(first, "other")["hash"]        # another script

    data = repo / "data" / "cohort.csv"
    data.write_text(data.read_text().replace("50", "51"))            # one byte, same size
    changed = run(repo, "c")
    assert lineage_of(changed, "fit")["hash"] != lineage_of(first, "fit")["hash"]
    before, after = lineage_of(first, "fit")["data"][0], lineage_of(changed, "fit")["data"][0]
    assert before["path"] == after["path"] == str(data) and before["size"] == after["size"]
    assert after["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest() != before["sha256"]

    (repo / "scripts" / "train_fit.py").write_text(TRAIN + "# tuned\n")      # an uncommitted change
    dirty = run(repo, "d")
    environment = dirty["environments"][lineage_of(dirty, "fit")["environment"]]
    diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=repo, capture_output=True).stdout
    assert environment["git"] == {"commit": git(repo, "rev-parse", "HEAD"), "dirty": True,
                                  "diff_sha256": hashlib.sha256(diff).hexdigest()}
    assert lineage_of(dirty, "fit")["hash"] != lineage_of(changed, "fit")["hash"]


def test_what_is_recorded_and_printed(repo: Path):
    manifest = run(repo, "a", "--report-json", "report.json")
    entry = lineage_of(manifest, "fit")
    environment = manifest["environments"][entry["environment"]]
    assert entry["code"] == {"script": "scripts/train_fit.py",
                             "script_sha256": hashlib.sha256((repo / "scripts/train_fit.py").read_bytes()).hexdigest()}
    argv = next(rec["argv"] for rec in manifest["jobs"] if rec["id"] == "fit")
    cores = str(len(os.sched_getaffinity(0)))                    # a serial job's threads: every core
    assert entry["settings"]["argv"] == argv and entry["settings"]["env"]["OMP_NUM_THREADS"] == cores
    assert environment["packages"] == {name: metadata.version(name) for name in ("torch", "scikit-learn", "numpy")}
    assert environment["python"]["executable"] == sys.executable and environment["gpus"] == []
    assert environment["distributions"] > 10 and len(environment["freeze_sha256"]) == 64
    assert environment["git"]["dirty"] is False and environment["git"]["diff_sha256"] is None

    report = json.loads((repo / "report.json").read_text())
    reported = next(job["lineage"] for job in report["jobs"] if job["id"] == "fit")
    assert reported["hash"] == entry["hash"] and reported["environment"]["packages"] == environment["packages"]

    text = run_cli("--root", str(repo), "--lineage", "fit", cwd=repo)
    assert text.returncode == 0, text.stderr
    assert f"hash      {entry['hash']}" in text.stdout
    assert f"commit    {environment['git']['commit']} (clean)" in text.stdout
    assert f"data      {repo}/data/cohort.csv  file, 17 bytes, sha256 {entry['data'][0]['sha256']}" in text.stdout
    printed = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "run_all_training.py"), "lineage", "a",
                              "fit", "--format", "json"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == {"run_id": "a", "job_id": "fit", **reported}


@pytest.mark.parametrize("args, message", [
    (("--lineage", "nope"), "run a has no job 'nope'"),
    (("--lineage", "a", "fit", "extra"), "--lineage: takes [RUN_ID] JOB"),
    (("--lineage", "zz", "fit"), "no run 'zz'"),
])
def test_lineage_errors(repo: Path, args: tuple[str, ...], message: str):
    run(repo, "a", "--only", "fit")
    done = run_cli("--root", str(repo), *args, cwd=repo)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_folders_are_hashed_file_by_file_and_cached_by_size_and_mtime(tmp_path: Path):
    folder = tmp_path / "slices"
    (folder / "normal").mkdir(parents=True)
    (folder / "normal" / "a.npy").write_bytes(b"0123")
    (folder / "b.npy").write_bytes(b"456")
    entry = DataHashes(tmp_path).entry(str(folder), tmp_path)
    assert (entry["kind"], entry["files"], entry["size"]) == ("folder", 2, 7)
    lines = "".join(f"{rel}\0{hashlib.sha256(data).hexdigest()}\n" for rel, data in (("b.npy", b"456"),
                                                                                      ("normal/a.npy", b"0123")))
    assert entry["sha256"] == hashlib.sha256(lines.encode()).hexdigest()

    hashes = DataHashes(tmp_path)
    hashes.entry("slices", tmp_path)
    hashes.save()                                               # <cache folder>/data-hashes.json
    stat = (folder / "b.npy").stat()
    (folder / "b.npy").write_bytes(b"789")                      # same size ...
    os.utime(folder / "b.npy", ns=(stat.st_atime_ns, stat.st_mtime_ns))     # ... and mtime: the cache answers
    assert DataHashes(tmp_path).entry("slices", tmp_path)["sha256"] == entry["sha256"]
    os.utime(folder / "b.npy", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1000))
    assert DataHashes(tmp_path).entry("slices", tmp_path)["sha256"] != entry["sha256"]
    assert DataHashes(tmp_path).entry("nothing/here", tmp_path) == {"path": "nothing/here", "kind": "missing",
                                                                   "sha256": None}


def test_data_paths_come_from_the_jobs_own_option():
    job = Job(id="j", script="s.py", argv=["py", "s.py", "--data", "/d/a.csv", "--data=/d/b.csv", "--other", "x"],
              roles={"data_path": "--data"})
    assert data_paths(job) == ["/d/a.csv", "/d/b.csv"]
    assert data_paths(Job(id="j", script="s.py", argv=["py", "s.py", "--data", "x"])) == []


def test_list_computes_no_lineage_and_runs_import_no_ml_library(repo: Path):
    code = ("import sys; from runall.cli import main; main(['--list']); "
            "assert 'runall.record.lineage' not in sys.modules and 'importlib.metadata' not in sys.modules")
    listed = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    code = ("import sys; from runall.cli import main; main(['--plain', '--only', 'fit', '--run-id', 'x']); "
            "assert not {'torch', 'sklearn', 'numpy'} & set(sys.modules), sorted(sys.modules)")
    ran = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert lineage_of(json.loads((repo / "runs" / "x" / "manifest.json").read_text()), "fit")["hash"]


def test_installed_distributions_read_from_folder_names_match_their_metadata():
    by_metadata: dict[str, str] = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-").replace(".", "-")
        by_metadata.setdefault(name, dist.version)
    assert lineage._distributions() == by_metadata
    assert "pytest" in by_metadata
