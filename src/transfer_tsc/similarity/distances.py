"""The distance between datasets and every target's sources ranked (the paper's Algorithm 1,
lines 8-22, section III-C).

The distance between two datasets is the minimum DTW distance between a prototype of one and a
prototype of the other (one DBA prototype per class, see ``prototypes``)::

    D(A, B) = min over a in prototypes(A), b in prototypes(B) of DTW(a, b)

DTW is the squared DTW of ``dtw`` (its window rule, its units). ``dataset_distances`` is that
formula for one dataset against others (the matrix and a new dataset's recommendation both
use it), ``nearest_first`` the one ordering of every ranking (distance, then name).
``dataset_matrix`` computes only the pairs its cache (``read_pair_cache``, keyed by the two
prototype digests and the window) does not hold.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import dtaidistance
import numpy as np
import pandas as pd

from transfer_tsc.errors import InputError
from transfer_tsc.io import write_csv, write_text
from transfer_tsc.similarity import dtw
from transfer_tsc.similarity.dtw import Series
from transfer_tsc.similarity.prototypes import prototype_digest, read_prototypes

PairKey = tuple[str, str, str]


# --------------------------------------------------------------------------- datasets


def dataset_distances(
    target: Sequence[Series], others: Mapping[str, Sequence[Series]], window: float | None
) -> dict[str, float]:
    """``D(target, other)`` for every dataset of ``others``: the smallest squared DTW between a
    prototype of ``target`` and a prototype of that dataset. One ``dtw.cross`` call for all of
    them (the others' prototypes are the rows, which the C code runs in parallel)."""
    names = list(others)
    partner_series = [p for name in names for p in others[name]]
    block = dtw.cross(partner_series, target, window)
    distances, start = {}, 0
    for name in names:
        count = len(others[name])
        distances[name] = float(block[start : start + count].min())
        start += count
    return distances


def nearest_first(distances: Mapping[str, float]) -> list[tuple[str, float]]:
    """``(name, distance)`` pairs, nearest first, ties by name: the order of every ranking."""
    return sorted(distances.items(), key=lambda item: (item[1], item[0]))


def pair_key(digest_a: str, digest_b: str, window: float | None) -> PairKey:
    """Cache key of a dataset pair: the two prototype digests (unordered) and the window."""
    first, second = sorted((digest_a, digest_b))
    return first, second, dtw.window_text(window)


def dataset_matrix(
    prototypes: Mapping[str, Sequence[Series]],
    window: float | None = None,
    known: Mapping[PairKey, float] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict[PairKey, float]]:
    """The dataset x dataset matrix of Algorithm 1 (min squared DTW over prototype pairs).

    ``known`` holds distances already computed (keyed by ``pair_key``); only the missing pairs
    are computed, one C call per dataset against all its missing partners. Returns the
    symmetric matrix (index and columns sorted by name, zero diagonal, index named "dataset")
    and the newly computed entries.
    """
    names = sorted(prototypes)
    protos = {name: list(prototypes[name]) for name in names}
    digests = {name: prototype_digest(protos[name]) for name in names}
    known = dict(known or {})
    new: dict[PairKey, float] = {}
    for a, name in enumerate(names):
        missing = [
            other
            for other in names[a + 1 :]
            if pair_key(digests[name], digests[other], window) not in known
            and pair_key(digests[name], digests[other], window) not in new
        ]
        if not missing:
            continue
        found = dataset_distances(protos[name], {other: protos[other] for other in missing}, window)
        for other in missing:
            new[pair_key(digests[name], digests[other], window)] = found[other]
            if log is not None:
                note = dtw.first_band_note(window, protos[name], protos[other])
                if note:
                    log(f"{name} vs {other}: {note}")
    values = {**known, **new}
    matrix = np.zeros((len(names), len(names)))
    for a, name in enumerate(names):
        for b in range(a + 1, len(names)):
            other = names[b]
            value = values[pair_key(digests[name], digests[other], window)]
            matrix[a, b] = matrix[b, a] = value
    frame = pd.DataFrame(matrix, index=pd.Index(names, name="dataset"), columns=names)
    return frame, new


def neighbours(matrix: pd.DataFrame) -> pd.DataFrame:
    """For every target, every other dataset ranked nearest first (ties by name).

    Columns ``target, rank, source, distance``; rank 1 is the nearest source.
    """
    rows = []
    for target in matrix.index:
        others = matrix.loc[target].drop(labels=[target])
        for rank, (source, value) in enumerate(nearest_first(others), start=1):
            rows.append({"target": target, "rank": rank, "source": source, "distance": value})
    return pd.DataFrame(rows, columns=["target", "rank", "source", "distance"])


# --------------------------------------------------------------------------- files

CACHE_COLUMNS = ["digest_a", "digest_b", "window", "distance", "datasets"]


def load_prototype_sets(
    paths: Sequence[str | os.PathLike], window: float | None
) -> dict[str, list[Series]]:
    """Dataset name (the file's stem) -> its prototypes, refusing files made with another
    window than ``window``."""
    sets = {}
    for path in paths:
        result = read_prototypes(path)
        if dtw.window_text(result.window) != dtw.window_text(window):
            raise InputError(
                f"{path}: prototypes computed with window {dtw.window_text(result.window)} but the "
                f"config says dtw.window {dtw.window_text(window)}; re-run its prototypes rule"
            )
        sets[Path(path).stem] = result.prototypes
    return sets


def read_pair_cache(path: str | os.PathLike) -> tuple[dict[PairKey, float], str | None]:
    """The pair distances computed before (empty when there is no cache), and a note for the
    log when the cache could not be read (it is then rebuilt)."""
    path = Path(path)
    if not path.is_file():
        return {}, None
    try:
        # "null" (no window) must stay text: keep_default_na=False
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if list(frame.columns[:4]) != CACHE_COLUMNS[:4]:
            raise ValueError(f"columns {list(frame.columns)}")
        values = {
            (str(a), str(b), str(w)): float(d)
            for a, b, w, d in zip(frame.digest_a, frame.digest_b, frame.window, frame.distance)
        }
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        return {}, f"note: pair cache {path} unreadable ({error}); recomputing every pair"
    return values, None


def write_pair_cache(
    path: str | os.PathLike,
    values: Mapping[PairKey, float],
    sets: Mapping[str, Sequence[Series]],
    window: float | None,
) -> None:
    """Write the pair cache atomically (every pair ever computed, names for the reader)."""
    names: dict[str, list[str]] = defaultdict(list)
    for name, protos in sorted(sets.items()):
        names[prototype_digest(protos)].append(name)
    rows = [
        {
            "digest_a": a,
            "digest_b": b,
            "window": w,
            "distance": d,
            "datasets": "/".join(names.get(a, ["?"])) + " vs " + "/".join(names.get(b, ["?"])),
        }
        for (a, b, w), d in sorted(values.items())
    ]
    write_csv(pd.DataFrame(rows, columns=CACHE_COLUMNS), path)


def settings_record(window: float | None) -> dict:
    """What every similarity output records about how it was computed."""
    return {
        "window": window,
        "band": dtw.band_text(window),
        "measure": dtw.MEASURE,
        "dataset_distance": "minimum over pairs of class prototypes (Algorithm 1)",
        "dtaidistance_version": dtaidistance.__version__,
    }


def write_matrix(
    matrix: pd.DataFrame,
    csv_path: str | os.PathLike,
    json_path: str | os.PathLike,
    sets: Mapping[str, Sequence[Series]],
    window: float | None,
    computed: int,
) -> None:
    """The matrix as CSV (index column "dataset") and its settings as a JSON sidecar."""
    write_csv(matrix, csv_path, index=True)
    record = {
        **settings_record(window),
        "datasets": list(matrix.index),
        "prototype_digests": {name: prototype_digest(sets[name]) for name in matrix.index},
        "pairs_computed_this_run": computed,
    }
    write_text(json.dumps(record, indent=2) + "\n", json_path)


def read_matrix(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``dtw_distance.csv``, checking that it is a square symmetric matrix."""
    try:
        matrix = pd.read_csv(path, index_col="dataset")
    except (ValueError, pd.errors.ParserError, FileNotFoundError) as error:
        raise InputError(f"{path}: not a dataset distance matrix ({error})") from None
    numbers = matrix.apply(pd.to_numeric, errors="coerce")
    if numbers.isna().to_numpy().any() or not np.isfinite(numbers.to_numpy()).all():
        row, column = next(
            (r, c)
            for r in matrix.index
            for c in matrix.columns
            if not np.isfinite(numbers.loc[r, c])
        )
        raise InputError(
            f"{path}: distance {row} - {column} is {matrix.loc[row, column]!r}, not a finite "
            "number; delete it to have its job (rule dtw_distance) make it again"
        )
    matrix = numbers
    if list(matrix.index) != list(matrix.columns) or not np.allclose(
        matrix.to_numpy(), matrix.to_numpy().T
    ):
        raise InputError(f"{path}: not a symmetric dataset x dataset matrix")
    return matrix


def write_neighbours(
    table: pd.DataFrame,
    csv_path: str | os.PathLike,
    json_path: str | os.PathLike,
    matrix_settings: str | os.PathLike,
) -> None:
    """``neighbours.csv`` (target, rank, source, distance) and its settings sidecar."""
    write_csv(table, csv_path)
    record = json.loads(Path(matrix_settings).read_text())
    record.pop("pairs_computed_this_run", None)
    record["ranking"] = (
        "for every target, every other dataset by distance ascending, rank 1 nearest"
    )
    write_text(json.dumps(record, indent=2) + "\n", json_path)
