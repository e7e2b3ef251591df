"""The in-memory form of a labelled set of 2-D slices."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import zoom

NEGATIVE_CLASS_NAMES = ("normal", "healthy", "control", "negative", "no", "no_lesion",
                        "no_tumor", "notumor")


@dataclass(frozen=True)
class ImageSet:
    """Slices (N, H, W) float32, standardised per slice; labels index into `classes`."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    source: str               # "synthetic" or "file"
    path: str | None = None
    notes: tuple[str, ...] = ()
    groups: np.ndarray | None = None   # the patient of each slice, from patient folders

    @property
    def split(self) -> str:
        """What cross-validation keeps together: "patient" (all of a patient's slices) or "slice"."""
        return "slice" if self.groups is None else "patient"

    def digest(self) -> str:
        """A short content hash: a checkpoint only resumes on the very same data."""
        sha = hashlib.sha256(self.images.tobytes())
        sha.update(self.labels.astype(np.int64).tobytes())
        if self.groups is not None:
            sha.update("\0".join(self.groups.tolist()).encode())
        return sha.hexdigest()[:16]

    def describe(self) -> dict:
        """The `data` section of metrics.json."""
        counts = np.bincount(self.labels, minlength=len(self.classes))
        layout = "npy-class-folders" if self.groups is None else "npy-class-patient-folders"
        return {"path": self.path, "layout": layout, "target": "class",
                "n_samples": int(len(self.labels)), "n_features": int(self.images[0].size),
                "image_shape": list(self.images.shape[1:]), "classes": list(self.classes),
                "class_counts": {name: int(c) for name, c in zip(self.classes, counts)},
                "n_groups": None if self.groups is None else int(len(np.unique(self.groups))),
                "ignored_columns": [], "notes": list(self.notes)}


def class_order(names: list[str]) -> list[str]:
    """Negative-sounding class names ("normal", "healthy", ...) first, then alphabetical, so
    that in a binary task the positive class is the finding (label 1)."""
    return sorted(names, key=lambda name: (name.lower() not in NEGATIVE_CLASS_NAMES, name))


def standardise(image: np.ndarray, size: int) -> np.ndarray:
    """Resize to size x size (bilinear) and scale to zero mean, unit variance."""
    if image.shape != (size, size):
        image = zoom(image, (size / image.shape[0], size / image.shape[1]), order=1)
    image = image.astype(np.float32)
    return (image - image.mean()) / (image.std() + 1e-6)
