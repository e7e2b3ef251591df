"""End-to-end tests of the CLI on repository trees made by the tests, run as real subprocesses."""

import json
import subprocess
import sys
from pathlib import Path

from conftest import ARGPARSE_SCRIPT, REPO, run_cli

HF_STYLE = '''\
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--num_train_epochs", type=int, default=1)
parser.add_argument("--save-dir", dest="out")
parser.add_argument("--n-splits", type=int)
args = parser.parse_args()
'''

PROSE_ONLY = '''\
"""Train the thing. Unlike the old script this one has no --epochs option."""
import argparse
parser = argparse.ArgumentParser(description="use --epochs elsewhere")
parser.add_argument("--lr", type=float, help="not --epochs")
# parser.add_argument("--epochs")
print("--epochs is not here")
args = parser.parse_args()
'''

STAMP = '''\
import argparse, json, os, sys, time
p = argparse.ArgumentParser()
p.add_argument("--output-dir")
a = p.parse_args()
os.makedirs(a.output_dir, exist_ok=True)
start = time.time(); time.sleep(1.0)
json.dump({"start": start, "end": time.time()}, open(os.path.join(a.output_dir, "span.json"), "w"))
'''


def list_json(root: Path, *args: str) -> dict:
    result = run_cli("--root", str(root), "--list", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_json_has_the_documented_shape_and_skips_legacy(make_repo) -> None:
    root = make_repo({
        "src/pkg/training/train_a.py": ARGPARSE_SCRIPT,
        "training/train_a.py": "import runpy\n",
        "scripts/train_hf.py": HF_STYLE,
    })
    jobs = list_json(root, "--epochs", "3")["jobs"]
    assert [j["id"] for j in jobs] == ["hf", "a"]
    a = jobs[1]
    assert set(a) == {"id", "name", "script", "options", "roles", "flags_known", "argv", "tags", "source"}
    assert a["script"] == "src/pkg/training/train_a.py" and a["source"] == "discovered"
    assert a["roles"]["epochs"] == "--epochs" and a["roles"]["folds"] is None
    assert a["argv"][-4:] == ["--epochs", "3", "--output-dir", "results/a"]


def test_dry_run_uses_each_scripts_spelling_and_ignores_prose(make_repo) -> None:
    root = make_repo({"scripts/train_hf.py": HF_STYLE, "scripts/train_prose.py": PROSE_ONLY})
    result = run_cli("--root", str(root), "--dry-run", "--epochs", "3", "--folds", "4")
    assert result.returncode == 0, result.stderr
    lines = {l.split()[1].split("/")[-1]: l for l in result.stdout.splitlines() if not l.startswith("#")}
    assert "--num_train_epochs 3" in lines["train_hf.py"]
    assert "--save-dir results/hf" in lines["train_hf.py"]
    assert "--n-splits 4" in lines["train_hf.py"]
    assert "--epochs" not in lines["train_prose.py"] and "results/" not in lines["train_prose.py"]
    assert not (root / "results").exists() and not (root / "runs").exists()


def test_unknown_only_id_exits_2_with_a_suggestion(make_repo) -> None:
    root = make_repo({"scripts/train_diabetes.py": ARGPARSE_SCRIPT})
    result = run_cli("--root", str(root), "--only", "diabets")
    assert result.returncode == 2
    assert "did you mean diabetes" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_pyproject_key_exits_2_naming_file_line_and_key(make_repo) -> None:
    root = make_repo({"pyproject.toml": "[tool.runall]\nincldue = ['x']\n", "train_a.py": ARGPARSE_SCRIPT})
    result = run_cli("--root", str(root), "--list")
    assert result.returncode == 2
    assert "pyproject.toml:2" in result.stderr and "incldue" in result.stderr


def test_inspect_json_reports_options_roles_and_problems(make_repo, tmp_path: Path) -> None:
    root = make_repo({"x.py": HF_STYLE, "broken.py": "def (:\n"})
    result = run_cli("--root", str(root), "--inspect", str(root / "x.py"), str(root / "broken.py"),
                     "--format", "json")
    assert result.returncode == 0, result.stderr
    x, broken = json.loads(result.stdout)["scripts"]
    assert x["cli"] == "argparse" and "--num_train_epochs" in x["options"]
    assert x["roles"]["epochs"] == "--num_train_epochs" and x["roles"]["output_dir"] == "--save-dir"
    assert broken["cli"] == "unknown" and broken["problems"]


def test_serial_run_writes_logs_and_outputs_and_reports_failure(make_repo) -> None:
    root = make_repo({
        "scripts/train_ok.py": ARGPARSE_SCRIPT,
        "scripts/train_bad.py": "import sys\nprint('about to fail')\nsys.exit(3)\n",
    })
    result = run_cli("--root", str(root), "--epochs", "2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert json.loads((root / "results/ok/metrics.json").read_text()) == {"epochs": 2}
    logs = root / "runs" / "latest" / "logs"
    assert "trained 2" in (logs / "ok.log").read_text()
    assert "about to fail" in (logs / "bad.log").read_text()
    assert "bad" in result.stdout and "FAILED" in result.stdout


def test_parallel_run_overlaps_jobs(make_repo) -> None:
    root = make_repo({f"scripts/train_s{i}.py": STAMP for i in range(4)})
    result = run_cli("--root", str(root), "--parallel", "--max-workers", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    spans = sorted(tuple(json.loads((root / f"results/s{i}/span.json").read_text()).values()) for i in range(4))
    starts = sorted(s for s, _ in spans)
    ends = sorted(e for _, e in spans)
    assert starts[1] < ends[0], "two jobs should run at the same time"
    assert starts[2] >= ends[0] - 0.05, "never more than two at once"


def test_list_imports_no_heavy_library() -> None:
    code = ("import sys; from runall.cli import main; main(['--root', %r, '--list']); "
            "heavy = [m for m in ('torch', 'sklearn', 'pandas', 'numpy', 'mlflow') if m in sys.modules]; "
            "assert not heavy, heavy" % str(REPO))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_list_text_without_a_terminal_is_plain(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT, "scripts/train_fire.py": "import fire\nfire.Fire(main)\n"})
    result = run_cli("--root", str(root), "--list")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "SCRIPT", "ROLES", "TAGS"] and lines[-1] == "2 job(s)"
    assert "flags: unknown" in next(l for l in lines if l.startswith("fire"))


def test_dry_run_lines_run_as_printed(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    result = run_cli("--root", str(root), "--dry-run", "--epochs", "5", "--output-base", "my out", cwd=root)
    command = [l for l in result.stdout.splitlines() if not l.startswith("#")][0]
    assert "'my out/a'" in command                  # inside the repository: shown relative to it
    subprocess.run(["bash", "-c", command], cwd=root, check=True, capture_output=True)
    assert json.loads((root / "my out/a/metrics.json").read_text()) == {"epochs": 5}


def test_job_file_grid_tags_and_keywords(make_repo) -> None:
    root = make_repo({
        "scripts/train_a.py": ARGPARSE_SCRIPT,
        "scripts/train_b.py": ARGPARSE_SCRIPT,
        "runall.yaml": "jobs:\n  - script: scripts/train_a.py\n    tags: [fast]\n    grid: {epochs: [1, 2]}\n",
    })
    jobs = list_json(root)["jobs"]
    assert [j["id"] for j in jobs] == ["a@epochs=1", "a@epochs=2", "b"]
    assert jobs[1]["argv"][-4:] == ["--output-dir", "results/a@epochs=2", "--epochs", "2"]
    assert [j["id"] for j in list_json(root, "--tag", "fast")["jobs"]] == ["a@epochs=1", "a@epochs=2"]
    assert [j["id"] for j in list_json(root, "-k", "not fast")["jobs"]] == ["b"]
    grid = list_json(root, "--only", "b", "--grid", "epochs=3,4", "--grid", "seed=1")["jobs"]
    assert [j["id"] for j in grid] == ["b@epochs=3", "b@epochs=4"]


def test_job_file_errors_exit_2_with_file_line_key(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT,
                      "runall.yaml": "jobs:\n  - script: scripts/train_a.py\n    timout: 5\n"})
    result = run_cli("--root", str(root), "--list")
    assert result.returncode == 2
    assert "runall.yaml:3: jobs[0].timout: unknown key 'timout'" in result.stderr
    missing = run_cli("--root", str(root), "--list", "--config", str(root / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr
