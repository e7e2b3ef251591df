"""Load a folder of `.npy` slices arranged in one subfolder per class, validating each file.

Two layouts: `root/<class>/*.npy` (each slice on its own), or `root/<class>/<patient>/*.npy`
(slices grouped by patient, so cross-validation can keep a patient's slices together; the
same patient folder name under two classes is one patient).
"""

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


def _subfolders(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _others(folder: Path) -> int:
    """Files in `folder` that are not slices (ignored, and counted in the notes)."""
    return sum(1 for f in folder.iterdir() if f.is_file() and f.suffix != ".npy")


def _class_slices(folder: Path, by_patient: bool) -> tuple[list[Path], list[str], int]:
    """A class folder's slice files, the patient of each ("" when not grouped), and ignored files."""
    loose = sorted(folder.glob("*.npy"))
    if not by_patient:
        if not loose:
            raise DataError(f"{folder}: class folder has no .npy slices")
        return loose, [""] * len(loose), _others(folder)
    if loose:
        raise DataError(f"{loose[0]}: a slice outside a patient folder; with patient folders, "
                        f"every slice goes in <class>/<patient>/*.npy")
    files, patients, skipped = [], [], _others(folder)
    for patient in _subfolders(folder):
        slices = sorted(patient.glob("*.npy"))
        if not slices:
            raise DataError(f"{patient}: patient folder has no .npy slices")
        files += slices
        patients += [patient.name] * len(slices)
        skipped += _others(patient)
    return files, patients, skipped


def load_slice_folder(root: Path, size: int) -> ImageSet:
    """Slices from root/<class>/*.npy or root/<class>/<patient>/*.npy, resized to size x size
    and standardised per slice; with patient folders, `groups` holds each slice's patient."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (expected one subfolder of .npy slices per class)")
    folders = {d.name: d for d in _subfolders(root)}
    if len(folders) < 2:
        raise DataError(f"{root}: expected at least 2 class subfolders of .npy slices, "
                        f"found {len(folders)}")
    classes = class_order(list(folders))
    grouped = [name for name in classes if _subfolders(folders[name])]
    if grouped and len(grouped) < len(classes):
        flat = next(name for name in classes if name not in grouped)
        raise DataError(f"{root}: class folder {grouped[0]!r} has patient folders but {flat!r} "
                        f"does not; use <class>/<patient>/*.npy for every class or for none")
    images, labels, patients, skipped = [], [], [], 0
    for label, name in enumerate(classes):
        files, owners, ignored = _class_slices(folders[name], bool(grouped))
        images.extend(standardise(_read_slice(f), size) for f in files)
        labels.extend([label] * len(files))
        patients += owners
        skipped += ignored
    notes = (f"{skipped} files without the .npy suffix ignored",) if skipped else ()
    return ImageSet(images=np.stack(images), labels=np.asarray(labels, dtype=np.int64),
                    classes=tuple(classes), source="file", path=str(root), notes=notes,
                    groups=np.asarray(patients) if grouped else None)
