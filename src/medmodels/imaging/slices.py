"""Load a folder of `.npy` slices arranged in one subfolder per class, validating each file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .imageset import ImageSet, class_order, standardise


def _read_slice(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from None
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.squeeze(axis=0 if array.shape[0] == 1 else -1)
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D slice, got shape {array.shape}")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{path}: expected numeric values, got dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise DataError(f"{path}: contains NaN or infinite values")
    return array.astype(np.float32)


def load_slice_folder(root: Path, size: int) -> ImageSet:
    """Slices from root/<class>/*.npy, resized to size x size and standardised per slice."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (expected one subfolder of .npy slices per class)")
    folders = {d.name: d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")}
    if len(folders) < 2:
        raise DataError(f"{root}: expected at least 2 class subfolders of .npy slices, "
                        f"found {len(folders)}")
    classes = class_order(list(folders))
    images, labels, skipped = [], [], 0
    for label, name in enumerate(classes):
        files = sorted(folders[name].glob("*.npy"))
        if not files:
            raise DataError(f"{folders[name]}: class folder has no .npy slices")
        skipped += sum(1 for f in folders[name].iterdir() if f.is_file() and f.suffix != ".npy")
        images.extend(standardise(_read_slice(f), size) for f in files)
        labels.extend([label] * len(files))
    notes = (f"{skipped} files without the .npy suffix ignored",) if skipped else ()
    return ImageSet(images=np.stack(images), labels=np.asarray(labels, dtype=np.int64),
                    classes=tuple(classes), source="file", path=str(root), notes=notes)
