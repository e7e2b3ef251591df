"""Whether a script trains with a GPU framework, read from its imports (nothing is imported).

A script counts when it, or a module of the repository it imports (a few levels deep, through
`plan.sources`), imports torch, JAX, TensorFlow or a library built on them. A parallel run
gives such a job one GPU of its own when the machine has GPUs (`run.resources`).
"""

from __future__ import annotations

import ast
from pathlib import Path

from runall.plan.sources import Sources

GPU_FRAMEWORKS = frozenset({
    "torch", "jax", "flax", "tensorflow", "keras", "lightning", "pytorch_lightning", "accelerate", "deepspeed",
    "transformers", "diffusers", "timm", "ultralytics", "mxnet", "paddle", "cupy", "tinygrad",
})
DEPTH = 3       # the script, and repository modules up to this many imports away


def uses_gpu_framework(sources: Sources, script: Path, depth: int = DEPTH) -> bool:
    """True when `script` or the repository modules it imports import a GPU framework."""
    seen: set[Path] = set()
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
