"""Run every benchmark and write RESULTS.md: `python -m benchmarks [--size tiny] [--only KEY ...]`."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

from . import (bench_discovery, bench_discovery_real, bench_dispatch, bench_flags, bench_makespan, bench_memory,
               bench_ray, bench_scale, bench_slurm, bench_startup, bench_threads, flags_corpus)
from .common import REPO, Section, load1, prepare_environment, shown
from .report import render, update

BENCHMARKS: dict[str, Callable[[bool, Path], Section]] = {   # in the order
    "dispatch": bench_dispatch.run,
    "makespan": bench_makespan.run,
    "discovery": bench_discovery.run,
    "discovery_real": bench_discovery_real.run,
    "startup": bench_startup.run,
    "threads": bench_threads.run,
    "flags": bench_flags.run,
    "memory": bench_memory.run,
    "ray": bench_ray.run,
    "flags_real": flags_corpus.run,
    "scale": bench_scale.run,
    "slurm_array": bench_slurm.run,
}
HERE = Path(__file__).resolve().parent


def failed(key: str, error: BaseException, kept: Path) -> Section:
    """A section standing for a benchmark that raised, so the others still get reported."""
    return Section(key=key, title=f"{key}: FAILED", target="", met=False, headline=f"error: {error}",
                   commands=[], table=[["traceback"], [traceback.format_exc().replace("\n", " / ")]],
                   notes=[f"Its files are kept in {kept} for a look."], load=(load1(), load1()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "tiny"), default="full",
                        help="tiny: every benchmark at a token size, to check that it still runs")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="KEY",
                        help=f"run only these ({', '.join(BENCHMARKS)})")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="the Markdown report")
    parser.add_argument("--update", action="store_true",
                        help="with --only: replace just those sections of --out, keeping the others (for "
                             "sections whose inputs, such as repository snapshots, are not on this machine)")
    parser.add_argument("--json", type=Path, help="also write every section, raw samples included")
    parser.add_argument("--work", type=Path, default=HERE / ".work",
                        help="scratch folder for generated trees (inside the repository)")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    if REPO not in work.parents:
        parser.error("--work must lie inside the repository (runall keeps outputs inside its root)")
    prepare_environment()
    if args.update and not (args.only and args.out.is_file()):
        parser.error("--update needs --only and an existing --out")
    keys = args.only or list(BENCHMARKS)
    started = time.perf_counter()
    sections: list[Section] = []
    for key in keys:
        print(f"benchmarks: {key} ...", file=sys.stderr, flush=True)
        try:
            sections.append(BENCHMARKS[key](args.size == "tiny", work / key))
        except Exception as exc:            # report it, run the rest, fail at the end
            sections.append(failed(key, exc, work / key))
        print(f"benchmarks: {key}: {sections[-1].headline}", file=sys.stderr, flush=True)
    for section in sections:
        if not section.title.endswith("FAILED"):
            shutil.rmtree(work / section.key, ignore_errors=True)
    if work.is_dir() and not any(work.iterdir()):
        work.rmdir()
    command = shown([sys.executable, "-m", "benchmarks", *(argv if argv is not None else sys.argv[1:])])
    seconds = time.perf_counter() - started
    if args.update:
        numbered = [(list(BENCHMARKS).index(key) + 1, section) for key, section in zip(keys, sections)]
        text = update(args.out.read_text(encoding="utf-8"), numbered, command, seconds)
    else:
        text = render(sections, command, seconds)
    args.out.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps([s.to_dict() for s in sections], indent=1) + "\n", encoding="utf-8")
    return 1 if any(s.title.endswith("FAILED") for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
