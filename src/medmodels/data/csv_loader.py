"""Read a user's CSV, pick the public layout it follows, and validate it cell by cell.

Every problem raises DataError with one line naming the file, and the column and line
(the header is line 1) where that helps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from ..metrics import CLASSIFICATION
from .dataset import Dataset
from .layouts import TableLayout

SEPARATORS = (";", "\t", ",")
HEADER_LINES = 1


def _line(index: int) -> int:
    """The file line of data row `index` (0-based), counting the header as line 1."""
    return index + HEADER_LINES + 1


def read_table(path: Path) -> pd.DataFrame:
    """All cells as strings (empty cells as NaN), separator sniffed from the header line."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a CSV file")
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    if not header.strip():
        raise DataError(f"{path}: file is empty")
    separator = max(SEPARATORS, key=header.count)
    try:
        frame = pd.read_csv(path, sep=separator, dtype=str, skipinitialspace=True,
                            encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be parsed as a table: {str(exc).strip()}") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


def choose_layout(columns: Sequence[str], layouts: Sequence[TableLayout]) -> TableLayout:
    """The layout sharing the most columns with the file (the first one on a tie)."""
    present = set(columns)
    return max(layouts, key=lambda layout: len(present.intersection(layout.columns)))


def _numeric(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """The column as floats; a non-numeric or infinite cell is an error naming its line."""
    text = frame[column]
    values = pd.to_numeric(text, errors="coerce").astype(float)
    bad = (values.isna() & text.notna()) | np.isinf(values)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        count = int(bad.sum())
        raise DataError(f"{path}: line {_line(row)}: column {column!r} has non-numeric "
                        f"value {text.iloc[row]!r} ({count} bad cell{'s' * (count > 1)} "
                        "in that column)")
    return values


def _target(frame: pd.DataFrame, layout: TableLayout, path: Path) -> pd.Series:
    values = _numeric(frame, layout.target, path)
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataError(f"{path}: line {_line(row)}: target column {layout.target!r} is empty")
    if layout.task == CLASSIFICATION:
        unexpected = ~values.isin(layout.classes)
        if unexpected.any():
            row = int(np.flatnonzero(unexpected.to_numpy())[0])
            allowed = ", ".join(f"{c:g}" for c in layout.classes)
            raise DataError(f"{path}: line {_line(row)}: target column {layout.target!r} has "
                            f"{frame[layout.target].iloc[row]!r}; expected one of {allowed}")
        return values.astype(int).rename(layout.target)
    return values.rename(layout.target)


def _clean(features: pd.DataFrame, layout: TableLayout) -> tuple[pd.DataFrame, list[str]]:
    """Mark unmeasured zeros and implausible values as missing; say how many, per column."""
    notes = []
    features = features.copy()
    for column in layout.zero_as_missing:
        zeros = features[column] == 0
        if zeros.any():
            features.loc[zeros, column] = np.nan
            notes.append(f"{int(zeros.sum())} zero values of {column!r} treated as missing")
    for column, (low, high) in layout.plausible.items():
        outside = (features[column] < low) | (features[column] > high)
        if outside.any():
            features.loc[outside, column] = np.nan
            notes.append(f"{int(outside.sum())} values of {column!r} outside "
                         f"[{low:g}, {high:g}] treated as missing")
    return features, notes


def _groups(frame: pd.DataFrame, layout: TableLayout) -> tuple[pd.Series | None, list[str]]:
    if layout.group_column is None:
        return None, []
    if layout.group_column not in frame.columns:
        return None, [f"no {layout.group_column!r} column: rows are not grouped by subject, "
                      "so cross-validation may be optimistic"]
    keys = frame[layout.group_column].fillna("")
    if layout.group_pattern:
        keys = keys.str.extract(layout.group_pattern, expand=False).fillna(keys)
    return keys.rename("group"), []


def load_csv(path: Path, layouts: Sequence[TableLayout]) -> Dataset:
    """Read `path`, match it to one of `layouts`, validate and clean it."""
    frame = read_table(path)
    layout = choose_layout(frame.columns, layouts)
    if layout.target not in frame.columns:
        raise DataError(f"{path}: missing target column {layout.target!r} "
                        f"(expected the {layout.title} layout)")
    missing = [column for column in layout.features if column not in frame.columns]
    if missing:
        shown = ", ".join(repr(column) for column in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise DataError(f"{path}: missing feature column{'s' if len(missing) > 1 else ''} "
                        f"{shown}{more} (expected the {layout.title} layout)")
    if frame.empty:
        raise DataError(f"{path}: has a header but no data rows")
    features = pd.DataFrame({column: _numeric(frame, column, path) for column in layout.features})
    empty = [column for column in layout.features if features[column].isna().all()]
    if empty:
        raise DataError(f"{path}: column {empty[0]!r} has no values")
    target = _target(frame, layout, path)
    features, notes = _clean(features, layout)
    groups, group_notes = _groups(frame, layout)
    ignored = tuple(c for c in frame.columns
                    if c not in layout.columns and c != layout.group_column)
    return Dataset(features=features, target=target, task=layout.task, source="file",
                   layout=layout.name, path=str(path), groups=groups,
                   categorical=layout.categorical, ignored_columns=ignored,
                   notes=tuple(notes + group_notes))
