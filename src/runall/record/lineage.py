"""Lineage: what each job's model came from, recorded in the manifest when a run starts.

- code: git commit, dirty flag and a hash of the diff against it, the script's sha256;
- data: every file or folder passed through the job's data-path option: size, mtime and
  sha256 (folders: of their files' paths and hashes), cached by size and mtime;
- settings: the resolved argv, the environment variables set for the job, the launcher;
- environment: Python, the versions of key packages and a hash of every installed
  distribution (a `pip freeze`, read from the `.dist-info` folders on `sys.path`, importing
  nothing), host, GPUs.

The environment is recorded once per run start (`meta["environments"]`, keyed by its own
hash) and each job's entry names it. A job's `hash` covers code, data contents, settings and
packages, not where or when (host, GPUs, file times, allocated GPU ids), so two runs of the
same commit, data and argv show the same hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from runall.model import Job
from runall.plan.launchers import processes
from runall.plan.settings import cache_dir
from runall.record.manifest import Manifest, write_text_atomic

KEY_PACKAGES = ("torch", "scikit-learn", "numpy")
UNHASHED_ENV = ("CUDA_VISIBLE_DEVICES",)      # set per allocation: where, not what
_CHUNK = 1 << 20
_INFO_FOLDER = re.compile(r"([A-Za-z0-9_.]+)-([^-]+?)(?:-py\d[^-]*)?\.(?:dist|egg)-info")   # name-version[-pyX.Y]


def digest(value: Any) -> str:
    """sha256 of a JSON value in canonical form."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's contents, read in chunks; OSError when it cannot be read."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def sha256_or_none(path: Path) -> str | None:
    """`file_sha256`, or None for a file that cannot be read."""
    try:
        return file_sha256(path)
    except OSError:
        return None


# -- the environment: once per run start -------------------------------------------------------

def environment(root: Path, info: Mapping[str, Any]) -> dict[str, Any]:
    """Git state (with a hash of the diff), Python, key packages, all distributions, host, GPUs;
    `info` is the run's `environment_info` (git, host, Python), asked for once."""
    git = dict(info["git"])
    git["diff_sha256"] = _diff_sha256(root) if git.get("dirty") else None
    distributions = _distributions()
    return {"git": git, "python": info["python"], "host": info["host"],
            "packages": {name: distributions.get(name) for name in KEY_PACKAGES},
            "freeze_sha256": digest(sorted(f"{n}=={v}" for n, v in distributions.items())),
            "distributions": len(distributions), "gpus": _gpu_models()}


def _diff_sha256(root: Path) -> str | None:
    """sha256 of `git diff HEAD` (staged and unstaged changes to tracked files)."""
    try:
        done = subprocess.run(["git", "diff", "HEAD", "--binary", "--no-ext-diff", "--no-color"], cwd=root,
                              capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return hashlib.sha256(done.stdout).hexdigest() if done.returncode == 0 else None


def _distributions() -> dict[str, str]:
    """Every installed distribution of this interpreter: normalised name -> version, first on
    `sys.path` wins. Read from the `NAME-VERSION.dist-info` folder's name where it has one
    (importing importlib.metadata and parsing every METADATA file took 0.1 s per run), else
    from that distribution's metadata headers."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as listing:
                names = sorted(e.name for e in listing if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        for folder in names:
            named = _INFO_FOLDER.fullmatch(folder)
            name, version = (named[1], named[2]) if named else _metadata(Path(entry or ".", folder))
            name = name.lower().replace("_", "-").replace(".", "-")
            if name:
                found.setdefault(name, version)
    return found


def _metadata(folder: Path) -> tuple[str, str]:
    """(name, version) from the `Name:` and `Version:` headers of a distribution folder's
    METADATA (PKG-INFO in an .egg-info), for a folder whose name does not say; ("", "") if unreadable."""
    headers: dict[str, str] = {}
    for file in ("METADATA", "PKG-INFO"):
        try:
            with open(folder / file, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if not line.strip():
                        break                       # the headers end at the first blank line
                    key, sep, value = line.partition(":")
                    if sep and key in ("Name", "Version"):
                        headers.setdefault(key, value.strip())
            break
        except OSError:
            continue
    return headers.get("Name", ""), headers.get("Version", "")


def _gpu_models() -> list[str]:
    """GPU model names from nvidia-smi; [] where there is none."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


# -- one entry per job ---------------------------------------------------------------------------

class DataHashes:
    """sha256 of files, reused while a file's size and mtime stay the same (in the repository's
    cache folder, outside it)."""

    def __init__(self, root: Path) -> None:
        self.path = cache_dir(root) / "data-hashes.json"
        try:
            self.known: dict[str, list[Any]] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}
        self.changed = False

    def file(self, path: Path) -> tuple[int, float, str]:
        """(size, mtime, sha256) of a file."""
        stat = path.stat()
        key = str(path.resolve())
        cached = self.known.get(key)
        if cached and cached[:2] == [stat.st_size, stat.st_mtime_ns]:
            return stat.st_size, stat.st_mtime, cached[2]
        sha = file_sha256(path)
        self.known[key] = [stat.st_size, stat.st_mtime_ns, sha]
        self.changed = True
        return stat.st_size, stat.st_mtime, sha

    def entry(self, given: str, root: Path) -> dict[str, Any]:
        """What a data path holds: a file's size, mtime and sha256, or a folder's totals and the
        sha256 of its files' relative paths and hashes."""
        path = (root / given) if not os.path.isabs(given) else Path(given)
        try:
            if path.is_file():
                size, mtime, sha = self.file(path)
                return {"path": given, "kind": "file", "size": size, "mtime": mtime, "sha256": sha}
            if path.is_dir():
                lines, size, mtime, count = hashlib.sha256(), 0, 0.0, 0
                for file in _files(path):
                    file_size, file_mtime, sha = self.file(file)
                    lines.update(f"{file.relative_to(path).as_posix()}\0{sha}\n".encode())
                    size, mtime, count = size + file_size, max(mtime, file_mtime), count + 1
                return {"path": given, "kind": "folder", "files": count, "size": size, "mtime": mtime,
                        "sha256": lines.hexdigest()}
        except OSError as exc:
            return {"path": given, "kind": "unreadable", "error": str(exc), "sha256": None}
        return {"path": given, "kind": "missing", "sha256": None}

    def save(self) -> None:
        if self.changed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path, json.dumps(self.known))
            self.changed = False


def _files(folder: Path) -> Iterable[Path]:
    """Every file below `folder`, in a fixed order."""
    for current, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            yield Path(current) / name


def data_paths(job: Job) -> list[str]:
    """The values the job's argv passes through its data-path option (`--data-path X`, `--data-path=X`)."""
    option = job.roles.get("data_path")
    if not option:
        return []
    argv, found = job.argv, []
    for i, token in enumerate(argv):
        if token == option and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif token.startswith(option + "="):
            found.append(token.partition("=")[2])
    return found


def job_entry(job: Job, env: Mapping[str, str], environment_id: str, root: Path, script_sha: str | None,
              hashes: DataHashes, basis: str) -> dict[str, Any]:
    """A job's lineage: code, data, settings, the id of its environment, and its hash.

    `env` is what the job's attempts set on top of the orchestrator's environment (sorted by
    name; equal ones may be one shared dict), `script_sha` the digest of its script, `basis`
    what the hash takes from the environment record (`hash_basis`)."""
    launcher = {"name": job.launcher, "procs": processes(job), "nodes": job.nodes} if job.launcher else None
    entry = {
        "environment": environment_id,
        "code": {"script": job.script, "script_sha256": script_sha},
        "data": [hashes.entry(path, root) for path in data_paths(job)],
        "settings": {"argv": job.argv, "env": env, "launcher": launcher},
    }
    entry["hash"] = digest({
        "basis": basis, "script_sha256": script_sha, "data": [(d["path"], d.get("sha256")) for d in entry["data"]],
        "argv": job.argv, "env": {k: v for k, v in env.items() if k not in UNHASHED_ENV}, "launcher": launcher})
    return entry


def hash_basis(context: Mapping[str, Any]) -> str:
    """The digest of what every job's hash takes from the environment record (git state, Python,
    packages), computed once per run rather than once per job."""
    return digest({"git": {k: context["git"].get(k) for k in ("commit", "diff_sha256")},
                   "python": context["python"].get("version"), "packages": context["packages"],
                   "freeze_sha256": context["freeze_sha256"]})


def record(manifest: Manifest, jobs: Iterable[Job], root: Path, envs: Mapping[str, Mapping[str, str]]) -> None:
    """Compute the environment and every job's entry (`envs`: each job's variables) and put
    them in the manifest."""
    context = environment(root, {key: manifest.meta[key] for key in ("git", "host", "python")})
    environment_id = digest(context)[:16]
    basis = hash_basis(context)
    hashes = DataHashes(root)
    jobs = list(jobs)
    scripts = {script: sha256_or_none(root / script) for script in {job.script for job in jobs}}
    shared: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}     # a grid's jobs share one env
    entries = {}
    for job in jobs:
        items = tuple(sorted(envs[job.id].items()))
        env = shared.setdefault(items, dict(items))
        entries[job.id] = job_entry(job, env, environment_id, root, scripts[job.script], hashes, basis)
    try:
        hashes.save()
    except OSError:
        pass                    # the cache only saves time
    manifest.record_lineage(environment_id, context, entries)


def view(meta: Mapping[str, Any], entry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A job's entry with its environment filled in (what `runall lineage` prints and the JSON
    report holds); None for a job without lineage."""
    if not entry:
        return None
    context = (meta.get("environments") or {}).get(entry.get("environment"), {})
    code = {**{k: (context.get("git") or {}).get(k) for k in ("commit", "dirty", "diff_sha256")}, **entry["code"]}
    return {"hash": entry["hash"], "code": code, "data": entry["data"], "settings": entry["settings"],
            "environment": {k: context.get(k) for k in ("python", "packages", "freeze_sha256", "distributions",
                                                        "host", "gpus")}}
