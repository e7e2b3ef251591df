"""Everyday use (issue 14), through the real CLI: outputs anywhere, a clean repository, resume
that does what it says, exit codes CI can trust, one precedence rule."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import ARGPARSE_SCRIPT, run_cli


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=root,
                          capture_output=True, text=True, check=True).stdout


# -- item 1: outputs anywhere ------------------------------------------------------------------------

def test_outputs_runs_and_job_file_may_live_outside_the_repository(make_repo, tmp_path: Path) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "alt.yaml").write_text("jobs:\n  - script: scripts/train_a.py\n    tags: [alt]\n")
    done = run_cli("--root", str(root), "--output-base", str(scratch / "out"), "--runs-dir", "../scratch/runs",
                   "--config", str(scratch / "alt.yaml"), "--tag", "alt", "--epochs", "2", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((scratch / "out" / "a" / "metrics.json").read_text()) == {"epochs": 2}
    manifest = json.loads((scratch / "runs" / "latest" / "manifest.json").read_text())
    assert manifest["jobs"][0]["output_dir"] == str(scratch / "out" / "a")
    assert not (root / "results").exists() and not (root / "runs").exists()


def test_a_results_folder_that_links_to_a_scratch_disk(make_repo, tmp_path: Path) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    (tmp_path / "disk").mkdir()
    (root / "results").symlink_to(tmp_path / "disk")
    done = run_cli("--root", str(root), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "disk" / "a" / "metrics.json").is_file()


def test_home_relative_paths_are_expanded(make_repo, tmp_path: Path) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    done = run_cli("--root", str(root), "--dry-run", "--output-base", "~/out", cwd=root, env={"HOME": str(tmp_path)})
    assert f"--output-dir {tmp_path}/out/a" in done.stdout


# -- item 7: the user's repository stays clean -----------------------------------------------------------

def test_listing_leaves_the_repository_clean(make_repo, tmp_path: Path) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "x")
    done = run_cli("--root", str(root), "--list", cwd=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert done.returncode == 0, done.stderr
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    (cache,) = (tmp_path / "xdg" / "runall").iterdir()
    assert cache.name.startswith("repo-") and (cache / "flags.json").is_file()


# -- item 2: --resume does what it says -------------------------------------------------------------------

FLAKY = ("import os, sys\nn = int(open('count').read()) if os.path.exists('count') else 0\n"
         "open('count', 'w').write(str(n + 1))\nsys.exit(0 if n else 1)\n")          # fails its first try


def failed_run(make_repo) -> Path:
    root = make_repo({"scripts/train_good.py": ARGPARSE_SCRIPT, "scripts/train_flaky.py": FLAKY,
                      "scripts/train_other.py": "raise SystemExit(3)\n"})
    done = run_cli("--root", str(root), "--run-id", "r1", cwd=root)
    assert done.returncode == 1
    assert done.stdout.rstrip().splitlines()[-1].endswith("run_all_training.py --root "
                                                           f"{root.resolve()} --resume r1")      # the last line
    return root


def test_resume_previews_and_selects(make_repo) -> None:
    root = failed_run(make_repo)
    listed = run_cli("--root", str(root), "--resume", "--list", "--format", "json", cwd=root)
    assert [job["id"] for job in json.loads(listed.stdout)["jobs"]] == ["flaky", "other"]
    assert (root / "count").read_text() == "1"                              # a preview runs nothing
    dry = run_cli("--root", str(root), "--resume", "--dry-run", "--only", "flaky", cwd=root)
    assert "train_flaky.py" in dry.stdout and "train_other.py" not in dry.stdout
    assert (root / "count").read_text() == "1"
    done = run_cli("--root", str(root), "--resume", "--only", "flaky", cwd=root)
    assert done.returncode == 1                                             # `other` still failed, not rerun
    records = {rec["id"]: rec for rec in json.loads((root / "runs/r1/manifest.json").read_text())["jobs"]}
    assert records["flaky"]["status"] == "SUCCEEDED" and records["flaky"]["attempts"] == 2
    assert records["other"]["attempts"] == 1


def test_resume_refuses_new_values_for_recorded_commands(make_repo) -> None:
    root = failed_run(make_repo)
    for extra in (["--epochs", "3"], ["--output-base", "elsewhere"], ["--grid", "lr=1,2"]):
        done = run_cli("--root", str(root), "--resume", *extra, cwd=root)
        assert done.returncode == 2 and f"runall: error: {extra[0]}: a resumed run reruns" in done.stderr
    assert (root / "count").read_text() == "1"


def test_a_recorded_fail_fast_can_be_turned_off(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": "raise SystemExit(1)\n", "scripts/train_b.py": ARGPARSE_SCRIPT})
    run_cli("--root", str(root), "--fail-fast", "--run-id", "ff", cwd=root)
    first = {rec["id"]: rec["status"] for rec in json.loads((root / "runs/ff/manifest.json").read_text())["jobs"]}
    assert first == {"a": "FAILED", "b": "CANCELLED"}
    run_cli("--root", str(root), "--resume", "--no-fail-fast", cwd=root)
    manifest = json.loads((root / "runs/ff/manifest.json").read_text())
    assert {rec["id"]: rec["status"] for rec in manifest["jobs"]} == {"a": "FAILED", "b": "SUCCEEDED"}
    assert manifest["options"]["fail_fast"] is False


# -- item 4: exit codes CI can trust --------------------------------------------------------------------------

def test_selections_that_leave_nothing_exit_2_with_suggestions(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT, "runall.yaml":
                      "jobs:\n  - script: scripts/train_a.py\n    tags: [fast]\n"})
    for args, words in ((["--tag", "fats"], "did you mean fast"), (["-k", "nomatch"], "ids: a"),
                        (["--exclude", "*"], "ids: a")):
        done = run_cli("--root", str(root), "--list", *args, cwd=root)
        assert done.returncode == 2 and words in done.stderr, (args, done.stderr)


def test_contradictions_and_bad_inspect_targets_exit_2(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT, "notes.txt": "hello"})
    for args in (["--list", "--dry-run"], ["--mlflow", "--no-mlflow", "--list"], ["--inspect", "nope.py"],
                 ["--inspect", "notes.txt"], ["--status", "--resume"]):
        done = run_cli("--root", str(root), *args, cwd=root)
        assert done.returncode == 2 and done.stderr.startswith("runall: error: "), (args, done.stderr)


def test_format_json_on_a_run_prints_the_report_on_stdout(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    done = run_cli("--root", str(root), "--format", "json", cwd=root)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["status"] == "succeeded" and report["jobs"][0]["id"] == "a"
    assert "SUCCEEDED" in done.stderr                                      # progress went to stderr


# -- item 5: one precedence rule, shown ------------------------------------------------------------------

def test_list_verbose_shows_where_each_value_came_from(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT,
                      "runall.yaml": "jobs:\n  - script: scripts/train_a.py\n    timeout: 600\n"})
    (root / "pyproject.toml").write_text("[tool.runall]\ntimeout = 100\nretries = 2\n")
    done = run_cli("--root", str(root), "--list", "-v", "--retries", "1", cwd=root)
    lines = done.stdout.splitlines()
    assert any(line.split()[:3] == ["--timeout", "100.0", f"{root / 'pyproject.toml'}:2:"] for line in lines)
    assert any(line.split() == ["--retries", "1", "--retries"] for line in lines)
    assert "a timeout=600.0" in done.stdout


# -- item 3: GPUs and threads by default -------------------------------------------------------------------

ENV_DUMP = ("import json, os, sys, time\n"
            "if __name__ == '__never__':\n    import torch    # seen by runall, never imported\n"
            "os.makedirs('env', exist_ok=True)\n"
            "json.dump(dict(os.environ), open(os.path.join('env', os.path.basename(sys.argv[0]) + '.json'), 'w'))\n"
            "time.sleep(0.5)\n")


def fake_gpus(tmp_path: Path, count: int) -> dict[str, str | None]:
    """An `nvidia-smi` on PATH that lists `count` GPUs, and no CUDA_VISIBLE_DEVICES."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\n" + "".join(f"echo {i}\n" for i in range(count)))
    smi.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CUDA_VISIBLE_DEVICES": None}


def envs(root: Path) -> dict[str, dict[str, str]]:
    return {p.name.removeprefix("train_").removesuffix(".py.json"): json.loads(p.read_text())
            for p in (root / "env").iterdir()}


def test_parallel_jobs_get_a_share_of_cores_and_gpu_jobs_a_gpu_each(make_repo, tmp_path: Path) -> None:
    plain = ENV_DUMP.replace("    import torch", "    pass")
    root = make_repo({"train_gpu1.py": ENV_DUMP, "train_gpu2.py": ENV_DUMP, "train_cpu.py": plain})
    env = fake_gpus(tmp_path, 2)
    done = run_cli("--root", str(root), "--parallel", "--max-workers", "3", cwd=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    seen = envs(root)
    assert sorted(seen[j]["CUDA_VISIBLE_DEVICES"] for j in ("gpu1", "gpu2")) == ["0", "1"]
    assert seen["cpu"]["CUDA_VISIBLE_DEVICES"] == ""
    cores = len(os.sched_getaffinity(0))
    assert {e["OMP_NUM_THREADS"] for e in seen.values()} == {str(max(1, cores // 3))}
    dry = run_cli("--root", str(root), "--dry-run", "-v", "--parallel", "--max-workers", "3", cwd=root, env=env)
    assert "gpu1: " in dry.stdout and "1 GPU(s), assigned when free, uses a GPU framework" in dry.stdout


def test_a_serial_job_sees_every_gpu_and_core_unless_it_opts_out(make_repo, tmp_path: Path) -> None:
    root = make_repo({"train_gpu.py": ENV_DUMP, "train_off.py": ENV_DUMP,
                      "runall.yaml": "jobs:\n  - script: train_off.py\n    gpus: 0\n"})
    env = fake_gpus(tmp_path, 2)
    env["CUDA_VISIBLE_DEVICES"] = "0,1"
    done = run_cli("--root", str(root), cwd=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    seen = envs(root)
    assert seen["gpu"]["CUDA_VISIBLE_DEVICES"] == "0,1"                    # untouched: every GPU
    assert seen["gpu"]["OMP_NUM_THREADS"] == str(len(os.sched_getaffinity(0)))
    assert seen["off"]["CUDA_VISIBLE_DEVICES"] == ""                       # gpus: 0


# -- item 6: scripts that will fail are flagged before the run ---------------------------------------------

def test_a_script_that_cannot_compile_is_flagged_by_list_and_dry_run(make_repo) -> None:
    root = make_repo({"train_bad.py": "import torch\nif __name__ == '__main__':\n    loss.backward(\n",
                      "train_ok.py": "print('ok')\n"})
    for mode in ("--list", "--dry-run"):
        done = run_cli("--root", str(root), mode, cwd=root)
        assert done.returncode == 0
        assert "runall: warning: bad will fail: train_bad.py: SyntaxError at line 3" in done.stderr
    listed = run_cli("--root", str(root), "--list", cwd=root).stdout
    assert "will fail: SyntaxError at line 3" in listed
    jobs = {j["id"]: j for j in json.loads(run_cli("--root", str(root), "--list", "--format", "json").stdout)["jobs"]}
    assert jobs["bad"]["will_fail"].startswith("SyntaxError at line 3") and jobs["ok"]["will_fail"] is None
