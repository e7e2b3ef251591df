"""Generate a large synthetic repository: training scripts, ordinary files and a virtual environment.

Layout (`files` in all, counting every file written):

    pyproject.toml, .gitignore
    venv-py311/pyvenv.cfg + lib/python3.11/site-packages/...   `venv_files` files, some named train_*.py
    projects/proj_NNN/train_<kind>.py, run_<kind>_<n>.py       `scripts` training scripts, all different
    projects/proj_NNN/src/{engine,loop}.py                     the training loop run_*.py reach
    projects/proj_NNN/{src,data,configs,tests}/...             the rest

Every training script is a realistic argparse, click or HfArgumentParser script of about 60
lines with its own defaults, so no two have the same content (the flag cache is by content).
One in ten is named `run_<kind>_<n>.py`: discovery finds it by content only, its training call
lying two imports away (`src/engine.py`, then `src/loop.py`). The ordinary Python files are
mostly helper modules, with some that make discovery look harder: helpers with a training loop
but no entry point, data tools with a `__main__` block and no training call, evaluation scripts,
and Python configuration files (assignments only).
All files get an mtime one day in the past, as in a checkout that is not being edited.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

KINDS = ("classifier", "segmenter", "detector", "regressor", "ranker",
         "autoencoder", "forecaster", "tagger", "embedder", "policy")
PER_DIR = 50
MAX_PROJECTS = 100
_OLD = time.time() - 86_400

ARGPARSE = '''"""Train the {kind} of project {project} (variant {n})."""
import argparse
import json
import os
import random


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="{kind} {n}")
    parser.add_argument("--data-dir", default="data/{project}")
    parser.add_argument("--output-dir", default="results/{project}/{kind}")
    parser.add_argument("--{epochs}", type=int, default={e})
    parser.add_argument("--batch-size", type=int, default={b})
    parser.add_argument("--lr", type=float, default={lr})
    parser.add_argument("--seed", type=int, default={n})
    parser.add_argument("--amp", action="store_true", help="mixed precision; see --epochs")
    group = parser.add_argument_group("model")
    group.add_argument("--hidden", type=int, default={h})
    group.add_argument("--dropout", type=float, default=0.{d})
    return parser


def train(args: argparse.Namespace) -> dict:
    random.seed(args.seed)
    loss = 1.0
    for epoch in range(args.{epochs_dest}):
        for _ in range(max(1, 1000 // args.batch_size)):
            loss *= 1 - args.lr * random.random()
    return {{"loss": loss, "epochs": args.{epochs_dest}}}


def main() -> None:
    args = build_parser().parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    metrics = train(args)
    with open(os.path.join(args.output_dir, "metrics.json"), "w") as fh:
        json.dump(metrics, fh)
    print("{kind}", metrics)


if __name__ == "__main__":
    main()
'''

CLICK = '''"""Train the {kind} of project {project} (variant {n}), click edition."""
import json
import os

import click


@click.command()
@click.option("--epochs", "-e", type=int, default={e}, show_default=True)
@click.option("--batch-size", type=int, default={b})
@click.option("--out-dir", type=click.Path(), default="results/{project}/{kind}")
@click.option("--data", type=click.Path(), default="data/{project}")
@click.option("--seed", type=int, default={n})
@click.option("--lr", type=float, default={lr})
@click.option("--hidden", type=int, default={h})
@click.option("--amp/--no-amp", default=False)
def main(epochs, batch_size, out_dir, data, seed, lr, hidden, amp):
    """Train for EPOCHS epochs on DATA."""
    os.makedirs(out_dir, exist_ok=True)
    metrics = {{"epochs": epochs, "batch_size": batch_size, "hidden": hidden, "dropout": 0.{d}}}
    with open(os.path.join(out_dir, "metrics.json"), "w") as fh:
        json.dump(metrics, fh)


if __name__ == "__main__":
    main()
'''

HF = '''"""Fine-tune the {kind} of project {project} (variant {n}) with HfArgumentParser."""
from dataclasses import dataclass, field
from typing import Optional

from transformers import HfArgumentParser, TrainingArguments


@dataclass
class DataArguments:
    train_file: Optional[str] = field(default="data/{project}/train.csv")
    max_seq_length: int = field(default={b})


@dataclass
class ModelArguments:
    model_name_or_path: str = field(default="model-{n}")
    hidden_size: int = field(default={h})
    dropout: float = field(default=0.{d})


def main():
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    model_args, data_args, training_args = parser.parse_args_into_dataclasses()
    print(model_args, data_args, training_args.num_train_epochs, {lr})


if __name__ == "__main__":
    main()
'''

MODULE = '''"""Helper module {n} of project {project}."""


def helper_{n}(values):
    """Scale the values by {n}."""
    return [v * {n} for v in values]
'''

RUN = '''"""Train the {kind} of project {project} (variant {n}) with the project's own loop."""
import argparse

from src.engine import fit


def main() -> None:
    parser = argparse.ArgumentParser(description="{kind} {n}")
    parser.add_argument("--epochs", type=int, default={e})
    parser.add_argument("--output-dir", default="results/{project}/{kind}_{n}")
    parser.add_argument("--lr", type=float, default={lr})
    args = parser.parse_args()
    fit(args.epochs, args.lr, args.output_dir)


if __name__ == "__main__":
    main()
'''

ENGINE = '''"""The training driver of project {project}."""
from src.loop import run_epoch


def fit(epochs, lr, output_dir):
    """Run `epochs` epochs; the loop lives in src/loop.py."""
    history = [run_epoch(epoch, lr) for epoch in range(epochs)]
    return {{"output_dir": output_dir, "history": history}}
'''

LOOP = '''"""One epoch of project {project}, in the shape of a torch loop."""


def run_epoch(epoch, lr, model=None, optimizer=None, batches=()):
    for batch in batches:
        optimizer.zero_grad()
        loss = model(batch)
        loss.backward()
        optimizer.step()
    return epoch * lr
'''

TRAINING_HELPER = '''"""Training helpers {n} of project {project}: no entry point of their own."""


def train_one_epoch_{n}(model, loader, optimizer):
    model.train()
    for batch in loader:
        optimizer.zero_grad()
        model(batch).backward()
        optimizer.step()
'''

TOOL = '''"""Summarise the samples of project {project} (tool {n}): no training."""
import argparse
import csv


def summarise(path):
    with open(path, newline="") as handle:
        return sum(1 for _ in csv.reader(handle))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    print(summarise(parser.parse_args().path) * {n})
'''

EVALUATE = '''"""Evaluate a checkpoint of project {project} (script {n})."""
import argparse

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", default="results/{project}/model_{n}.pt")
    print(parser.parse_args().checkpoint)
'''

CONFIG = '''"""Settings {n} of project {project}."""
epochs = {e}
batch_size = 32
learning_rate = 1e-3 * {e}
layers = [64, 64, {n}]
'''


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (_OLD, _OLD))


def found_by_content(index: int) -> bool:
    """Whether training script `index` is a `run_*.py` found by its content, not its name."""
    return index % 10 == 9


def training_script(index: int, project: str, kind: str) -> str:
    """A distinct realistic training script; every third is click and every seventh HF style,
    except those found by content, which call the project's own loop."""
    values = dict(kind=kind, project=project, n=index, e=1 + index % 50, b=8 * (1 + index % 16),
                  lr=f"{1e-4 * (1 + index % 9):.4f}", h=64 * (1 + index % 8), d=index % 9)
    if found_by_content(index):
        return RUN.format(**values)
    if index % 7 == 6:
        return HF.format(**values)
    if index % 3 == 2:
        return CLICK.format(**values)
    epochs = "num-epochs" if index % 2 else "epochs"
    return ARGPARSE.format(epochs=epochs, epochs_dest=epochs.replace("-", "_"), **values)


def _filler(index: int, project: str) -> tuple[str, str]:
    """(relative path inside the project, text) of ordinary file number `index`."""
    kind = index % 4
    folder = ("src", "data", "configs", "tests")[kind]
    sub = f"{folder}/part_{index // (4 * PER_DIR):03d}"
    values = dict(n=index, project=project, e=1 + index % 50)
    if kind == 0:
        variant = (index // 4) % 20
        if variant in (1, 2):
            return f"{sub}/engine_{index}.py", TRAINING_HELPER.format(**values)
        if variant in (3, 4):
            return f"{sub}/stats_{index}.py", TOOL.format(**values)
        if variant == 5:
            return f"{sub}/evaluate_{index}.py", EVALUATE.format(**values)
        return f"{sub}/module_{index}.py", MODULE.format(**values)
    if kind == 1:
        return f"{sub}/sample_{index}.csv", "id,value\n" + "".join(f"{i},{i * index}\n" for i in range(8))
    if kind == 2:
        if (index // 4) % 4 == 0:
            return f"{sub}/settings_{index}.py", CONFIG.format(**values)
        return f"{sub}/run_{index}.yaml", f"epochs: {index % 50}\nbatch_size: 32\nname: {project}-{index}\n"
    return f"{sub}/test_module_{index}.py", f"def test_{index}():\n    assert {index} == {index}\n"


def _venv(root: Path, files: int) -> None:
    """A virtual environment (found by its pyvenv.cfg) of `files` files, 1 in 50 named train_*.py."""
    (root / "lib/python3.11/site-packages").mkdir(parents=True)
    _write(root / "pyvenv.cfg", "home = /usr/bin\nversion = 3.11.7\n")
    for i in range(files - 1):
        folder = root / f"lib/python3.11/site-packages/pkg_{i // PER_DIR:04d}"
        if i % PER_DIR == 0:
            folder.mkdir()
        name = f"train_util_{i}.py" if i % 50 == 7 else f"mod_{i}.py"
        _write(folder / name, MODULE.format(n=i, project="venv"))


def project_count(scripts: int) -> int:
    """Projects the scripts are spread over: up to 100, each with at least one script of every kind."""
    return min(MAX_PROJECTS, scripts // len(KINDS))


def generate(root: Path, files: int, scripts: int, venv_files: int) -> None:
    """Write the repository under `root` (which must not exist yet)."""
    projects = project_count(scripts) if scripts >= len(KINDS) else 1
    other = files - scripts - venv_files - 2 - 2 * projects
    if other < 0 or scripts < len(KINDS) or scripts % len(KINDS):
        raise ValueError("need scripts a multiple of 10 and files >= scripts + venv_files + 2 + 2 per project")
    root.mkdir(parents=True)
    _write(root / "pyproject.toml", "[project]\nname = 'generated'\n")
    _write(root / ".gitignore", "*.pyc\n__pycache__/\n/results/\n")
    _venv(root / "venv-py311", venv_files)
    names = [f"proj_{p:03d}" for p in range(projects)]
    for project in names:
        (root / "projects" / project / "src").mkdir(parents=True)
        _write(root / "projects" / project / "src" / "engine.py", ENGINE.format(project=project))
        _write(root / "projects" / project / "src" / "loop.py", LOOP.format(project=project))
    for i in range(scripts):
        project = names[i % projects]
        kind = KINDS[(i // projects) % len(KINDS)]
        if found_by_content(i):
            name = f"run_{kind}_{i}.py"
        else:
            name = f"train_{kind}.py" if i < projects * len(KINDS) else f"train_{kind}_{i}.py"
        _write(root / "projects" / project / name, training_script(i, project, kind))
    for i in range(other):
        project = names[i % projects]
        rel, text = _filler(i // projects, project)
        path = root / "projects" / project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--scripts", type=int, default=1_000)
    parser.add_argument("--venv-files", type=int, default=20_000)
    args = parser.parse_args()
    generate(args.root, args.files, args.scripts, args.venv_files)


if __name__ == "__main__":
    main()
