"""Slurm batch-script rendering, settings and state mapping: pure functions, no cluster needed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runall.backends.base import ExitInfo, LaunchSpec
from runall.backends.slurm.backend import SlurmBackend
from runall.backends.slurm.body import run_lines as run_lines_of
from runall.backends.slurm.parse import SlurmRecord, parse_sacct, parse_squeue
from runall.backends.slurm.render import memory_mib, render_script, time_limit
from runall.backends.slurm.settings import SlurmSettings, parse_settings
from runall.errors import UsageError
from runall.model import Job, JobStatus


def make_job(**fields) -> Job:
    return Job(**{"id": "als", "script": "src/train_als.py",
                  "argv": ["/venv/bin/python", "src/train_als.py", "--epochs", "3"], **fields})


def make_spec(job: Job, **fields) -> LaunchSpec:
    return LaunchSpec(**{"job_id": job.id, "attempt": 1, "argv": job.argv, "cwd": Path("/repo"),
                         "env": {"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""},
                         "log_path": Path("/repo/runs/r1/logs/als.log"), "token": "tok123", **fields})


RUN_LINES = """\
set +e
runall_signals=0
runall_forward() { runall_signals=$((runall_signals + 1)); runall_signal=$1; kill -TERM "$runall_child" 2>/dev/null; }
trap 'runall_forward TERM' TERM
trap 'runall_forward USR1' USR1
@COMMAND@ &
runall_child=$!
while :; do    # a trapped signal interrupts `wait`: wait again while the command is there
    runall_seen=$runall_signals
    wait "$runall_child"; runall_status=$?
    [ "$runall_seen" != "$runall_signals" ] && kill -0 "$runall_child" 2>/dev/null || break
done
trap - TERM USR1
@WARNING@if [ "$runall_status" -gt 128 ] && [ "$runall_status" -le 192 ]; then
    kill -s "$(kill -l "$runall_status")" $$    # ended by a signal: so does the script
fi
exit "$runall_status"
"""
WARNING_LINES = """\
if [ "$runall_signal" = USR1 ] && [ "$runall_status" != 0 ]; then
    echo "runall: the job was sent SIGTERM @SECONDS@ s before its time limit and stopped (status $runall_status); \
waiting for Slurm to end it there" >&2
    while :; do sleep 5; done
fi
"""


def run_lines(command: str, warning: int | None = None) -> str:
    """The expected end of a batch script: `command` run as a child with signals forwarded."""
    lines = WARNING_LINES.replace("@SECONDS@", str(warning)) if warning else ""
    return RUN_LINES.replace("@COMMAND@", command).replace("@WARNING@", lines)


def test_minimal_script_snapshot():
    job = make_job()
    assert render_script(job, make_spec(job), SlurmSettings(requeue=False)) == """\
#!/bin/bash
# runall job als, attempt 1
#SBATCH --job-name=als
#SBATCH --output=/repo/runs/r1/logs/als.log
#SBATCH --chdir=/repo
#SBATCH --comment=tok123
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
set -e
export OMP_NUM_THREADS=1
export RUNALL_JOB_TOKEN=tok123
""" + run_lines("/venv/bin/python src/train_als.py --epochs 3")


def test_full_script_snapshot():
    job = make_job(cpus=4, gpus=2, memory=3 * 1024**3 + 1, timeout=90, after=["prep"],
                   argv=["/venv/bin/python", "src/train_als.py", "--note", "it's a test"])
    settings = SlurmSettings(partition="gpu", account="lab", qos="high", time="2:00:00",
                             directives=("--constraint=a100",),
                             setup=("module load cuda/12", "source /opt/env/bin/activate"))
    spec = make_spec(job, attempt=2, env={"MODE": "a b"}, log_path=Path("/repo/runs/r1/logs/als.attempt2.log"))
    assert render_script(job, spec, settings, depends_on=["41", "42"]) == """\
#!/bin/bash
# runall job als, attempt 2
#SBATCH --job-name=als
#SBATCH --output=/repo/runs/r1/logs/als.attempt2.log
#SBATCH --chdir=/repo
#SBATCH --comment=tok123
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=4
#SBATCH --gres=gpu:2
#SBATCH --mem=3073M
#SBATCH --time=2
#SBATCH --signal=B:USR1@90
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --partition=gpu
#SBATCH --account=lab
#SBATCH --qos=high
#SBATCH --dependency=afterok:41:42
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --constraint=a100
set -e
export MODE='a b'
export RUNALL_JOB_TOKEN=tok123
if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then
    exec >>/repo/runs/r1/logs/als.attempt"$(( 2 + SLURM_RESTART_COUNT ))".log 2>&1
fi
module load cuda/12
source /opt/env/bin/activate
""" + run_lines("""/venv/bin/python src/train_als.py --note 'it'"'"'s a test'""", warning=90)


def test_default_time_applies_only_without_a_job_timeout():
    job = make_job()
    assert "#SBATCH --time=1-00:00:00\n" in render_script(job, make_spec(job), SlurmSettings(time="1-00:00:00"))
    timed = make_job(timeout=3600)
    assert "#SBATCH --time=60\n" in render_script(timed, make_spec(timed), SlurmSettings(time="5"))


def test_job_environment_cuda_devices_kept_only_when_the_job_sets_it():
    job = make_job(env={"CUDA_VISIBLE_DEVICES": "1"})
    assert "export CUDA_VISIBLE_DEVICES=1\n" in render_script(
        job, make_spec(job, env={"CUDA_VISIBLE_DEVICES": "1"}), SlurmSettings())
    plain = make_job()
    assert "CUDA_VISIBLE_DEVICES" not in render_script(plain, make_spec(plain), SlurmSettings())


def test_paths_with_spaces_and_percent_are_quoted_for_sbatch():
    job = make_job()
    spec = make_spec(job, cwd=Path("/my repo"), log_path=Path("/my repo/runs/50%/als.log"))
    text = render_script(job, spec, SlurmSettings())
    assert '#SBATCH --output="/my repo/runs/50%%/als.log"\n' in text
    assert '#SBATCH --chdir="/my repo"\n' in text


def test_time_and_memory_round_up():
    assert [time_limit(s) for s in (1, 60, 61, 3600)] == ["1", "1", "2", "60"]
    assert [memory_mib(b) for b in (1, 1024**2, 1024**2 + 1)] == ["1M", "1M", "2M"]


def test_settings_parse_and_per_job_overrides():
    settings = parse_settings({
        "partition": "cpu", "time": 30, "setup": "module load python",
        "jobs": {"alz*": {"partition": "gpu", "qos": "long"}, "alz_big": {"time": "1-00"}},
    })
    assert settings.partition == "cpu" and settings.time == "30" and settings.setup == ("module load python",)
    big = settings.for_job("alz_big")
    assert (big.partition, big.qos, big.time, big.setup) == ("gpu", "long", "1-00", ("module load python",))
    assert settings.for_job("als") == SlurmSettings(partition="cpu", time="30", setup=("module load python",))


@pytest.mark.parametrize("table, message", [
    ({"partiton": "x"}, "unknown key 'partiton'"),
    ({"time": "soon"}, "'time' must be minutes"),
    ({"setup": [1]}, "'setup' must be a list"),
    ({"jobs": {"a*": {"jobs": {}}}}, "[tool.runall.slurm.jobs.\"a*\"] jobs: unknown key 'jobs'"),
])
def test_settings_errors_name_the_key(table, message):
    with pytest.raises(UsageError) as err:
        parse_settings(table)
    assert message in str(err.value)


def test_parse_squeue_decodes_wait_status_and_restarts():
    text = ("1|FAILED|NonZeroExitCode|768|0|\n2|CANCELLED|None|15|0|\n"
            "3|PENDING|Dependency|0|0|\n4|COMPLETED|None|0|0|\n5|PENDING|BeginTime|0|2|\n")
    records = parse_squeue(text)
    assert records["1"] == SlurmRecord("FAILED", "NonZeroExitCode", 3, None)
    assert records["2"] == SlurmRecord("CANCELLED", "None", 0, 15)
    assert not records["3"].final and records["4"].final
    assert records["5"] == SlurmRecord("PENDING", "BeginTime", 0, None, restarts=2)


def test_parse_sacct():
    assert parse_sacct("7|CANCELLED by 0|0:15\n8|COMPLETED|0:0\n") == {
        "7": SlurmRecord("CANCELLED", "", 0, 15), "8": SlurmRecord("COMPLETED", "", 0, None)}


def test_backend_script_applies_the_run_timeout_and_skips_parents_not_in_the_queue():
    jobs = [make_job(id="prep"), make_job(id="als", after=["prep", "elsewhere"]), make_job(id="own", timeout=600)]
    backend = SlurmBackend(jobs, SlurmSettings(jobs={"als": {"qos": "long"}}), timeout=90)
    assert "#SBATCH --time=10\n" in backend.script(make_spec(jobs[2]))
    text = backend.script(make_spec(jobs[1]))
    assert "#SBATCH --time=2\n" in text and "#SBATCH --qos=long\n" in text and "--dependency" not in text


S = JobStatus


@pytest.mark.parametrize("record, expected", [
    (SlurmRecord("COMPLETED", "None", 0), ExitInfo(0, status=S.SUCCEEDED)),
    (SlurmRecord("COMPLETED", "None", 2), ExitInfo(2, status=S.FAILED)),
    (SlurmRecord("FAILED", "NonZeroExitCode", 3), ExitInfo(3, status=S.FAILED)),
    (SlurmRecord("FAILED", "JobLaunchFailure", 0, 11),
     ExitInfo(None, "SIGSEGV", status=S.FAILED, reason="Slurm FAILED (JobLaunchFailure)")),
    (SlurmRecord("TIMEOUT", "TimeLimit", 0, 15),
     ExitInfo(None, "SIGTERM", status=S.TIMEOUT, reason="Slurm TIMEOUT (TimeLimit)")),
    (SlurmRecord("CANCELLED", "None", 0, 15), ExitInfo(None, "SIGTERM", status=S.CANCELLED, reason="Slurm CANCELLED")),
    (SlurmRecord("CANCELLED", "DependencyNeverSatisfied", 0),
     ExitInfo(None, status=S.SKIPPED, reason="Slurm CANCELLED (DependencyNeverSatisfied)")),
    (SlurmRecord("NODE_FAIL", "None", 0), ExitInfo(None, status=S.FAILED, reason="Slurm NODE_FAIL")),
    (SlurmRecord("OUT_OF_MEMORY", "None", 0, 9),
     ExitInfo(None, "SIGKILL", status=S.FAILED, reason="Slurm OUT_OF_MEMORY")),
    (SlurmRecord("PREEMPTED", "None", 0), ExitInfo(None, status=S.PREEMPTED, reason="Slurm PREEMPTED")),
])
def test_final_states_map_to_manifest_states(record, expected):
    assert record.final
    assert record.outcome() == expected


def test_failed_states_are_retried_like_local_failures():
    for state in ("NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "TIMEOUT"):
        assert SlurmRecord(state).outcome().status.retryable


# -- the batch script's command lines, run by a real bash (no cluster needed) -----------------------

SAVER = ("import signal, sys, time\n"
         "def save(*_):\n    print('saved', flush=True)\n    sys.exit(int(sys.argv[1]))\n"
         "signal.signal(signal.SIGTERM, save)\nprint('working', flush=True)\ntime.sleep(60)\n")


def run_body(command: list[str], warning: int | None = None) -> subprocess.Popen:
    """`run_lines(command)` in a bash of its own session; stdout piped."""
    proc = subprocess.Popen(["bash", "-c", "\n".join(run_lines_of(command, warning))], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    assert proc.stdout.readline() in ("working\n", "")
    return proc


@pytest.mark.parametrize("code", [0, 3])
def test_the_script_exits_as_its_command_did(code):
    proc = subprocess.run(["bash", "-c", "\n".join(run_lines_of([sys.executable, "-c", f"raise SystemExit({code})"],
                                                                 90))], timeout=30)
    assert proc.returncode == code


def test_sigterm_to_every_process_at_once_ends_the_script_by_sigterm():
    for _ in range(5):                  # scancel --full and preemption signal the shell and the job together
        proc = run_body([sys.executable, "-c", "import time; print('working', flush=True); time.sleep(60)"])
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM


def test_the_time_limit_warning_becomes_sigterm_and_the_script_waits_for_the_limit():
    proc = run_body([sys.executable, "-c", SAVER, "143"], warning=90)
    proc.send_signal(signal.SIGUSR1)                         # --signal=B:USR1: the batch shell only
    assert proc.stdout.readline() == "saved\n"
    time.sleep(1)
    assert proc.poll() is None                               # stopped to save: wait for Slurm's limit
    os.killpg(proc.pid, signal.SIGTERM)                      # the limit: Slurm signals everything
    assert proc.wait(timeout=30) == -signal.SIGTERM
    finished = run_body([sys.executable, "-c", SAVER, "0"], warning=90)
    finished.send_signal(signal.SIGUSR1)
    assert finished.wait(timeout=30) == 0                    # it was done anyway: no waiting


# -- job arrays: the script and argument lines, run by a real bash (no cluster needed) --------

TRICKY = ["it's", "two\nlines", "$HOME and `id`", "back\\slash", "*", "", "tab\there", "50%"]


def test_array_elements_get_their_own_log_environment_and_exact_argv(tmp_path: Path):
    import json
    import subprocess
    import sys

    from runall.backends.slurm.render import array_line, render_array

    show = "import json, os, sys; print(json.dumps([sys.argv[1:], os.environ.get('MODE'), os.environ['RUNALL_JOB_TOKEN']]))"
    jobs = [make_job(id=f"g@x={i}", argv=[sys.executable, "-c", show, *TRICKY[i:]]) for i in range(3)]
    specs = [make_spec(job, argv=job.argv, cwd=tmp_path, env={"MODE": f"m {i}\n", "CUDA_VISIBLE_DEVICES": ""},
                       log_path=tmp_path / "logs" / f"g{i}.log", token=f"run/g@x={i}") for i, job in enumerate(jobs)]
    (tmp_path / "logs").mkdir()
    args = tmp_path / "logs" / "g0+2.args"
    args.write_text("".join(array_line(job, spec) + "\n" for job, spec in zip(jobs, specs)))
    assert len(args.read_text().splitlines()) == 3                   # one line per element, newlines escaped
    script = render_array(jobs, specs, SlurmSettings(setup=("export SETUP_RAN=1",)), args,
                          tmp_path / "logs" / "g0+2.out", max_running=2)
    assert "#SBATCH --array=0-2%2\n" in script and "#SBATCH --job-name=g\n" in script
    assert "#SBATCH --comment=run/g@x=*\n" in script and "CUDA_VISIBLE_DEVICES" not in args.read_text()
    (tmp_path / "element.sh").write_text(script)
    for i in (2, 0, 1):
        done = subprocess.run(["bash", str(tmp_path / "element.sh")], cwd=tmp_path, capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": str(i)})
        assert done.returncode == 0 and done.stdout == done.stderr == "", done
        assert json.loads((tmp_path / "logs" / f"g{i}.log").read_text()) == [TRICKY[i:], f"m {i}\n", f"run/g@x={i}"]


def test_arrays_group_attempts_that_share_options_and_split_at_max_array_size(tmp_path: Path):
    jobs = [make_job(id=f"a{i}") for i in range(5)] + [make_job(id="big", cpus=4), make_job(id="after", after=["a0"])]
    backend = SlurmBackend(jobs, SlurmSettings(), max_workers=3)
    backend._max_array = 2
    specs = [make_spec(job, log_path=tmp_path / f"{job.id}.log", token=f"r/{job.id}") for job in jobs]
    groups = backend._groups(specs, with_dependencies=True)
    assert [[[s.job_id for s in chunk] for chunk in group] for group in groups] == [
        [["a0", "a1"], ["a2", "a3"], ["a4", "after"]], [["big"]]]   # nothing of a0 is queued yet: no dependency
    text = backend.preview(specs)
    assert text.startswith("# 7 job(s) in 4 sbatch submission(s)") and text.count("#SBATCH --array=0-1%3\n") == 3

