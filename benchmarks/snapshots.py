"""Public repositories for the real-repository benchmarks, checked out from local snapshots.

The benchmarks that score runall on code nobody here wrote (discovery and flags on whole
public repositories) never copy that code into this repository: they name each repository
and commit, and read it from a snapshot brought onto the machine beforehand, a bare git
directory at `$RUNALL_SNAPSHOTS/<owner>+<name>/repo` (default `/work/.mirror`). Only text
source files are checked out (Python, YAML, TOML, INI/CFG, `.gitignore`), into
`benchmarks/.work/snapshots/<owner>+<name>@<commit12>/`, once; later calls reuse it.

When a snapshot (or its commit) is absent, as in CI, `checkout` returns None and the
benchmark reports the repository as skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "snapshots"
SOURCE_SUFFIXES = (".py", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".gitignore")
_DONE = ".checked-out"


def snapshots_dir() -> Path:
    """Where the bare snapshots live: `$RUNALL_SNAPSHOTS`, else /work/.mirror."""
    return Path(os.environ.get("RUNALL_SNAPSHOTS", "/work/.mirror"))


def git_dir(repo: str) -> Path | None:
    """The bare git directory of `owner/name`'s snapshot, or None when it is not here."""
    path = snapshots_dir() / repo.replace("/", "+") / "repo"
    for candidate in (path, path / ".git"):     # a bare directory, or a clone's .git
        if (candidate / "HEAD").is_file():
            return candidate
    return None


def head_commit(repo: str) -> str | None:
    """The commit the snapshot's HEAD names (what a labeller records), or None."""
    found = git_dir(repo)
    if found is None:
        return None
    done = subprocess.run(["git", "--git-dir", str(found), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def checkout(repo: str, commit: str, work: Path = WORK) -> Path | None:
    """A work tree of `repo` at `commit` holding its text source files, or None when the
    snapshot or the commit is not available here."""
    found = git_dir(repo)
    if found is None:
        return None
    dest = work / f"{repo.replace('/', '+')}@{commit[:12]}"
    if (dest / _DONE).is_file():
        return dest
    known = subprocess.run(["git", "--git-dir", str(found), "cat-file", "-e", f"{commit}^{{commit}}"],
                           capture_output=True)
    if known.returncode != 0:
        return None
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    _write_sources(found, commit, dest)
    (dest / _DONE).write_text(f"{repo} {commit}\n", encoding="utf-8")
    return dest


def _write_sources(found: Path, commit: str, dest: Path) -> None:
    """Write the commit's text source blobs under `dest`; blobs the snapshot lacks are skipped."""
    listing = subprocess.run(["git", "--git-dir", str(found), "ls-tree", "-r", "-z", commit],
                             capture_output=True, check=True).stdout.decode("utf-8", "surrogateescape")
    wanted: list[tuple[str, str]] = []
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, kind, obj = meta.split()
        if kind == "blob" and mode in ("100644", "100755") and path.endswith(SOURCE_SUFFIXES):
            wanted.append((obj, path))
    if not wanted:
        return
    batch = subprocess.run(["git", "--git-dir", str(found), "cat-file", "--batch"],
                           input="".join(f"{obj}\n" for obj, _ in wanted).encode(), capture_output=True,
                           check=True).stdout
    at = 0
    for obj, path in wanted:
        header_end = batch.index(b"\n", at)
        header = batch[at:header_end].split()
        at = header_end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(batch[at:at + size])
        at += size + 1
