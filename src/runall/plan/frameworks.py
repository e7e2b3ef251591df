"""Whether a script trains with a GPU framework, read from its imports (nothing is imported).

A script counts when it, or a module of the repository it imports (a few levels deep, through
`plan.sources`), imports torch, JAX, TensorFlow or a library built on them. A parallel run
gives such a job one GPU of its own when the machine has GPUs (`run.resources`). Answers are
cached (`frameworks.json` in `Settings.cache_dir`) by the content of every file looked at.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Iterable

from runall.plan.flags.cache import ContentCache
from runall.plan.sources import Sources

GPU_FRAMEWORKS = frozenset({
    "torch", "jax", "flax", "tensorflow", "keras", "lightning", "pytorch_lightning", "accelerate", "deepspeed",
    "transformers", "diffusers", "timm", "ultralytics", "mxnet", "paddle", "cupy", "tinygrad",
})
DEPTH = 3       # the script, and repository modules up to this many imports away
CACHE_VERSION = f"frameworks:1:{DEPTH}:{','.join(sorted(GPU_FRAMEWORKS))}"


def gpu_frameworks(root: Path, scripts: Iterable[str], cache_file: Path | None) -> dict[str, bool]:
    """For each script (relative to `root`): whether it uses a GPU framework. A script's answer
    is reused while every file it was read from keeps its content (`cache_file` None: no cache)."""
    cache = ContentCache(cache_file, CACHE_VERSION)
    sources: Sources | None = None
    found: dict[str, bool] = {}
    for script in dict.fromkeys(scripts):
        path = root / script
        key = os.path.abspath(path)
        entry = cache.get(key) if cache_file is not None else None
        if isinstance(entry, dict) and isinstance(entry.get("uses"), bool) and cache.fresh(entry.get("files")):
            found[script] = entry["uses"]
            continue
        sources = sources or Sources(root)
        seen: set[Path] = set()
        found[script] = uses_gpu_framework(sources, path, seen=seen)
        files = {str(file): digest for file in seen if (digest := cache.digest(file)) is not None}
        if files:
            cache.put(key, {"files": files, "uses": found[script]})
    cache.save()
    return found


def uses_gpu_framework(sources: Sources, script: Path, depth: int = DEPTH, seen: set[Path] | None = None) -> bool:
    """True when `script` or the repository modules it imports import a GPU framework (`seen`:
    filled with the files looked at)."""
    seen = set() if seen is None else seen
    frontier = [script.resolve()]
    for _ in range(depth + 1):
        following: list[Path] = []
        for path in frontier:
            if path in seen:
                continue
            seen.add(path)
            module = sources.module(path)
            if module is None:
                continue
            for name, level in _imports(module.tree):
                if level == 0 and name.split(".")[0] in GPU_FRAMEWORKS:
                    return True
                found = sources.resolve(path, name or None, level)
                if found is not None:
                    following.append(found)
        frontier = following
    return False


def _imports(tree: ast.Module) -> list[tuple[str, int]]:
    """(module, level) of every import statement, wherever it is; `from a import b` adds `a.b`."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found.append((base, node.level))
            found += [(f"{base}.{alias.name}" if base else alias.name, node.level) for alias in node.names]
    return found
