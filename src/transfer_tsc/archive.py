"""Time series collections as arrays in aeon's layout, and the package's ``Dataset`` made from
them: what the estimator (``classifier``) and ``load_ucr`` share.

aeon's layout: a collection is a 3D array ``(n_cases, n_channels, n_timepoints)``; series of
unequal lengths are a list of 2D arrays ``(n_channels, n_timepoints)``; a 2D array ``(n_cases,
n_timepoints)`` (or a pandas DataFrame of numbers) is a univariate collection too. The networks
here are univariate (one channel, ``networks``), so a collection of more channels is refused.
Values must be finite: unequal lengths are a list, not NaN padding. ``load_ucr`` reads a dataset
of a UCR archive folder with the package's reader and validation (``data.load_dataset``) and
returns it in that layout; it never downloads anything.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from transfer_tsc.data import (
    Z_MEAN_TOLERANCE,
    Z_STD_TOLERANCE,
    ZNORMALISE_AUTO,
    Dataset,
    _resample,
    _znormalise,
    load_dataset,
    normalisation_gap,
)
from transfer_tsc.errors import InputError

SPLITS = ("train", "test")


class DataError(InputError, ValueError):
    """Bad ``X`` or ``y``: an InputError (one line naming the problem) that scikit-learn's
    callers catch as the ValueError its estimators raise."""


class DataTypeError(DataError, TypeError):
    """Values of ``X`` that are not numbers (a dict, a date): also a TypeError, as NumPy's."""


def _numeric(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as float64, refusing complex, non-numeric, NaN and infinite values."""
    if np.iscomplexobj(values):
        raise DataError(f"{what}: complex values; Complex data not supported")
    try:
        values = np.asarray(values, dtype=np.float64)
    except TypeError as error:
        raise DataTypeError(f"{what}: not numbers ({error})") from None
    except ValueError as error:
        raise DataError(f"{what}: not numbers ({error})") from None
    if np.isnan(values).any():
        raise DataError(
            f"{what}: holds NaN (missing values); series of unequal lengths are a list of "
            "arrays, not NaN padding; fill or drop the missing values first"
        )
    if np.isinf(values).any():
        raise DataError(f"{what}: holds inf (infinite values)")
    return values


def _one_channel(case: np.ndarray, what: str) -> np.ndarray:
    """One case, 1D ``(n_timepoints,)`` or 2D ``(n_channels, n_timepoints)``, as a 1D series."""
    if case.ndim == 2:
        if case.shape[0] != 1:
            raise DataError(
                f"{what}: {case.shape[0]} channels; the networks are univariate (1 channel)"
            )
        case = case[0]
    elif case.ndim != 1:
        raise DataError(f"{what}: a case of {case.ndim} dimensions; expected (1, n_timepoints)")
    if case.size == 0:
        raise DataError(f"{what}: an empty series (0 time points)")
    return case


def as_series(X: object, what: str = "X") -> list[np.ndarray]:
    """The univariate series of a collection in aeon's layout (3D array, list of 2D arrays,
    2D array or pandas DataFrame), each a float64 1D array; DataError naming the problem for
    sparse, empty, 1D, complex, non-numeric, NaN, infinite or multichannel input."""
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise DataError(f"{what}: a sparse matrix; sparse input is not supported (dense arrays)")
    if X is None:
        raise DataError(f"{what}: None; expected an array of series")
    if hasattr(X, "to_numpy") and hasattr(X, "columns"):  # a pandas DataFrame
        X = X.to_numpy()
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise DataError(f"{what}: empty (0 cases)")
        cases = [np.asarray(case) for case in X]
        if all(case.ndim == 0 for case in cases):
            raise DataError(
                f"{what}: 1D, one value per case; expected (n_cases, n_timepoints) or "
                "(n_cases, 1, n_timepoints)"
            )
        return [
            _numeric(_one_channel(case, f"{what}[{i}]"), f"{what}[{i}]")
            for i, case in enumerate(cases)
        ]
    array = np.asarray(X)
    if array.ndim == 1:
        raise DataError(
            f"{what}: 1D array of shape {array.shape}; Reshape your data: expected (n_cases, "
            "n_timepoints) or (n_cases, 1, n_timepoints), X.reshape(1, -1) for one series"
        )
    if array.ndim not in (2, 3):
        raise DataError(
            f"{what}: {array.ndim}D array; expected 3D (n_cases, n_channels, n_timepoints) or 2D"
        )
    if array.shape[0] == 0:
        raise DataError(f"{what}: empty array of shape {array.shape} (0 cases)")
    if array.ndim == 3 and array.shape[1] != 1:
        raise DataError(
            f"{what}: {array.shape[1]} channels (shape {array.shape}); the networks are "
            "univariate (1 channel)"
        )
    if array.shape[-1] == 0:
        raise DataError(
            f"{what}: series of 0 time points: 0 feature(s) (shape={array.shape}) while a "
            "minimum of 1 is required."
        )
    values = _numeric(array.reshape(array.shape[0], array.shape[-1]), what)
    return list(values)


def as_labels(y: object, n_cases: int, what: str = "y") -> np.ndarray:
    """``y`` as a 1D array of ``n_cases`` labels (any hashable kind); DataError when it is
    missing, of another length or holds NaN."""
    if y is None:
        raise DataError(f"{what}: None; fit needs the class labels (y should be a 1d array)")
    labels = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DataError(f"{what}: shape {labels.shape}; y should be a 1d array of class labels")
    if len(labels) != n_cases:
        raise DataError(f"{what}: {len(labels)} labels for {n_cases} cases in X")
    if labels.dtype.kind in "fc" and not np.isfinite(labels).all():
        raise DataError(f"{what}: Input y contains NaN or infinity; every case needs its label")
    if labels.dtype.kind == "O" and any(
        isinstance(label, float) and not np.isfinite(label) for label in labels
    ):
        raise DataError(f"{what}: Input y contains NaN; every case needs its label")
    return labels


def padded(series: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The series NaN-padded at the end to the longest (``Dataset``'s layout) and their
    lengths."""
    lengths = np.array([len(s) for s in series], dtype=np.int64)
    values = np.full((len(series), int(lengths.max())), np.nan)
    for row, s in zip(values, series):
        row[: len(s)] = s
    return values, lengths


def znormalise_decision(series: Sequence[np.ndarray], znormalise: bool | str) -> bool:
    """Whether to z-normalise, as ``data.load_dataset_files`` decides from the train split:
    True / False as given, "auto" when a series is off by more than the ``Z_*_TOLERANCE``."""
    if znormalise not in (True, False, ZNORMALISE_AUTO):
        raise InputError(f"znormalise: {znormalise!r} is not one of auto, True, False")
    if znormalise != ZNORMALISE_AUTO:
        return bool(znormalise)
    worst_mean, worst_std = normalisation_gap(*padded(series))
    return worst_mean > Z_MEAN_TOLERANCE or worst_std > Z_STD_TOLERANCE


def normalised(series: Sequence[np.ndarray], znormalise: bool) -> list[np.ndarray]:
    """The series z-normalised each (``data``'s formula) when ``znormalise``, else as given."""
    if not znormalise:
        return [np.asarray(s, dtype=np.float64) for s in series]
    values, lengths = padded(series)
    values = _znormalise(values, lengths)
    return [row[:n] for row, n in zip(values, lengths)]


def dataset_from_series(
    name: str, series: Sequence[np.ndarray], codes: np.ndarray, classes: Sequence[str]
) -> Dataset:
    """A ``Dataset`` whose train split is ``series`` with class codes ``codes`` (0..C-1, code k
    is ``classes[k]``) and whose test split is empty: what ranking and training read."""
    values, lengths = padded(series)
    return Dataset(
        name=name,
        x_train=values,
        y_train=np.asarray(codes, dtype=np.int64),
        x_test=np.empty((0, values.shape[1])),
        y_test=np.empty(0, dtype=np.int64),
        classes=tuple(classes),
        lengths_train=lengths,
        lengths_test=np.empty(0, dtype=np.int64),
    )


def network_input(series: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Float32 array (n, length, 1) for the networks: series of another length linearly
    resampled to ``length`` (``Dataset.network_input``'s rule for variable lengths)."""
    return np.stack([_resample(np.asarray(s), length) for s in series]).astype(np.float32)[
        :, :, None
    ]


def to_aeon(series: Sequence[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """Series in aeon's layout: a 3D array (n, 1, length) when of one length, else a list of
    2D arrays (1, length_i)."""
    if len({len(s) for s in series}) == 1:
        return np.stack(series)[:, None, :]
    return [np.asarray(s)[None, :] for s in series]


def load_ucr(
    name: str,
    root: str | os.PathLike,
    split: str | None = "train",
    znormalise: bool | str = False,
    fill_missing: bool = False,
) -> tuple[np.ndarray | list[np.ndarray], np.ndarray]:
    """Dataset ``name`` of the UCR archive folder ``root`` (2018 or 2015 layout) as ``(X, y)``
    in aeon's layout: ``X`` a 3D float64 array (n_cases, 1, n_timepoints), or a list of 2D
    arrays for series of unequal lengths; ``y`` the class labels as written (text, numbers in
    their canonical form: "1.0" is "1"). ``split`` "train" or "test", or None for both (train
    then test). The values are as written unless ``znormalise`` (True, or "auto" as the
    pipeline's ``data.znormalise``) or ``fill_missing`` (missing values inside series
    interpolated) say otherwise; read and validated by ``data.load_dataset``, no download."""
    if split not in (*SPLITS, None):
        raise InputError(f"split: {split!r} is not one of 'train', 'test', None")
    dataset = load_dataset(root, name, znormalise=znormalise, fill_missing=fill_missing)
    chosen = SPLITS if split is None else (split,)
    series = [s for part in chosen for s in dataset.series(part)]
    codes = np.concatenate(
        [dataset.y_train if part == "train" else dataset.y_test for part in chosen]
    )
    return to_aeon(series), np.asarray(dataset.classes)[codes]
