"""The command's entry point (`runall`, `run_all_training.py`): `--list` from the listing cache
when nothing it was made from changed (`runall.listcache`), else the CLI (`runall.cli`)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from runall import listcache

    if listcache.replay(args):
        return 0
    listcache.record(args)
    from runall.cli import main as run

    code = run(args)
    if code == 0:
        listcache.commit()
    return code
