"""The real CLI on a real terminal (tmux: send-keys, capture-pane) and in a pipe."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from conftest import SHIM, run_cli

TMUX = shutil.which("tmux")
needs_tmux = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install -y tmux)")

FIT = '''\
import argparse, json, os, time
p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--output-dir")
a = p.parse_args()
for epoch in range(1, 4 * a.epochs + 1):
    print(f"epoch {epoch}/{4 * a.epochs} loss {1 / epoch:.3f}", flush=True)
    time.sleep(0.25)
os.makedirs(a.output_dir, exist_ok=True)
score = 0.5 + 0.1 * a.epochs - a.lr / 2
json.dump({"task": "classification", "primary_metric": "roc_auc", "metrics": {"roc_auc": {"mean": score}}},
          open(os.path.join(a.output_dir, "metrics.json"), "w"))
'''
GRID = ("--grid", "epochs=1,2", "--grid", "lr=0.1,0.2", "--parallel", "--max-workers", "2")
DONE = r"^EXIT=\d+$"                  # what `; echo EXIT=$?` prints (not the command line typed)
PLAIN_LINE = re.compile(r"^\[ ?\d/4\] (RUNNING|SUCCEEDED) ")


class Tmux:
    """A detached tmux server with one shell, on its own socket."""

    def __init__(self, socket: Path, cwd: Path, width: int = 160, height: int = 60) -> None:
        self.socket = str(socket)
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TMUX")}
        self._tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-c", str(cwd),
                   "bash", "--norc", "--noprofile", env={**env, "TERM": "xterm-256color", "PS1": "$ "})

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        return subprocess.run([TMUX, "-S", self.socket, "-f", os.devnull, *args], env=env, check=True,
                              capture_output=True, text=True, timeout=10).stdout

    def type(self, command: str) -> None:
        self._tmux("send-keys", "-t", "0", command, "Enter")

    def key(self, name: str) -> None:
        self._tmux("send-keys", "-t", "0", name)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-t", "0", "-S", "-300")

    def frames_until(self, marker: str, timeout: float = 60) -> list[str]:
        """Screens captured every 0.2 s until one matches the regular expression `marker` (the last one)."""
        frames: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frames.append(self.screen())
            if re.search(marker, frames[-1], re.M):
                return frames
            time.sleep(0.2)
        pytest.fail(f"no {marker!r} on screen after {timeout}s:\n{frames[-1]}")

    def close(self) -> None:
        subprocess.run([TMUX, "-S", self.socket, "kill-server"], capture_output=True, timeout=10)


STUBBORN = '''\
import argparse, signal, sys, time
p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--output-dir")
p.parse_args()
def stop(signum, frame):
    print("saving a checkpoint", flush=True)
    time.sleep(2)
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
for step in range(600):
    print(f"step {step}", flush=True)
    time.sleep(0.1)
'''
LONG = "scripts/train_a_rather_long_model_name_for_narrow_terminals.py"


@pytest.fixture
def tmux(make_repo: Callable[[dict[str, str]], Path], tmp_path: Path) -> Iterator[Tmux]:
    session = Tmux(tmp_path / "tmux.sock", make_repo({"scripts/train_fit.py": FIT}))
    yield session
    session.close()


@pytest.fixture
def narrow(make_repo: Callable[[dict[str, str]], Path], tmp_path: Path) -> Iterator[Tmux]:
    """An 80x24 terminal on a repository whose job ids are longer than half of it."""
    session = Tmux(tmp_path / "tmux.sock", make_repo({LONG: FIT, "scripts/train_stubborn.py": STUBBORN}),
                   width=80, height=24)
    yield session
    session.close()


def live_region(frame: str) -> list[str]:
    """The lines of the live view in a captured screen: from its progress line down (but the
    command line typed, which -J may join with the line after it)."""
    lines = [line for line in frame.splitlines() if "echo EXIT=" not in line]
    start = next((i for i, line in enumerate(lines) if re.search(r"\d+/\d+ jobs ", line)), len(lines))
    return [line for line in lines[start:] if not line.startswith("EXIT=")]


def cli(*args: str) -> str:
    return shlex.join([sys.executable, str(SHIM), *args])


@needs_tmux
def test_live_table_updates_then_ends_with_the_leaderboard(tmux: Tmux) -> None:
    tmux.type(cli(*GRID) + "; echo EXIT=$?")
    frames = tmux.frames_until(DONE)
    final = frames[-1]
    assert "EXIT=0" in final, final
    live = [f for f in frames if "LAST LOG LINE" in f and "RUNNING" in f]
    assert len(live) >= 3, frames[-1]
    progress = [int(m.group(1)) for f in live if (m := re.search(r"(\d)/4 jobs", f))]
    assert progress[0] < 4 and progress == sorted(progress) and len(set(progress)) > 1
    log_lines = {m.group(0) for f in live for m in re.finditer(r"epoch \d/\d+", f)}
    assert len(log_lines) >= 3                                      # each job's last log line moves on
    assert re.search(r"RUNNING\s+1/1\s+\d+\.\ds\s+\d+%\s+\d+M\s+epoch", "\n".join(live))   # cpu, memory
    assert not any(PLAIN_LINE.match(line) for f in frames for line in f.splitlines())
    assert "LAST LOG LINE" not in final                             # the live table gives way to the summary
    table = final.index("ID ")
    board = final.index("Leaderboard: classification, scripts/train_fit.py (by roc_auc, higher is better)")
    grid = final.index("Grid fit (4 members, by roc_auc, higher is better): best fit@epochs=2,lr=0.1")
    assert table < board < grid < final.index("4 jobs: 4 succeeded") < final.index("EXIT=0")
    assert final.count("SUCCEEDED") == 4 + 4                        # the summary's table and the grid's: once each


@needs_tmux
def test_no_color_on_a_terminal_gives_plain_lines(tmux: Tmux) -> None:
    tmux.type("NO_COLOR=1 " + cli("--only", "fit@epochs=1,lr=0.1", "--grid", "epochs=1", "--grid", "lr=0.1")
              + "; echo EXIT=$?")
    final = tmux.frames_until(DONE)[-1]
    assert "EXIT=0" in final and "LAST LOG LINE" not in final
    assert re.search(r"^\[ ?0/1\] RUNNING +fit@epochs=1,lr=0\.1 +pid \d+", final, re.M)
    assert re.search(r"^\[ ?1/1\] SUCCEEDED +fit@epochs=1,lr=0\.1", final, re.M)


@needs_tmux
def test_ctrl_c_in_the_live_view(tmux: Tmux) -> None:
    tmux.type(cli("--grid", "epochs=50", "--report-json", "report.json") + "; echo EXIT=$?")
    tmux.frames_until(r"RUNNING +1/1")
    time.sleep(1)                                                   # a few redraws
    tmux.key("C-c")
    final = tmux.frames_until(DONE)[-1]
    assert "EXIT=130" in final and "CANCELLED" in final
    assert not re.findall(r"\d/1 jobs ", final)                     # no stale frame above the summary
    assert tmux.screen().count("EXIT=130") == 1


@needs_tmux
def test_80_columns_keep_the_status_and_the_log(narrow: Tmux) -> None:
    narrow.type(cli("--only", "a_rather*", *GRID) + "; echo EXIT=$?")
    frames = narrow.frames_until(DONE)
    assert "EXIT=0" in frames[-1], frames[-1]
    live = [f for f in frames if "LAST LOG LINE" in f and "RUNNING" in f]
    assert live, frames[-1]
    rows = [line for f in live for line in f.splitlines() if line.startswith("a_rather")]
    drawn = [line for f in live for line in live_region(f)]
    assert rows and all(len(line) < 80 for line in drawn), [line for line in drawn if len(line) >= 80]  # -J joins wraps
    assert {row.split()[1] for row in rows} <= {"PENDING", "RUNNING", "SUCCEEDED"}    # never SUCCEE…
    assert any("…" in row.split()[0] for row in rows)                                  # the id was shortened
    assert any(re.search(r"RUNNING .* epoch \d", row) for row in rows)                # the log is still there
    assert "Leaderboard" in frames[-1] and "LAST LOG LINE" not in frames[-1]


@needs_tmux
def test_the_live_view_says_stopping_after_ctrl_c(narrow: Tmux) -> None:
    narrow.type(cli("--only", "stubborn") + "; echo EXIT=$?")
    narrow.frames_until(r"RUNNING +1/1 .*step \d")
    narrow.key("C-c")
    stopping = narrow.frames_until(r"stopping 1 job")[-1]
    assert re.search(r"^stubborn +STOPPING +1/1 .*interrupted", stopping, re.M), stopping
    final = narrow.frames_until(DONE)[-1]
    assert "EXIT=130" in final and re.search(r"^stubborn +CANCELLED", final, re.M)


def test_pipe_gets_plain_lines_only(make_repo: Callable[[dict[str, str]], Path]) -> None:
    root = make_repo({"scripts/train_fit.py": FIT})
    done = run_cli(*GRID, "-v", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", done.stdout + done.stderr)     # no escapes, no \r
    lines = done.stdout.splitlines()
    assert sum(bool(PLAIN_LINE.match(line)) for line in lines) == 8                # 4 starts, 4 ends
    assert sum(line.lstrip().startswith("$ ") and "scripts/train_fit.py" in line for line in lines) == 4
    assert "Leaderboard: classification, scripts/train_fit.py (by roc_auc, higher is better)" in done.stdout
    assert "LAST LOG LINE" not in done.stdout
