"""UCR archive datasets: finding, reading, validating and encoding them.

Two layouts are read (paper section IV-A uses the archive's default train/test splits):

* UCR 2018: ``<root>/<Name>/<Name>_TRAIN.tsv`` and ``_TEST.tsv``, tab-separated, the class
  label first; variable-length series are padded with NaN at the end.
* UCR 2015: ``<root>/<Name>/<Name>_TRAIN`` (no extension, or ``.csv``), comma-separated.

Labels of any kind are encoded to ``0..C-1`` in sorted order (numerically when every label is a
number); ``Dataset.classes[k]`` is the label as written for code ``k``.
"""

from __future__ import annotations

import difflib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError

SPLITS = ("TRAIN", "TEST")
# (suffix, separator) in the order they are looked for.
LAYOUTS = ((".tsv", "\t"), ("", ","), (".csv", ","))


@dataclass(frozen=True)
class SplitFile:
    """One split's file and its column separator."""

    path: Path
    sep: str


@dataclass(frozen=True)
class Dataset:
    """A dataset's two splits, NaN-padded at the end to the longest series, labels encoded.

    ``x_train`` has shape (n_train, length) and ``lengths_train[i]`` is series i's true length.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    lengths_train: np.ndarray = field(repr=False)
    lengths_test: np.ndarray = field(repr=False)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def length(self) -> int:
        """The longest series length over both splits."""
        return int(max(self.lengths_train.max(), self.lengths_test.max()))

    @property
    def variable_length(self) -> bool:
        lengths = np.concatenate([self.lengths_train, self.lengths_test])
        return bool(lengths.min() != lengths.max())

    def series(self, split: str = "train") -> list[np.ndarray]:
        """The series of a split without their NaN padding."""
        x, lengths = (
            (self.x_train, self.lengths_train)
            if split == "train"
            else (self.x_test, self.lengths_test)
        )
        return [row[:n] for row, n in zip(x, lengths)]

    def network_input(self, split: str = "train") -> np.ndarray:
        """Float32 array (n, length, 1) for the FCN: variable-length series are linearly
        resampled to the dataset's longest length, fixed-length ones are passed unchanged."""
        target = self.length
        rows = [_resample(s, target) for s in self.series(split)]
        return np.stack(rows).astype(np.float32)[:, :, None]


def _resample(series: np.ndarray, length: int) -> np.ndarray:
    if len(series) == length:
        return series
    if len(series) == 1:
        return np.full(length, series[0])
    return np.interp(np.linspace(0, len(series) - 1, length), np.arange(len(series)), series)


def list_datasets(root: str | os.PathLike) -> list[str]:
    """Every folder under ``root`` that holds a ``*_TRAIN*`` or ``*_TEST*`` file, sorted by name
    (a folder with one of the two is listed, so that the missing one is reported, not skipped)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"ucr_root: {root} is not a folder")
    names = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            if any("_TRAIN" in f.name or "_TEST" in f.name for f in entry.iterdir()):
                names.append(entry.name)
    return names


def select_datasets(known: list[str], requested: str | list[str], root: str | os.PathLike) -> list[str]:
    """The datasets a study runs on: every ``known`` one for "all", else ``requested`` (sorted),
    each of which must be in ``known`` (the dataset folders of ``root``)."""
    if requested == "all":
        return sorted(known)
    missing = [name for name in requested if name not in known]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
        raise InputError(
            f"config key datasets: {', '.join(hints)} not found in ucr_root ({root})"
        )
    return sorted(requested)


def split_file(root: str | os.PathLike, name: str, split: str) -> SplitFile:
    """Locate ``name``'s ``split`` file in the 2018 or the 2015 layout."""
    folder = Path(root) / name
    for suffix, sep in LAYOUTS:
        path = folder / f"{name}_{split}{suffix}"
        if path.is_file():
            return SplitFile(path, sep)
    if not folder.is_dir():
        raise InputError(f"dataset '{name}': no folder {folder}")
    found = sorted(f.name for f in folder.iterdir() if f"_{split}" in f.name)
    expected = f"{name}_{split}.tsv (or {name}_{split}, {name}_{split}.csv)"
    if found:
        raise InputError(
            f"{folder}: expected {expected} but found {', '.join(found)}: "
            "the file names must match the folder name"
        )
    raise InputError(f"{folder}: missing {expected}")


def row_width(split: SplitFile) -> int:
    """The values in a split file's first row, read from that row alone: the length of its
    series (variable-length series are padded with NaN to the file's width)."""
    with open(split.path) as handle:
        for line in handle:
            if line.strip():
                return line.rstrip("\r\n").count(split.sep)
    raise InputError(f"{split.path}: the file is empty")


def read_split(split: SplitFile) -> tuple[list[str], np.ndarray]:
    """Read one split file into raw label strings and a float array (NaN kept as is).

    Raises InputError naming the file (and row) for an empty file, a wrong separator, a header
    row, rows of unequal length and non-numeric values.
    """
    path, sep = split.path, split.sep
    text = path.read_text()
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path}: the file is empty")
    sep_name = "tab" if sep == "\t" else "comma"
    other = "," if sep == "\t" else "\t"
    counts = [line.count(sep) for line in lines]
    if counts[0] == 0:
        hint = f" (it looks {'comma' if other == ',' else 'tab'}-separated)" if other in lines[0] else ""
        raise InputError(
            f"{path}: row 1 has no {sep_name} separator{hint}; expected the label then the "
            f"values, {sep_name}-separated"
        )
    for row, count in enumerate(counts, start=1):
        if count != counts[0]:
            raise InputError(
                f"{path}: row {row} has {count + 1} fields but row 1 has {counts[0] + 1}: "
                "rows of unequal length (pad variable-length series with NaN at the end)"
            )
    frame = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, skip_blank_lines=True)
    labels = [label.strip() for label in frame.iloc[:, 0].astype(str)]
    cells = frame.iloc[:, 1:]
    values = np.array(cells.apply(pd.to_numeric, errors="coerce"), dtype=np.float64)
    bad = np.isnan(values) & cells.notna().to_numpy() & ~cells.isin(["NaN", "nan", "NA", ""]).to_numpy()
    if bad.any():
        row, col = np.argwhere(bad)[0]
        if row == 0 and bad[0].all():
            raise InputError(f"{path}: row 1 looks like a header ({lines[0][:60]!r}); remove it")
        raise InputError(
            f"{path}: row {row + 1}, column {col + 2}: {cells.iat[row, col]!r} is not a number"
        )
    return labels, values


def _series_lengths(path: Path, values: np.ndarray) -> np.ndarray:
    """True length of each row: up to its last non-NaN value (trailing NaN is padding)."""
    valid = ~np.isnan(values)
    if not valid.any(axis=1).all():
        row = int(np.argmin(valid.any(axis=1)))
        raise InputError(f"{path}: row {row + 1} has no values")
    return values.shape[1] - np.argmax(valid[:, ::-1], axis=1)


def _fill_missing(path: Path, values: np.ndarray, lengths: np.ndarray, fill: bool) -> np.ndarray:
    """Interpolate NaN inside series linearly, or stop naming the first row that has one."""
    for i, n in enumerate(lengths):
        series = values[i, :n]
        gaps = np.isnan(series)
        if not gaps.any():
            continue
        if not fill:
            raise InputError(
                f"{path}: row {i + 1} has {int(gaps.sum())} missing value(s) inside the series "
                "(set data.fill_missing: true to fill them by linear interpolation)"
            )
        t = np.arange(n)
        values[i, :n] = np.interp(t, t[~gaps], series[~gaps])
    return values


def _znormalise(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """x <- (x - mean(x)) / std(x) per series, over its true length (constant series -> 0)."""
    for i, n in enumerate(lengths):
        series = values[i, :n]
        std = series.std()
        values[i, :n] = (series - series.mean()) / (std if std > 0 else 1.0)
    return values


def canonical_labels(labels: list[str]) -> list[str]:
    """Labels as class names: when all are numbers, ``1``, ``1.0`` and ``1e+00`` become ``1``."""
    try:
        numbers = [float(label) for label in labels]
    except ValueError:
        return list(labels)
    return [str(int(v)) if v == int(v) else f"{v:g}" for v in numbers]


def encode_labels(labels: list[str]) -> tuple[str, ...]:
    """Sorted distinct class names (numerically when all are numbers); code k is classes[k]."""
    names = set(canonical_labels(labels))
    try:
        return tuple(sorted(names, key=float))
    except ValueError:
        return tuple(sorted(names))


def load_dataset(
    root: str | os.PathLike,
    name: str,
    znormalise: bool = False,
    fill_missing: bool = False,
) -> Dataset:
    """Read, validate and encode one dataset of a UCR archive."""
    train, test = (split_file(root, name, split) for split in SPLITS)
    return load_dataset_files(name, train.path, test.path, znormalise, fill_missing)


def load_dataset_files(
    name: str,
    train: str | os.PathLike,
    test: str | os.PathLike,
    znormalise: bool = False,
    fill_missing: bool = False,
) -> Dataset:
    """Read, validate and encode a dataset from its two split files (separator from the suffix:
    tab for ``.tsv``, comma otherwise)."""
    splits = {
        split: SplitFile(Path(path), "\t" if str(path).endswith(".tsv") else ",")
        for split, path in zip(SPLITS, (train, test))
    }
    for file in splits.values():
        if not file.path.is_file():
            raise InputError(f"{file.path}: file not found")
    raw = {}
    for split, file in splits.items():
        labels, values = read_split(file)
        lengths = _series_lengths(file.path, values)
        values = _fill_missing(file.path, values, lengths, fill_missing)
        if znormalise:
            values = _znormalise(values, lengths)
        raw[split] = (labels, values, lengths)

    names = canonical_labels(raw["TRAIN"][0] + raw["TEST"][0])
    train_names, test_names = names[: len(raw["TRAIN"][0])], names[len(raw["TRAIN"][0]) :]
    classes = encode_labels(train_names)
    if len(classes) < 2:
        raise InputError(
            f"{splits['TRAIN'].path}: only one class ({classes[0]!r}); "
            "classification needs two or more"
        )
    every_class = set(train_names) | set(test_names)
    if len(train_names) < len(every_class):
        raise InputError(
            f"{splits['TRAIN'].path}: {len(train_names)} train series for {len(every_class)} "
            f"classes (labels of {splits['TRAIN'].path.name} and {splits['TEST'].path.name}): "
            "every class needs at least one train series"
        )
    code = {label: k for k, label in enumerate(classes)}
    unseen = sorted(set(test_names) - set(classes))
    if unseen:
        raise InputError(
            f"{splits['TEST'].path}: label(s) {', '.join(unseen)} are not in the train set "
            f"({splits['TRAIN'].path.name} has {', '.join(classes)})"
        )
    y_train = np.array([code[label] for label in train_names], dtype=np.int64)
    y_test = np.array([code[label] for label in test_names], dtype=np.int64)

    width = max(raw["TRAIN"][1].shape[1], raw["TEST"][1].shape[1])

    def padded(values: np.ndarray) -> np.ndarray:
        out = np.full((values.shape[0], width), np.nan)
        out[:, : values.shape[1]] = values
        return out

    return Dataset(
        name=name,
        x_train=padded(raw["TRAIN"][1]),
        y_train=y_train,
        x_test=padded(raw["TEST"][1]),
        y_test=y_test,
        classes=classes,
        lengths_train=raw["TRAIN"][2],
        lengths_test=raw["TEST"][2],
    )
