"""UCR archive datasets: finding, reading, validating and encoding them.

Two layouts are read (paper section IV-A uses the archive's default train/test splits):

* UCR 2018: ``<root>/<Name>/<Name>_TRAIN.tsv`` and ``_TEST.tsv``, tab-separated, the class
  label first; variable-length series are padded with NaN at the end.
* UCR 2015: ``<root>/<Name>/<Name>_TRAIN`` (no extension, or ``.csv``), comma-separated.

Labels of any kind are encoded to ``0..C-1`` in sorted order (numerically when every label is a
number); ``Dataset.classes[k]`` is the label as written for code ``k``.

The paper's 85 datasets are the 2015 archive's (Chen et al., "The UCR Time Series Classification
Archive", 2015, www.cs.ucr.edu/~eamonn/time_series_data/); the 2018 archive renamed 21 of them
(Dau et al., "The UCR Time Series Archive", IEEE/CAA J. Autom. Sinica 2019, arXiv:1810.07758,
and its briefing document at www.cs.ucr.edu/~eamonn/time_series_data_2018/). ``ucr2015.tsv``
in this package holds the two names of each (``name_2015``, ``name_2018``); ``datasets:
ucr2015`` selects them, found under either name, and names them by their 2018 name.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from transfer_tsc.errors import InputError

SPLITS = ("TRAIN", "TEST")
# (suffix, separator) in the order they are looked for.
LAYOUTS = ((".tsv", "\t"), ("", ","), (".csv", ","))
# config datasets: every folder, or the paper's 85 (the 2015 archive); anything else is a list
ALL, UCR2015 = "all", "ucr2015"
# config datasets_missing: what a listed dataset that is not in the archive does
MISSING_MODES = ("error", "skip")
# A dataset name: its folder under ucr_root and a path component of every result, listed
# (config.schema.yaml has the same pattern), in a list file or found by datasets: all.
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
NAME_RULE = "ASCII letters, digits and _ . - only"
# A split file compressed under its own name + suffix: how to unpack it.
UNPACK = {
    ".gz": "decompress it (gunzip)",
    ".zip": "extract it (unzip)",
    ".xz": "decompress it (unxz)",
    ".bz2": "decompress it (bunzip2)",
}
# What a data file that is not text is, from its first bytes: (signature, what, how to fix it).
NOT_TEXT = (
    (b"\x1f\x8b", "gzip-compressed", "decompress it (gunzip)"),
    (b"PK\x03\x04", "a zip archive", "extract it (unzip)"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it (unxz)"),
    (b"\xff\xfe", "UTF-16 text", "save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 text", "save it as UTF-8"),
)
# data.znormalise: "auto" normalises a dataset only when a series of it is not z-normalised:
# its mean off 0 or its (population) standard deviation off 1 by more than these. The archive's
# normalised datasets use the sample standard deviation, so a series of length L has a
# population std of sqrt((L - 1) / L): 0.979 at ItalyPowerDemand's L = 24, 0.966 at the
# archive's shortest L = 15; the largest |mean| over the paper's datasets in the 2018 archive
# is 2e-8. The non-normalised 2018 datasets are far off (BME: |mean| up to 0.76, Chinatown 916).
ZNORMALISE_AUTO = "auto"
Z_MEAN_TOLERANCE = 0.05
Z_STD_TOLERANCE = 0.05
_LOG = logging.getLogger(__name__)


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
        return int(np.concatenate([self.lengths_train, self.lengths_test]).max())

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


def _holds_split_files(folder: Path) -> bool:
    return any("_TRAIN" in f.name or "_TEST" in f.name for f in folder.iterdir())


def list_datasets(root: str | os.PathLike) -> list[str]:
    """Every folder under ``root`` that holds a ``*_TRAIN*`` or ``*_TEST*`` file, sorted by name
    (a folder with one of the two is listed, so that the missing one is reported, not skipped)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"ucr_root: {root} is not a folder")
    names = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            if _holds_split_files(entry):
                names.append(entry.name)
    return names


LAYOUT = "<Name>/<Name>_TRAIN.tsv (or <Name>/<Name>_TRAIN, the 2015 layout)"


def archive_datasets(root: str | os.PathLike) -> list[str]:
    """``list_datasets(root)``; none is an InputError saying what ``root`` holds instead and,
    where it can tell, the folder meant: the parent of a dataset's own folder, or the child
    folder of ``root`` that holds the most datasets (``root`` is the archive's parent)."""
    names = list_datasets(root)
    if names:
        return names
    root = Path(root)
    problem = f"ucr_root: no dataset folders with {LAYOUT} under {root}"
    entries = [entry for entry in root.iterdir() if not entry.name.startswith(".")]
    if not entries:
        raise InputError(f"{problem}: the folder is empty")
    if _holds_split_files(root):
        found = sorted(f.name for f in entries if "_TRAIN" in f.name or "_TEST" in f.name)
        raise InputError(
            f"{problem}: it holds {', '.join(found[:2])} itself, as a dataset's own folder does; "
            f"did you mean its parent, {root.parent}?"
        )
    archives = []
    for entry in sorted(e for e in entries if e.is_dir()):
        try:
            archives.append((len(list_datasets(entry)), entry))
        except OSError:
            continue
    count, best = max(archives, key=lambda pair: pair[0], default=(0, None))
    if count:
        raise InputError(
            f"{problem}: it holds folders of datasets, not datasets; did you mean {best} "
            f"({count} dataset folder{'s' if count > 1 else ''})?"
        )
    folders = sum(1 for entry in entries if entry.is_dir())
    raise InputError(
        f"{problem}: it holds {folders} folder(s) and {len(entries) - folders} file(s), none of "
        "them a dataset"
    )


def check_name(name: str, root: str | os.PathLike) -> None:
    """Raise InputError when a dataset folder's ``name`` breaks the rule of dataset names (a
    space, a bracket): refused under ``datasets: all`` as in a list."""
    if not NAME.match(name):
        raise InputError(
            f"ucr_root: dataset folder {name!r} ({Path(root) / name}): a dataset name has "
            f"{NAME_RULE}; rename the folder"
        )


@lru_cache(maxsize=None)
def ucr2015_names() -> dict[str, str]:
    """The 85 datasets of the 2015 archive (the paper's), 2015 name -> 2018 name, in the
    2015 archive's order (``ucr2015.tsv``)."""
    text = resources.files(__package__).joinpath("ucr2015.tsv").read_text()
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    return {row["name_2015"]: row["name_2018"] for row in rows}


@lru_cache(maxsize=None)
def _name_2015() -> dict[str, str]:
    return {new: old for old, new in ucr2015_names().items() if new != old}


NAME_SCHEMES = (2015, 2018)


def dataset_labels(names: Iterable[str], scheme: int) -> dict[str, str]:
    """How tables and figures name each dataset the study calls ``name`` (its 2018 name for a
    paper dataset): scheme 2015 gives the 2015 archive's name the paper used (FiftyWords ->
    50words), 2018 the name itself; datasets outside the paper's 85 keep their name."""
    if scheme not in NAME_SCHEMES:
        raise ValueError(f"name scheme {scheme!r}: expected one of {NAME_SCHEMES}")
    old = _name_2015() if scheme == 2015 else {}
    return {name: old.get(name, name) for name in names}


def folder_name(root: str | os.PathLike, name: str) -> str:
    """The folder of dataset ``name`` under ``root``: its own, or for a 2018 name of a 2015
    dataset whose own folder is absent, its 2015 name (a 2015 archive)."""
    old = _name_2015().get(name)
    if old and not (Path(root) / name).is_dir() and (Path(root) / old).is_dir():
        return old
    return name


def _resolve(name: str, known: set[str]) -> str | None:
    """``name`` as the study calls it: itself when its folder is ``known``, else the 2018 name
    of a 2015 dataset found under its other name; None when not found."""
    if name in known:
        return name
    new = ucr2015_names().get(name)
    old = _name_2015().get(name)
    if new and new in known:
        return new
    if old and old in known:
        return name
    return None


@dataclass(frozen=True)
class Selection:
    """The datasets a study runs on, and the listed ones not found that were skipped
    (``datasets_missing: skip``)."""

    names: list[str]
    skipped: tuple[str, ...] = ()
    warning: str | None = None  # one line naming the skipped datasets


def read_dataset_list(path: str | os.PathLike) -> list[tuple[int, str]]:
    """The (line number, name) pairs of a list file: one dataset name a line; blank lines and
    ``#`` comments are ignored. Raises InputError naming the file (and line)."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(
            f'config key datasets: {path} is not "{ALL}", "{UCR2015}" or a readable file of '
            f"dataset names ({reason})"
        ) from None
    entries: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not NAME.match(name):
            raise InputError(
                f"config key datasets: {path}, line {number}: {name!r} is not a dataset name "
                f"(one name a line: {NAME_RULE})"
            )
        if name in seen:
            raise InputError(
                f"config key datasets: {path}, line {number}: {name} is listed twice "
                f"(also line {seen[name]})"
            )
        seen[name] = number
        entries.append((number, name))
    if not entries:
        raise InputError(f"config key datasets: {path} lists no dataset names")
    return entries


def dataset_selection(
    known: list[str],
    requested: str | list[str],
    root: str | os.PathLike,
    missing: str = "error",
) -> Selection:
    """The datasets a study runs on, sorted: every ``known`` one (the dataset folders of
    ``root``) for "all"; else those of the list: the 85 of the 2015 archive for "ucr2015" (by
    their 2018 names), ``requested`` itself, or the names in the file ``requested`` names.

    A listed dataset is found under its own folder or, for the 2015 archive's datasets, under
    its other name (then it is named by its 2018 name). Listed datasets not found are one
    InputError naming them all, or with ``missing`` "skip" are left out (``Selection.warning``
    names them); none found is an error either way.
    """
    if missing not in MISSING_MODES:
        raise InputError(
            f"config key datasets_missing: {missing!r} is not one of {', '.join(MISSING_MODES)}"
        )
    if requested == ALL:
        for name in known:
            check_name(name, root)
        return Selection(sorted(known))
    found = set(known)
    # (name, notes on it for the messages)
    if requested == UCR2015:
        listed = [
            (new, [f"2015: {old}"] if old != new else []) for old, new in ucr2015_names().items()
        ]
        what = f"of the {len(listed)} datasets of {UCR2015} (the 2015 archive)"
    elif isinstance(requested, str):
        listed = [(name, [f"line {number}"]) for number, name in read_dataset_list(requested)]
        what = f"of the {len(listed)} datasets listed in {requested}"
    else:
        listed = [(name, []) for name in requested]
        what = f"of the {len(listed)} datasets listed"
    names, absent, hints = set(), [], []
    for name, notes in listed:
        resolved = _resolve(name, found)
        if resolved is not None:
            names.add(resolved)
            continue
        absent.append(name)
        if requested != UCR2015:
            close = difflib.get_close_matches(name, known, n=1)
            notes = notes + [f"did you mean {close[0]}?"] if close else notes
        hints.append(f"{name} ({'; '.join(notes)})" if notes else name)
    if not absent:
        return Selection(sorted(names))
    count = f"{len(absent)} {what}"
    if missing == "error" or not names:
        advice = f"; datasets_missing: skip runs the {len(names)} found" if names else ""
        detail = f": {count}{advice}" if len(listed) > 1 else ""
        raise InputError(
            f"config key datasets: {', '.join(hints)} not found in ucr_root ({root}){detail}"
        )
    return Selection(
        sorted(names),
        tuple(absent),
        f"config key datasets: {count} not found in ucr_root ({root}), skipped "
        f"(datasets_missing: skip): {', '.join(hints)}",
    )


def split_file(root: str | os.PathLike, name: str, split: str) -> SplitFile:
    """Locate ``name``'s ``split`` file in the 2018 or the 2015 layout (a 2015 dataset called by
    its 2018 name is looked for under its 2015 name too: ``folder_name``)."""
    name = folder_name(root, name)
    folder = Path(root) / name
    for suffix, sep in LAYOUTS:
        path = folder / f"{name}_{split}{suffix}"
        if path.is_file():
            return SplitFile(path, sep)
    if not folder.is_dir():
        raise InputError(f"dataset '{name}': no folder {folder}")
    found = sorted(f.name for f in folder.iterdir() if f"_{split}" in f.name)
    expected = f"{name}_{split}.tsv (or {name}_{split}, {name}_{split}.csv)"
    packed = [f for f in found if f.startswith(f"{name}_{split}") and Path(f).suffix in UNPACK]
    if packed:
        raise InputError(
            f"{folder}: expected {expected} but found {packed[0]}, compressed; "
            f"{UNPACK[Path(packed[0]).suffix]} first"
        )
    if found:
        raise InputError(
            f"{folder}: expected {expected} but found {', '.join(found)}: "
            "the file names must match the folder name"
        )
    raise InputError(f"{folder}: missing {expected}")


def _text(path: Path, raw: bytes, sep: str, first_row: int = 1) -> str:
    """``raw`` (a data file, or its lines from ``first_row`` on) as text; InputError naming the
    file when it is compressed or not UTF-8, and the row and column of the first bad byte."""
    if first_row == 1:
        for signature, what, fix in NOT_TEXT:
            if raw.startswith(signature):
                raise InputError(f"{path}: {what}, not a text file of series; {fix} first")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        start = raw.rfind(b"\n", 0, error.start) + 1
        end = raw.find(b"\n", error.start)
        line = raw[start : len(raw) if end < 0 else end]
        at = error.start - start
        column = line[:at].count(sep.encode()) + 1
        cell = line.split(sep.encode())[column - 1].strip()
        row = first_row + raw.count(b"\n", 0, start)
        raise InputError(
            f"{path}: row {row}, column {column} is not UTF-8 text: byte 0x{raw[error.start]:02x} "
            f"in {cell.decode('cp1252', errors='replace')[:40]!r} (read as Latin-1); "
            "save the file as UTF-8"
        ) from None


def row_width(split: SplitFile) -> int:
    """The values in a split file's first row, read from that row alone: the length of its
    series (variable-length series are padded with NaN to the file's width)."""
    with open(split.path, "rb") as handle:
        for row, raw in enumerate(handle, start=1):
            line = _text(split.path, raw, split.sep, first_row=row)
            if line.strip():
                return line.rstrip("\r\n").count(split.sep)
    raise InputError(f"{split.path}: the file is empty")


def _bad_label(label: str) -> str | None:
    """Why ``label`` (a row's first field) is not a class label, or None when it is one."""
    if not label:
        return "an empty label"
    try:
        number = float(label)
    except ValueError:
        return None
    if np.isfinite(number):
        return None
    return f"{label!r} as its label, a {'missing' if np.isnan(number) else 'infinite'} value"


def read_split(split: SplitFile) -> tuple[list[str], np.ndarray]:
    """Read one split file into raw label strings and a float array (NaN kept as is).

    Raises InputError naming the file (and row) for a file that is not UTF-8 text, an empty
    file, a wrong separator, a header row, rows of unequal length, non-numeric values and rows
    without a class label (empty, NaN or infinite).
    """
    path, sep = split.path, split.sep
    text = _text(path, path.read_bytes(), sep)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path}: the file is empty")
    sep_name = "tab" if sep == "\t" else "comma"
    other = "," if sep == "\t" else "\t"
    counts = [line.count(sep) for line in lines]
    if counts[0] == 0:
        hint = (
            f" (it looks {'comma' if other == ',' else 'tab'}-separated)"
            if other in lines[0]
            else ""
        )
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
    cells = frame.iloc[:, 1:]
    values = np.array(cells.apply(pd.to_numeric, errors="coerce"), dtype=np.float64)
    bad = (
        np.isnan(values)
        & cells.notna().to_numpy()
        & ~cells.isin(["NaN", "nan", "NA", ""]).to_numpy()
    )
    if bad.any():
        row, col = np.argwhere(bad)[0]
        if row == 0 and bad[0].all():
            raise InputError(f"{path}: row 1 looks like a header ({lines[0][:60]!r}); remove it")
        raise InputError(
            f"{path}: row {row + 1}, column {col + 2}: {cells.iat[row, col]!r} is not a number"
        )
    infinite = np.isinf(values)
    if infinite.any():
        row, col = np.argwhere(infinite)[0]
        raise InputError(
            f"{path}: row {row + 1}, column {col + 2}: {cells.iat[row, col]!r} is infinite "
            f"({int(infinite.any(axis=1).sum())} row(s) hold infinite values)"
        )
    labels = []
    # the label as written: pandas reads "", "NaN" and "NA" alike as missing
    for row, (cell, line) in enumerate(zip(frame.iloc[:, 0], lines), start=1):
        label = line.split(sep, 1)[0].strip() if pd.isna(cell) else cell.strip()
        problem = _bad_label(label)
        if problem:
            raise InputError(
                f"{path}: row {row} has {problem}; every row starts with its class label"
            )
        labels.append(label)
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


def _length_range(lengths: np.ndarray) -> str:
    low, high = int(lengths.min()), int(lengths.max())
    return f"length {low}" if low == high else f"lengths {low} to {high}"


def _note_split_lengths(
    name: str, splits: dict[str, SplitFile], lengths: dict[str, np.ndarray]
) -> None:
    """One log line when the TRAIN and TEST series have lengths that do not overlap (48 against
    80, not NaN-padded variable lengths within each split): the network reads every series
    resampled to the longest, the package's rule for variable lengths, never silently."""
    train, test = lengths["TRAIN"], lengths["TEST"]
    if not len(train) or not len(test):
        return
    if train.max() >= test.min() and test.max() >= train.min():
        return
    longest = int(max(train.max(), test.max()))
    _LOG.warning(
        f"{name}: TRAIN series of {_length_range(train)} ({splits['TRAIN'].path.name}), TEST "
        f"series of {_length_range(test)} ({splits['TEST'].path.name}): the network reads every "
        f"series resampled to length {longest} (linear interpolation), as for variable-length "
        "series"
    )


def normalisation_gap(values: np.ndarray, lengths: np.ndarray) -> tuple[float, float]:
    """The largest |mean| and |std - 1| over the series (population std, over each series'
    true length); a constant series at 0 counts as normalised (z-normalising gives it)."""
    worst_mean = worst_std = 0.0
    for row, n in zip(values, lengths):
        series = row[:n]
        mean, std = float(np.mean(series)), float(np.std(series))
        worst_mean = max(worst_mean, abs(mean))
        if std > 0 or mean != 0:
            worst_std = max(worst_std, abs(std - 1))
    return worst_mean, worst_std


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
    znormalise: bool | str = False,
    fill_missing: bool = False,
) -> Dataset:
    """Read, validate and encode one dataset of a UCR archive."""
    train, test = (split_file(root, name, split) for split in SPLITS)
    return load_dataset_files(name, train.path, test.path, znormalise, fill_missing)


def load_dataset_files(
    name: str,
    train: str | os.PathLike,
    test: str | os.PathLike | None,
    znormalise: bool | str = False,
    fill_missing: bool = False,
) -> Dataset:
    """Read, validate and encode a dataset from its two split files (separator from the suffix:
    tab for ``.tsv``, comma otherwise). ``test`` None reads the train split alone (the test
    arrays are empty), for work that must not see the test split.

    ``znormalise``: True normalises every series, False none, "auto" every series of a dataset
    whose train split has a series off by more than the Z_*_TOLERANCE (``normalisation_gap``;
    one log line), leaving a normalised dataset's values exactly as read. The decision reads
    the train split only, so it is the same with or without the test split. TRAIN and TEST
    series of lengths that do not overlap are read as variable lengths, with one log line."""
    if znormalise not in (True, False, ZNORMALISE_AUTO):
        raise InputError(f"data.znormalise: {znormalise!r} is not one of auto, true, false")
    paths = {"TRAIN": train} if test is None else dict(zip(SPLITS, (train, test)))
    splits = {
        split: SplitFile(Path(path), "\t" if str(path).endswith(".tsv") else ",")
        for split, path in paths.items()
    }
    for file in splits.values():
        if not file.path.is_file():
            raise InputError(f"{file.path}: file not found")
    raw = {}
    for split, file in splits.items():
        labels, values = read_split(file)
        lengths = _series_lengths(file.path, values)
        values = _fill_missing(file.path, values, lengths, fill_missing)
        raw[split] = (labels, values, lengths)
    if "TEST" not in raw:
        width = raw["TRAIN"][1].shape[1]
        raw["TEST"] = ([], np.empty((0, width)), np.empty(0, dtype=np.int64))
    else:
        _note_split_lengths(name, splits, {split: raw[split][2] for split in SPLITS})
    if znormalise == ZNORMALISE_AUTO:
        worst_mean, worst_std = normalisation_gap(raw["TRAIN"][1], raw["TRAIN"][2])
        znormalise = worst_mean > Z_MEAN_TOLERANCE or worst_std > Z_STD_TOLERANCE
        if znormalise:
            _LOG.info(
                f"{name}: not z-normalised (a train series' |mean| up to {worst_mean:.3g}, "
                f"|std - 1| up to {worst_std:.3g}): every series z-normalised "
                "(data.znormalise: auto)"
            )
    if znormalise:
        raw = {
            split: (labels, _znormalise(values, lengths), lengths)
            for split, (labels, values, lengths) in raw.items()
        }

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
