"""The Ray backend without a cluster: its settings, the job file's custom resources, the
missing extra, `--dry-run`, and an address nothing answers at (all exit 2 or print, never hang)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHIM

from runall.backends.ray.backend import fits, request, task_options
from runall.backends.ray.settings import RaySettings, parse_settings
from runall.errors import UsageError
from runall.model import Job
from runall.plan.jobfile import load_jobfile
from runall.run.resources import Capacity

TREE = {"scripts/train_one.py": "print('one')\n", "scripts/train_two.py": "print('two')\n"}
IN_CI = os.environ.get("CI", "").lower() == "true"
ENV = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}     # the tests give the address


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SHIM), *args], capture_output=True, text=True, timeout=timeout,
                          env=ENV)


def test_address_comes_from_flag_then_environment_then_pyproject() -> None:
    table = {"address": "10.0.0.9:6379"}
    assert parse_settings(table, "127.0.0.1:1", {"RAY_ADDRESS": "127.0.0.1:2"}) == RaySettings("127.0.0.1:1",
                                                                                                 "--ray-address")
    assert parse_settings(table, None, {"RAY_ADDRESS": "127.0.0.1:2"}) == RaySettings("127.0.0.1:2", "RAY_ADDRESS")
    assert parse_settings(table, None, {"RAY_ADDRESS": ""}).address == "10.0.0.9:6379"
    assert parse_settings({}, None, {}) == RaySettings() and RaySettings().embedded
    assert parse_settings({}, "local", {"RAY_ADDRESS": "127.0.0.1:2"}).embedded


@pytest.mark.parametrize("text, message", [
    ("[tool.runall.ray]\nadress = '1.2.3.4:6379'\n", "pyproject.toml:2: [tool.runall.ray] adress: unknown key"),
    ("[tool.runall.ray]\naddress = 6379\n", "pyproject.toml:2: [tool.runall.ray] address: 'address' must be"),
])
def test_bad_ray_table_exits_2_naming_file_line_and_key(make_repo, text: str, message: str) -> None:
    root = make_repo({**TREE, "pyproject.toml": text})
    done = run_cli("--root", str(root), "--backend", "ray", "--dry-run")
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1


def test_job_file_takes_custom_resources_with_located_errors(tmp_path: Path) -> None:
    (tmp_path / "train_a.py").write_text("")
    jobfile = tmp_path / "runall.yaml"
    jobfile.write_text("jobs:\n  - script: train_a.py\n    resources: {a100: 1, ssd: 0.5}\n")
    assert load_jobfile(jobfile, tmp_path)[0].fields["resources"] == {"a100": 1, "ssd": 0.5}
    for bad, message in (("{GPU: 1}", "'GPU' is not a custom resource"), ("{a100: -1}", "a number above 0"),
                         ("[a100]", "resource name to a number")):
        jobfile.write_text(f"jobs:\n  - script: train_a.py\n    resources: {bad}\n")
        with pytest.raises(UsageError, match=f"runall.yaml:3: jobs\\[0\\].resources: .*{message}"):
            load_jobfile(jobfile, tmp_path)


def test_tasks_ask_ray_for_what_the_scheduler_reserves() -> None:
    two_nodes = [{"CPU": 8, "GPU": 1, "memory": 2**34}, {"CPU": 8, "GPU": 1, "memory": 2**34}]

    def asked(job: Job, slots: int) -> str:
        return request(task_options(job, Capacity(slots, 16, ("0", "1"), 2**35), two_nodes))

    declared = Job(id="j", script="j.py", argv=["python"], cpus=2, gpus=1, memory=3 * 2**30, resources={"a100": 1})
    assert asked(declared, 4) == "num_cpus=2, num_gpus=1, memory=3.0 GiB, resources={'a100': 1}"
    plain = Job(id="k", script="k.py", argv=["python"])
    assert asked(plain, 4) == "num_cpus=4, num_gpus=0, memory=-"          # its share of the cluster's cores
    assert asked(plain, 1) == "num_cpus=8, num_gpus=0, memory=-"          # all of them, but one node at most
    torch = Job(id="t", script="t.py", argv=["python"], gpu_framework=True)
    assert asked(torch, 1) == asked(torch, 2) == "num_cpus=8, num_gpus=1, memory=-"
    assert fits(task_options(declared, Capacity(4, 16, ("0", "1"), 2**35), two_nodes), two_nodes[0]) is False


def test_dry_run_shows_each_request_and_neither_imports_ray_nor_starts_it(make_repo) -> None:
    root = make_repo({**TREE, "runall.yaml": "jobs:\n  - script: scripts/train_two.py\n    cpus: 1\n"
                                              "    memory: 1G\n"})
    code = ("import sys; from runall.cli import main; code = main(['--root', %r, '--backend', 'ray', '--dry-run']); "
            "assert 'ray' not in sys.modules, 'ray imported'; sys.exit(code)" % str(root))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=ENV)
    assert done.returncode == 0, done.stderr
    assert "each a Ray task on a local Ray instance started for the run" in done.stdout
    assert "# two: num_cpus=1, num_gpus=0, memory=1.0 GiB\n" in done.stdout
    assert "scripts/train_one.py" in done.stdout and not (root / "runs").exists()


def test_without_the_extra_backend_ray_exits_2_with_the_install_command(make_repo) -> None:
    root = make_repo(TREE)
    code = ("import sys, runpy; sys.modules['ray'] = None; sys.argv = [%r, '--root', %r, '--backend', 'ray']; "
            "runpy.run_path(%r, run_name='__main__')" % (str(SHIM), str(root), str(SHIM)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr == "runall: error: --backend ray: the Ray backend needs Ray, an optional extra: " \
                          "pip install 'runall[ray]'\n"
    assert not (root / "runs").exists()


def test_an_address_nothing_answers_at_exits_2_at_once(make_repo) -> None:
    if importlib.util.find_spec("ray") is None:
        (pytest.fail if IN_CI else pytest.skip)("ray is not installed: pip install -e '.[ray]'")
    root = make_repo({**TREE, "pyproject.toml": "[tool.runall.ray]\naddress = '127.0.0.1:9'\n"})
    done = run_cli("--root", str(root), "--backend", "ray")
    assert done.returncode == 2, done.stderr
    assert "pyproject.toml:2: [tool.runall.ray] address: cannot reach a Ray cluster at 127.0.0.1:9" in done.stderr
    assert not (root / "runs").exists()
