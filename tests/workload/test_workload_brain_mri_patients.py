"""Brain MRI slices grouped by patient (`<class>/<patient>/*.npy`): cross-validation keeps
each patient's slices on one side of every fold, and metrics.json says how it split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medmodels.errors import DataError
from medmodels.imaging.experiment import fold_plan
from medmodels.imaging.slices import load_slice_folder
from medmodels.metrics import CLASSIFICATION
from medmodels.splits import make_splitter

from .support import CANONICAL, QUICK, read_metrics, run_script

PATIENTS = 10


def slice_set(root: Path, patients: int = PATIENTS, grouped: bool = True) -> Path:
    """Per patient 3 normal slices; every other patient also 2 lesion slices (so a patient can
    be under both classes, as in real scans where only some slices show the finding)."""
    rng = np.random.default_rng(0)
    for p in range(patients):
        for cls, count in (("normal", 3), ("lesion", 2 if p % 2 else 0)):
            for k in range(count):
                folder = root / cls / f"patient{p:02d}" if grouped else root / cls
                folder.mkdir(parents=True, exist_ok=True)
                image = rng.normal(0, 1, (12, 12)) + (3.0 if cls == "lesion" else 0.0) * (k + 1)
                np.save(folder / (f"s{k}.npy" if grouped else f"patient{p:02d}_s{k}.npy"), image)
    return root


def leaks(groups: np.ndarray, plan) -> list[str]:
    """Patients with slices on both sides of some fold."""
    return sorted({g for train, test in plan for g in set(groups[train]) & set(groups[test])})


def test_patient_folders_give_each_slice_its_patient(tmp_path: Path) -> None:
    data = load_slice_folder(slice_set(tmp_path), 16)
    assert data.classes == ("normal", "lesion") and len(data.labels) == PATIENTS * 3 + PATIENTS // 2 * 2
    assert data.split == "patient" and len(set(data.groups)) == PATIENTS
    assert data.describe()["n_groups"] == PATIENTS
    assert data.describe()["layout"] == "npy-class-patient-folders"
    flat = load_slice_folder(slice_set(tmp_path / "flat", grouped=False), 16)
    assert flat.groups is None and flat.split == "slice" and flat.describe()["n_groups"] is None


@pytest.mark.parametrize("folds, seed", [(2, 0), (3, 1), (5, 7)])
def test_no_patient_is_on_both_sides_of_a_fold(tmp_path: Path, folds: int, seed: int) -> None:
    data = load_slice_folder(slice_set(tmp_path), 16)
    plan = fold_plan(data, folds, seed)
    assert len(plan) == folds and leaks(data.groups, plan) == []
    tested = np.concatenate([test for _, test in plan])
    assert sorted(tested) == list(range(len(data.labels)))              # every slice tested once
    for _, test in plan:
        assert set(data.labels[test]) == {0, 1}                           # both classes in each test fold
    by_slice = make_splitter(CLASSIFICATION, folds, seed, grouped=False).split(data.labels, data.labels)
    assert leaks(data.groups, list(by_slice))                             # what splitting by slice does


def test_a_grouped_run_says_it_split_by_patient(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_script(CANONICAL["brain_mri"], "--data-path", slice_set(tmp_path / "data"), *QUICK,
                      "--image-size", "16", "--batch-size", "8", "--output-dir", out)
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(out)
    assert metrics["split"] == "patient" and metrics["cv"] == "StratifiedGroupKFold"
    assert metrics["data"]["n_groups"] == PATIENTS and metrics["source"] == "file"
    assert metrics["dataset"] == f"brain_mri:{tmp_path / 'data'}"


def loose_slice(root: Path) -> None:
    np.save(root / "normal" / "loose.npy", np.zeros((8, 8)))


def one_flat_class(root: Path) -> None:
    for patient in (root / "lesion").iterdir():
        for k, image in enumerate(sorted(patient.iterdir())):
            image.rename(root / "lesion" / f"{patient.name}_{k}.npy")
        patient.rmdir()


def empty_patient(root: Path) -> None:
    (root / "normal" / "patient99").mkdir()


@pytest.mark.parametrize("arrange, message", [
    (loose_slice, "loose.npy: a slice outside a patient folder"),
    (one_flat_class, "class folder 'normal' has patient folders but 'lesion' does not"),
    (empty_patient, "patient99: patient folder has no .npy slices"),
])
def test_inconsistent_patient_folders_are_errors(tmp_path: Path, arrange, message: str) -> None:
    root = slice_set(tmp_path)
    arrange(root)
    with pytest.raises(DataError, match=message):
        load_slice_folder(root, 16)


def test_too_few_patients_for_the_folds_is_a_data_error(tmp_path: Path) -> None:
    proc = run_script(CANONICAL["brain_mri"], "--data-path", slice_set(tmp_path / "data", patients=4),
                      "--folds", "3", "--epochs", "1", "--image-size", "16", "--output-dir", tmp_path / "out")
    assert proc.returncode == 2
    assert "3 folds need patients of every class in each fold; class 'lesion' comes from 2 patients" in proc.stderr
