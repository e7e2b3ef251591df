"""End-to-end tests of the CLI on repository trees made by the tests, run as real subprocesses."""

import json
import os
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


def test_list_json_has_the_documented_shape(make_repo) -> None:
    root = make_repo({
        "src/pkg/training/train_a.py": ARGPARSE_SCRIPT,
        "training/train_a.py": "import runpy\n",        # named like a training script, but no entry point
        "scripts/train_hf.py": HF_STYLE,
    })
    jobs = list_json(root, "--epochs", "3")["jobs"]
    assert [j["id"] for j in jobs] == ["hf", "a"]
    a = jobs[1]
    assert set(a) == {"id", "name", "script", "options", "roles", "flags_known", "argv", "tags", "source", "dropped",
                      "will_fail"}
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
    grid = list_json(root, "--only", "b", "--grid", "epochs=3,4")["jobs"]
    assert [j["id"] for j in grid] == ["b@epochs=3", "b@epochs=4"]
    nosuch = run_cli("--root", str(root), "--list", "--only", "b", "--grid", "epochs=3,4", "--grid", "seed=1")
    assert nosuch.returncode == 2 and "--grid seed: no selected script has option or role 'seed'" in nosuch.stderr


def test_job_file_errors_exit_2_with_file_line_key(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT,
                      "runall.yaml": "jobs:\n  - script: scripts/train_a.py\n    timout: 5\n"})
    result = run_cli("--root", str(root), "--list")
    assert result.returncode == 2
    assert "runall.yaml:3: jobs[0].timout: unknown key 'timout'" in result.stderr
    missing = run_cli("--root", str(root), "--list", "--config", str(root / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr


# --- values that cannot reach a job, --strict, frameworks' own syntax, --probe-help ---------------

NO_EPOCHS = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr')\np.parse_args()\n"
HYDRA_APP = """
import hydra
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg):
    print(cfg)
if __name__ == "__main__":
    main()
"""


def test_dropped_values_are_named_per_job_and_summed_up(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT, "scripts/train_b.py": NO_EPOCHS,
                      "scripts/train_c.py": "import sys\nprint(sys.argv)\n"})
    for mode in ("--list", "--dry-run"):
        result = run_cli("--root", str(root), mode, "--epochs", "3")
        assert result.returncode == 0, result.stderr
        assert "epochs not passed to b: no epochs option" in result.stderr
        assert "epochs not passed to c: its options could not be read (see --inspect)" in result.stderr
        assert "--epochs reached 1 of 3 job(s)" in result.stderr
    quiet = run_cli("--root", str(root), "--dry-run")
    assert quiet.stderr == ""
    jobs = list_json(root, "--epochs", "3")["jobs"]
    assert {j["id"]: j["dropped"] for j in jobs}["b"] == {"epochs": "no epochs option"}


def test_strict_exits_2_before_anything_runs(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT, "scripts/train_b.py": NO_EPOCHS})
    result = run_cli("--root", str(root), "--epochs", "3", "--strict")
    assert result.returncode == 2 and "--strict: values given for every job cannot reach 1 selected job(s)" in result.stderr
    assert not (root / "runs").exists() and not (root / "results").exists()
    assert run_cli("--root", str(root), "--epochs", "3", "--strict", "--only", "a", "--dry-run").returncode == 0
    (root / "pyproject.toml").write_text("[tool.runall]\nstrict = true\n")
    assert run_cli("--root", str(root), "--dry-run", "--epochs", "3").returncode == 2


def test_a_run_records_what_could_not_be_passed_in_the_manifest(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT, "scripts/train_b.py": NO_EPOCHS})
    result = run_cli("--root", str(root), "--epochs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "epochs not passed to b: no epochs option" in result.stderr
    manifest = json.loads((root / "runs" / "latest" / "manifest.json").read_text())
    recorded = {rec["id"]: rec["job"]["dropped"] for rec in manifest["jobs"]}
    assert recorded == {"a": {}, "b": {"epochs": "no epochs option"}}


def test_frameworks_get_values_in_their_own_syntax(make_repo) -> None:
    root = make_repo({
        "scripts/train_hydra.py": HYDRA_APP,
        "scripts/conf/config.yaml": "trainer:\n  max_epochs: 10\nseed: 0\n",
        "configurator.py": "import sys\nfor arg in sys.argv[1:]:\n    k, v = arg.split('=')\n    globals()[k[2:]] = v\n",
        "train_gpt.py": "batch_size = 12\nout_dir = 'out'\nexec(open('configurator.py').read())\n",
    })
    (root / "pyproject.toml").write_text('[tool.runall]\ninclude = ["train_*.py"]\n')
    jobs = {j["id"]: j["argv"][2:] for j in list_json(root, "--epochs", "3", "--batch-size", "8", "--seed", "1")["jobs"]}
    assert jobs["hydra"] == ["trainer.max_epochs=3", "seed=1", "hydra.run.dir=results/hydra"]
    assert jobs["gpt"] == ["--batch_size=8", "--out_dir=results/gpt"]


def test_inspect_resolves_imports_against_the_root(make_repo, tmp_path: Path) -> None:
    root = make_repo({"common/__init__.py": "", "common/opts.py": (
        "import argparse\ndef get_parser():\n    p = argparse.ArgumentParser()\n    p.add_argument('--niter', "
        "type=int, help='number of epochs to train for')\n    return p\n"),
        "scripts/train_x.py": "from common.opts import get_parser\nargs = get_parser().parse_args()\n"})
    result = run_cli("--root", str(root), "--inspect", "scripts/train_x.py", "--format", "json", cwd=root)
    script, = json.loads(result.stdout)["scripts"]
    assert script["cli"] == "argparse" and script["roles"]["epochs"] == "--niter"
    assert any("number of epochs" in note for note in script["notes"]) and script["source"] == "static"
    text = run_cli("--root", str(root), "--inspect", str(root / "scripts/train_x.py"), cwd=tmp_path).stdout
    assert "roles: epochs=--niter" in text and "note: epochs: --niter, from its help" in text


def test_probe_help_is_opt_in(make_repo) -> None:
    root = make_repo({"scripts/train_dyn.py": (
        "import argparse, pathlib, sys\npathlib.Path(__file__).with_name('ran').write_text(' '.join(sys.argv[1:]))\n"
        "p = argparse.ArgumentParser()\nfor n in sys.argv[:0] or ['--epochs']:\n    p.add_argument(n.strip())\n"
        "p.parse_args()\n")})
    assert run_cli("--root", str(root), "--list").returncode == 0
    assert not (root / "scripts/ran").exists()
    probed = list_json(root, "--probe-help", "--epochs", "2")["jobs"][0]
    assert (root / "scripts/ran").read_text() == "--help"
    assert probed["flags_known"] and probed["argv"][2:] == ["--epochs", "2"]
    (root / "pyproject.toml").write_text("[tool.runall]\nprobe = true\n")
    inspect = run_cli("--root", str(root), "--inspect", str(root / "scripts/train_dyn.py"))
    assert "(cli: argparse, from help output)" in inspect.stdout


def test_cache_warnings_are_printed(make_repo) -> None:
    root = make_repo({"scripts/train_a.py": ARGPARSE_SCRIPT})
    assert run_cli("--root", str(root), "--list").returncode == 0
    store = max(Path(os.environ["XDG_CACHE_HOME"]).glob("runall/*/flags.json"), key=lambda p: p.stat().st_mtime)
    store.write_text("{not json")
    result = run_cli("--root", str(root), "--list")
    assert result.returncode == 0 and "runall: warning:" in result.stderr and "cache ignored" in result.stderr


def test_help_lists_every_option_and_quiet_excludes_verbose() -> None:
    done = run_cli("--help")
    assert done.returncode == 0, done.stderr
    assert all(flag in done.stdout for flag in ("--quiet", "--resume", "--strict", "--no-fail-fast",
                                                "--launcher", "--lineage"))
    both = run_cli("-q", "-v")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


CANONICAL = {"src/medmodels/training/train_als.py", "src/medmodels/training/train_alzheimers.py",
             "src/medmodels/training/train_brain_mri.py", "src/medmodels/training/train_cardiovascular.py",
             "src/medmodels/training/train_diabetes.py", "src/medmodels/training/train_parkinsons.py",
             "scripts/train_alzheimers_structured.py", "mlops/pipelines/train_baseline_models.py",
             "mlops/pipelines/train_model.py"}


def test_this_repository_lists_exactly_its_nine_training_scripts() -> None:
    payload = list_json(REPO, "--why")
    assert {job["script"] for job in payload["jobs"]} == CANONICAL
    assert len(payload["jobs"]) == 10          # scripts/train_alzheimers_structured.py is two grid jobs
    assert {d["path"] for d in payload["discovery"]["decisions"] if d["taken"]} == CANONICAL


TRAINS = "import torch\n\nif __name__ == '__main__':\n    torch.zeros(1, requires_grad=True).sum().backward()\n"


def test_list_why_explains_every_file_in_text_and_json(make_repo) -> None:
    root = make_repo({"main.py": TRAINS, "lib/helpers.py": "def f():\n    return 1\n",
                      "config/base.py": "lr = 0.1\n", "tests/test_main.py": TRAINS})
    text = run_cli("--root", str(root), "--list", "--why")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[:4] == [
        "skip   config/base.py  configuration file: assignments only",
        "skip   lib/helpers.py  no entry point",
        "taken  main.py         entry point (__main__ block); trains: torch.zeros().sum().backward() (line 4)",
        "skip   tests/          under tests/ (tests folder)",
    ]
    assert lines[4] == "3 Python file(s) looked at, 1 taken; 1 folder(s) not entered"
    assert lines[-1] == "1 job(s)"
    payload = list_json(root, "--why")
    assert [j["script"] for j in payload["jobs"]] == ["main.py"]
    assert payload["discovery"]["files_looked_at"] == 3 and payload["discovery"]["taken"] == 1
    assert {"path": "tests/", "taken": False, "reason": "under tests/ (tests folder)"} in \
        payload["discovery"]["decisions"]


def test_nothing_found_says_what_was_looked_at_and_exits_2(make_repo) -> None:
    root = make_repo({"a.py": "x = 1\n", "b.py": "y = 2\n", "c.py": "def f():\n    pass\n",
                      "eval.py": TRAINS})
    result = run_cli("--root", str(root), "--list", "--format", "json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["jobs"] == []
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "looked at 4 Python file(s) (2 configuration file, 1 no entry point, 1 evaluation script)" in message
    assert "--why" in message
    assert run_cli("--root", str(root), "--dry-run").returncode == 2
    assert run_cli("--root", str(root)).returncode == 2


def test_include_and_exclude_path_from_the_command_line(make_repo) -> None:
    root = make_repo({"eval.py": TRAINS, "tools/serve.py": "if __name__ == '__main__':\n    print('up')\n",
                      "main.py": TRAINS})
    assert [j["script"] for j in list_json(root)["jobs"]] == ["main.py"]
    listed = list_json(root, "--include", "tools/*.py", "--include", "eval.py", "--exclude-path", "main.py")
    assert [j["script"] for j in listed["jobs"]] == ["eval.py", "tools/serve.py"]
    decisions = list_json(root, "--exclude-path", "tools", "--why")["discovery"]["decisions"]
    why = {d["path"]: d["reason"] for d in decisions}
    assert why["tools/"] == "excluded by --exclude-path = 'tools'"
