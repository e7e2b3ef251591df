"""The commands in README.md and TRAINING_USAGE.md work as written.

Every ```bash block is run line by line and every ```python block as a script, in document
order, in one scratch copy of the repository per file (as a reader following the page would),
with the project's `.venv/bin` first on PATH and a scratch HOME. `yaml` and `toml` blocks must
parse. An HTML comment just above a block changes how it runs (the convention is stated at
the top of TRAINING_USAGE.md):

    <!-- docs-test: add ARGS (REASON) -->   ARGS appended to each command of the block
    <!-- docs-test: exit N (REASON) -->     each command must exit N instead of 0
    <!-- docs-test: skip (REASON) -->       not run
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DOCS = ("README.md", "TRAINING_USAGE.md")
RUN = ("bash", "python")
PARSE = {"yaml": yaml.safe_load, "toml": tomllib.loads}
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
MARKER = re.compile(r"^<!-- docs-test: (?P<what>skip|add (?P<args>.+?)|exit (?P<code>\d+)) \((?P<why>[^)]+)\) -->$")
COMMAND_TIMEOUT = 300
TRAILING_COMMENT = re.compile(r"\s+#.*$")
# Never run from here: an address off this machine (no traffic leaves it), an install into the environment.
REMOTE_ADDRESS = re.compile(r"\b(?!127\.)\d{1,3}(?:\.\d{1,3}){3}\b")
INSTALL = re.compile(r"\bpip3? install\b(?!.*--dry-run)")


@dataclass(frozen=True)
class Block:
    """A fenced code block: where it starts, its language, its text, and how to run it."""

    path: str
    line: int                  # the opening fence, 1-based
    lang: str
    text: str
    skip: bool = False
    extra: tuple[str, ...] = ()
    exit_code: int = 0

    def commands(self) -> list[tuple[int, str]]:
        """(line, command) for each shell command, with the block's extra arguments: comments
        (whole lines and trailing ones) and blank lines dropped, `\\` continuations joined."""
        out: list[tuple[int, str]] = []
        pending, start = "", 0
        for n, raw in enumerate(self.text.splitlines(), self.line + 1):
            line = raw.strip()
            if not pending and (not line or line.startswith("#")):
                continue
            start = start if pending else n
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            command = TRAILING_COMMENT.sub("", pending + line)
            assert shlex.split(command) == shlex.split(pending + line, comments=True), f"{self.path}:{start}: a # in quotes"
            out.append((start, " ".join([command, *map(shlex.quote, self.extra)])))
            pending = ""
        return out


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a markdown file, with the docs-test marker above each applied."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    n = 0
    while n < len(lines):
        fence = FENCE.match(lines[n])
        if not fence:
            if lines[n].startswith("<!-- docs-test") and not MARKER.match(lines[n]):
                raise AssertionError(f"{path.name}:{n + 1}: malformed docs-test marker: {lines[n]}")
            n += 1
            continue
        end = next(i for i in range(n + 1, len(lines)) if lines[i].strip() == "```")
        indent = len(fence.group("indent"))
        text = "\n".join(line[indent:] for line in lines[n + 1:end])
        above = next((lines[i] for i in range(n - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.match(above)
        found.append(Block(path.name, n + 1, fence.group("lang"), text,
                           skip=bool(marker and marker["what"] == "skip"),
                           extra=tuple(shlex.split(marker["args"])) if marker and marker["args"] else (),
                           exit_code=int(marker["code"]) if marker and marker["code"] else 0))
        n = end + 1
    return found


def scratch_copy(dest: Path) -> Path:
    """The repository's tracked and untracked-but-not-ignored files, plus a link to its .venv."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(VENV_BIN.parent)
    return dest


def refusal(command: str) -> str | None:
    """Why a documented command must not run here (mark its block `skip` or `add --dry-run`)."""
    if address := REMOTE_ADDRESS.search(command):
        return f"it names the address {address.group(0)}, off this machine"
    if INSTALL.search(command):
        return "it installs into the environment the tests run in"
    return None


def run_block(block: Block, root: Path, env: dict[str, str]) -> None:
    for line, command in block.commands() if block.lang == "bash" else []:
        why = refusal(command)
        assert why is None, f"{block.path}:{line}: not run because {why}; add a docs-test marker: `{command}`"
    if block.lang == "python":
        steps = [(block.line, [sys.executable, "-c", block.text], "the python block")]
    else:
        steps = [(line, ["bash", "-c", command], command) for line, command in block.commands()]
    for line, argv, shown in steps:
        done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        assert done.returncode == block.exit_code, (
            f"{block.path}:{line}: `{shown}` exited {done.returncode}, expected {block.exit_code}\n"
            f"{(done.stdout + done.stderr)[-3000:]}")


@pytest.mark.parametrize("doc", DOCS)
def test_every_documented_command_runs(doc: str, tmp_path: Path) -> None:
    root = scratch_copy(tmp_path / "repository")
    home = tmp_path / "home"
    home.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("RUNALL_", "MLFLOW_", "VIRTUAL_ENV"))},
           "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(home),
           "XDG_CACHE_HOME": str(home / ".cache"), "OMP_NUM_THREADS": "1"}
    found = blocks(REPO / doc)
    ran = 0
    for block in found:
        if block.lang in PARSE:
            PARSE[block.lang](block.text)
        elif block.lang in RUN and not block.skip:
            run_block(block, root, env)
            ran += 1
    assert ran, f"{doc}: no block was run"


def test_markers_and_blocks_are_read_as_documented(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("\n".join([
        "<!-- docs-test: add --dry-run -v (minutes) -->", "```bash", "a --x   # note", "# only a comment", "",
        "b \\", "  --y", "```", "text", "```text", "not run", "```", "<!-- docs-test: exit 2 (a missing file) -->",
        "", "  ```bash", "  c", "  ```"]))
    first, second, third = blocks(page)
    assert first.commands() == [(3, "a --x --dry-run -v"), (6, "b  --y --dry-run -v")]
    assert second.lang == "text" and not second.extra and second.commands() == [(11, "not run")]
    assert third.exit_code == 2 and third.commands() == [(16, "c")]
    page.write_text("<!-- docs-test: skip -->\n```bash\nx\n```\n")
    with pytest.raises(AssertionError, match="page.md:1: malformed docs-test marker"):
        blocks(page)


@pytest.mark.parametrize("command, refused", [
    ("python run_all_training.py --backend ray --ray-address 10.0.0.5:6379", "the address 10.0.0.5"),
    ("pip install 'runall[ray]'", "installs into the environment"),
    ("pip install -e '.[mlflow]' --dry-run", None),
    ("curl http://127.0.0.1:5000/ && python -m x --epochs 1.5", None),
])
def test_commands_that_would_leave_the_machine_or_change_it_are_refused(command: str, refused: str | None) -> None:
    why = refusal(command)
    assert (why is None) if refused is None else (refused in why)
    block = Block("page.md", 1, "bash", command)
    if refused:
        with pytest.raises(AssertionError, match=f"page.md:2: not run because .*{re.escape(refused)}"):
            run_block(block, Path("/nonexistent"), {})


def test_the_documented_torch_pin_is_the_installed_cpu_build() -> None:
    """README: constraints.txt pins PyTorch's CPU build, and that is what `make setup` installed."""
    pins = [line.split("==", 1)[1].strip() for line in (REPO / "constraints.txt").read_text().splitlines()
            if line.startswith("torch==")]
    assert len(pins) == 1 and pins[0].endswith("+cpu"), pins
    assert f"torch=={pins[0]}" in (REPO / "README.md").read_text()
    assert metadata.version("torch") == pins[0]
