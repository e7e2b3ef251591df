"""Seeded MRI-like phantom slices with and without lesion-like structures.

Each slice is an axial head outline with skull, grey and white matter, two ventricles,
smooth tissue texture, a bias field, small bright vessel dots and Rician noise. A "lesion"
slice adds one to three larger hyperintense blobs in the white matter (the known signal);
vessel dots appear in both classes, so brightness alone is not the answer.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from .imageset import ImageSet, standardise

CLASSES = ("normal", "lesion")


def _blob(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sigma: float) -> np.ndarray:
    return np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma ** 2))


def _slice(rng: np.random.Generator, size: int, lesion: bool) -> np.ndarray:
    y, x = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    angle = rng.uniform(-0.3, 0.3)
    cx, cy = rng.normal(0, 0.03, 2)
    a, b = rng.uniform(0.72, 0.86), rng.uniform(0.58, 0.7)
    u = (np.cos(angle) * (x - cx) + np.sin(angle) * (y - cy)) / a
    v = (-np.sin(angle) * (x - cx) + np.cos(angle) * (y - cy)) / b
    r = np.hypot(u, v)
    brain = 1 / (1 + np.exp((r - 0.88) * 40))
    white = 1 / (1 + np.exp((r - rng.uniform(0.5, 0.62)) * 25))
    image = 0.8 * ((r > 0.93) & (r < 1.03)) + brain * (0.45 + 0.15 * white)
    image += brain * gaussian_filter(rng.normal(0, 1, (size, size)), 2.0) * 0.25
    for side in (-1, 1):  # ventricles: dark, roughly symmetric
        ventricle = ((u - side * rng.uniform(0.1, 0.16)) / rng.uniform(0.06, 0.1)) ** 2 \
            + ((v + 0.05) / rng.uniform(0.18, 0.3)) ** 2 < 1
        image = np.where(ventricle, 0.12, image)
    for _ in range(rng.integers(0, 4)):  # vessels: tiny bright dots, either class
        dr, dt = rng.uniform(0.2, 0.8), rng.uniform(0, 2 * np.pi)
        image += 0.25 * _blob(u, v, dr * np.cos(dt), dr * np.sin(dt), 0.025) * brain
    if lesion:
        for _ in range(rng.integers(1, 4)):
            dr, dt = rng.uniform(0.2, 0.55), rng.uniform(0, 2 * np.pi)
            image += rng.uniform(0.4, 0.7) * _blob(u, v, dr * np.cos(dt), dr * np.sin(dt),
                                                    rng.uniform(0.05, 0.09)) * brain
    gx, gy = rng.normal(0, 0.12, 2)
    image *= 1 + gx * x + gy * y  # bias field
    sigma = 0.05
    return np.hypot(image + rng.normal(0, sigma, image.shape), rng.normal(0, sigma, image.shape))


def make_phantoms(count: int, size: int, seed: int) -> ImageSet:
    """`count` slices of size x size, half with lesions, in a seeded random order."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % 2)
    images = np.stack([standardise(_slice(rng, size, bool(label)), size) for label in labels])
    return ImageSet(images=images, labels=labels.astype(np.int64), classes=CLASSES,
                    source="synthetic")
