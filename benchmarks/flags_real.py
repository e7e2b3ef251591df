"""One-off: role accuracy on public training scripts kept outside the repository.

    python -m benchmarks.flags_real DIR        # DIR holds the files named in real_scripts/labels.json

Scores runall and the naive rule against the hand labels, and stores the figures (with the
repository, path, commit and sha256 of every file) in real_scripts/results.json, which
`python -m benchmarks` copies into RESULTS.md without fetching anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .common import REPO, Section
from .flag_scoring import pct, runall_roles, naive_roles, score, score_table

HERE = Path(__file__).resolve().parent / "real_scripts"
LABELS, RESULTS = HERE / "labels.json", HERE / "results.json"


def measure(folder: Path, labels: dict[str, Any]) -> dict[str, Any]:
    """Score the labelled files found in `folder`; a missing or changed file is an error."""
    scripts = labels["scripts"]
    files = {name: folder / name for name in sorted(scripts)}
    for name, path in files.items():
        if not path.is_file():
            raise SystemExit(f"{path}: missing (fetch {scripts[name]['repo']} {scripts[name]['path']} "
                             f"at {scripts[name]['commit']})")
        if hashlib.sha256(path.read_bytes()).hexdigest() != scripts[name]["sha256"]:
            raise SystemExit(f"{path}: sha256 differs from the labelled copy")
    scores = score(files, {name: entry["roles"] for name, entry in scripts.items()})
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    return {
        "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runall_commit": commit,
        "table": score_table(scores),
        "all": {method: {"precision": pct(c["all"].precision), "recall": pct(c["all"].recall)}
                for method, c in scores.items()},
        "files": [{"file": name, "repo": entry["repo"], "path": entry["path"], "commit": entry["commit"],
                   "sha256": entry["sha256"], "truth": entry["roles"],
                   "runall": runall_roles(files[name]), "naive": naive_roles(files[name])}
                  for name, entry in scripts.items()],
    }


def _found(roles: dict[str, str | None]) -> str:
    return " ".join(f"{role}={option}" for role, option in roles.items() if option) or "-"


def stored_section(path: Path = RESULTS) -> Section | None:
    """The stored one-off figures as a RESULTS.md section, or None before the first measurement."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    files = [["repository", "path", "commit", "labelled roles", "runall", "naive"]] + [
        [f["repo"], f["path"], f["commit"][:12], _found(f["truth"]), _found(f["runall"]), _found(f["naive"])]
        for f in data["files"]]
    ours, naive = data["all"]["runall"], data["all"]["naive"]
    return Section(
        key="flags_real", title=f"Flag-sniffing accuracy: {len(data['files'])} public training scripts "
                                f"(one-off, measured {data['measured']})",
        target="", met=None,
        headline=f"all roles: runall precision {ours['precision']} recall {ours['recall']}; "
                 f"naive precision {naive['precision']} recall {naive['recall']}",
        commands=["python -m benchmarks.flags_real DIR   # DIR: the files below, fetched by hand"],
        table=data["table"], details=files,
        notes=[f"Measured once with runall {data['runall_commit']}; `make bench` copies these stored "
               "figures (benchmarks/real_scripts/results.json) and fetches nothing. The files are not "
               "in this repository; labels, rules and each file's sha256 are in "
               "benchmarks/real_scripts/labels.json.",
               "Same scoring as the corpus: exact option string, a wrong spelling counts both ways."],
        raw=data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder holding the labelled files")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    data = measure(args.folder, json.loads(args.labels.read_text(encoding="utf-8")))
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    for row in data["table"]:
        print("  ".join(f"{cell:>16}" for cell in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
