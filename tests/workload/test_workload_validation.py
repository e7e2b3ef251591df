"""Bad data gets one clear line naming the file, column or line, and exit code 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medmodels.data.csv_loader import load_csv
from medmodels.data.layouts import CARDIO_TRAIN, EFRON_DIABETES, PIMA, UCI_PARKINSONS
from medmodels.errors import DataError

from .support import CANONICAL, QUICK, run_script

PIMA_ROWS = [[6, 148, 72, 35, 0, 33.6, 0.627, 50, 1], [1, 85, 66, 29, 0, 26.6, 0.351, 31, 0],
             [8, 183, 64, 0, 0, 23.3, 0.672, 32, 1], [1, 89, 66, 23, 94, 28.1, 0.167, 21, 0]]


def pima(tmp_path: Path, rows: int = 40, drop: str | None = None) -> Path:
    frame = pd.DataFrame(PIMA_ROWS * (rows // len(PIMA_ROWS)), columns=[*PIMA.features, "Outcome"])
    path = tmp_path / "diabetes.csv"
    frame.drop(columns=[drop] if drop else []).to_csv(path, index=False)
    return path


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_target_column_exits_2_naming_it(tmp_path):
    proc = run_script(CANONICAL["diabetes"], "--data-path", pima(tmp_path, drop="Outcome"),
                      *QUICK, "--output-dir", tmp_path / "out")
    assert proc.returncode == 2
    assert "missing target column 'Outcome'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_non_numeric_value_exits_2_naming_column_and_line(tmp_path):
    path = pima(tmp_path)
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace("33.6", "thirty")
    path.write_text("\n".join(lines) + "\n")
    proc = run_script(CANONICAL["diabetes"], "--data-path", path, *QUICK,
                      "--output-dir", tmp_path / "out")
    assert proc.returncode == 2
    assert "line 6: column 'BMI' has non-numeric value 'thirty'" in proc.stderr


def test_empty_file_exits_2(tmp_path):
    proc = run_script(CANONICAL["cardiovascular"], "--data-path", write(tmp_path, ""), *QUICK,
                      "--output-dir", tmp_path / "out")
    assert proc.returncode == 2 and "file is empty" in proc.stderr


def test_a_valid_pima_file_trains_a_classifier(tmp_path):
    out = tmp_path / "out"
    proc = run_script(CANONICAL["diabetes"], "--data-path", pima(tmp_path), *QUICK,
                      "--output-dir", out)
    assert proc.returncode == 0, proc.stderr
    assert '"task": "classification"' in (out / "metrics.json").read_text()


@pytest.mark.parametrize("text, message", [
    ("age;gender\n", "missing target column 'cardio'"),
    ("id;age;gender;height;weight;ap_hi;ap_lo;cholesterol;gluc;smoke;alco;active;cardio\n",
     "header but no data rows"),
    ("id;age;gender;height;weight;ap_hi;ap_lo;cholesterol;gluc;smoke;alco;active;cardio\n"
     "0;18393;2;168;62;110;80;1;1;0;0;1;2\n", "line 2: target column 'cardio' has '2'"),
    ("id;age;gender;height;weight;ap_hi;ap_lo;cholesterol;gluc;smoke;alco;active;cardio\n"
     "0;18393;2;168;62;110;80;1;1;0;0;1;\n", "line 2: target column 'cardio' is empty"),
    ("id;age;gender;height;weight;ap_hi;ap_lo;cholesterol;gluc;smoke;alco;active;cardio\n"
     "0;18393;2;168;62;110;80;1;1;0;0;1;1\n".replace(";62;", ";;"), "column 'weight' has no values"),
    ("id;age;height;weight;ap_hi;ap_lo;cholesterol;gluc;smoke;alco;active;cardio\n1;2;3;4;5;6;7;8;9;10;11;1\n",
     "missing feature column 'gender'"),
])
def test_cardio_layout_errors_name_the_problem(tmp_path, text, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        load_csv(write(tmp_path, text), (CARDIO_TRAIN,))


def test_missing_file_and_folder_are_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "absent.csv", (PIMA,))
    with pytest.raises(DataError, match="is a folder"):
        load_csv(tmp_path, (PIMA,))


def test_layout_is_chosen_from_the_header(tmp_path):
    efron = "AGE\tSEX\tBMI\tBP\tS1\tS2\tS3\tS4\tS5\tS6\tY\n" \
            "59\t2\t32.1\t101\t157\t93.2\t38\t4\t4.8598\t87\t151\n"
    data = load_csv(write(tmp_path, efron, "diabetes.tab.txt"), (PIMA, EFRON_DIABETES))
    assert data.layout == "efron-diabetes" and data.task == "regression"
    assert data.target.tolist() == [151.0]


def test_cleaning_marks_unmeasured_and_implausible_values_missing(tmp_path):
    data = load_csv(pima(tmp_path, rows=8), (PIMA,))
    assert np.isnan(data.features["Insulin"].iloc[0])  # 0 insulin means not measured
    assert data.features["Pregnancies"].iloc[1] == 1   # 0 pregnancies is a real value
    assert any("'Insulin'" in note for note in data.notes)
    header = "id;age;gender;height;weight;ap_hi;ap_lo;cholesterol;gluc;smoke;alco;active;cardio\n"
    cardio = load_csv(write(tmp_path, header + "0;18393;2;168;62;14020;80;1;1;0;0;1;1\n"),
                      (CARDIO_TRAIN,))
    assert np.isnan(cardio.features["ap_hi"].iloc[0]) and cardio.ignored_columns == ("id",)


def test_parkinsons_recordings_are_grouped_by_subject(tmp_path):
    header = "name," + ",".join(UCI_PARKINSONS.features) + ",status\n"
    values = ",".join(["0.5"] * len(UCI_PARKINSONS.features))
    rows = "".join(f"phon_R01_S{s:02d}_{k},{values},{s % 2}\n" for s in (1, 2) for k in (1, 2, 3))
    data = load_csv(write(tmp_path, header + rows, "parkinsons.data"), (UCI_PARKINSONS,))
    assert data.groups.tolist() == ["phon_R01_S01"] * 3 + ["phon_R01_S02"] * 3


def test_too_few_samples_per_class_for_the_folds(tmp_path):
    proc = run_script(CANONICAL["diabetes"], "--data-path", pima(tmp_path, rows=8),
                      "--folds", "5", "--epochs", "1", "--output-dir", tmp_path / "out")
    assert proc.returncode == 2 and "5 folds need at least 5 samples of every class" in proc.stderr


def test_brain_mri_slice_folder_errors(tmp_path):
    (tmp_path / "normal").mkdir()
    (tmp_path / "lesion").mkdir()
    np.save(tmp_path / "normal" / "a.npy", np.zeros((8, 8)))
    np.save(tmp_path / "lesion" / "b.npy", np.full((8, 8), np.nan))
    proc = run_script(CANONICAL["brain_mri"], "--data-path", tmp_path, *QUICK,
                      "--output-dir", tmp_path / "out")
    assert proc.returncode == 2 and "b.npy: contains NaN or infinite values" in proc.stderr


def test_bad_option_values_are_usage_errors(tmp_path):
    proc = run_script(CANONICAL["als"], "--folds", "1", "--output-dir", tmp_path)
    assert proc.returncode == 2 and "at least 2 folds" in proc.stderr
