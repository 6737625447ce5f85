"""One DBA prototype per class: the paper's Algorithm 1, lines 1-7 (section III-C).

For every class ``c`` of a dataset's *train* split (the test split is never read here)::

    avg_init = medoid(C[c])          # the series with the smallest sum of squared DTW to the
                                     # others of its class (Petitjean et al. 2014, ref. [43])
    C[c]     = DBA(C[c], avg_init)   # 10 iterations (config dtw.dba_iterations), ref. [44]

DTW is the squared DTW of ``dtw`` (same window rule, same units).

**Medoid.** The full within-class matrix of squared DTW comes from dtaidistance's C code with
OpenMP (``dtw.pairwise``); the medoid is the row with the smallest sum (the first one on
a tie). Only one class's matrix exists at a time.

**DBA** (Petitjean, Ketterlin and Gancarski, "A global averaging method for dynamic time
warping", Pattern Recognition 44(3), 2011). Each iteration aligns every series of the class to
the current average with DTW and replaces each point of the average by the mean of the points
aligned to it; the average keeps the medoid's length. It is written here on top of
dtaidistance's C warping paths (``dtw.warping_path``) rather than by calling
``dtw_barycenter.dba_loop``: the update is the same (the tests check that the two agree), but
this one also returns the inertia of every iteration at no extra cost (the distance of each
path it already computes) and gives every series the band radius of its own length pair (the
C ``dba`` takes one window for the whole class).

**Inertia** of an average ``z`` is ``sum_i DTW(z, s_i)^2``, the DBA objective. ``inertia[0]``
is the medoid's, ``inertia[k]`` the average's after ``k`` iterations; DBA never increases it
(each step minimises the squared error for fixed alignments, then re-aligning can only lower
it), and the tests check that.

**Digest.** ``prototype_digest`` hashes a dataset's prototypes (lengths and values): the
similarity stage keys its pair cache by it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dtaidistance
import h5py
import numpy as np

from transfer_tsc.errors import InputError
from transfer_tsc.io import atomic_path, open_hdf5
from transfer_tsc.similarity import dtw


@dataclass(frozen=True)
class DBAResult:
    """A DBA average and its inertia before the first and after every iteration."""

    barycenter: np.ndarray
    inertia: np.ndarray  # shape (iterations + 1,)


@dataclass(frozen=True)
class Prototypes:
    """A dataset's class prototypes, in class-code order (``classes[k]`` is class k's label)."""

    dataset: str
    classes: tuple[str, ...]
    prototypes: list[np.ndarray]
    medoid_index: np.ndarray  # row of each class's medoid in the TRAIN split (0-based)
    class_size: np.ndarray
    inertia: np.ndarray  # shape (classes, iterations + 1)
    window: float | None
    iterations: int

    @property
    def digest(self) -> str:
        return prototype_digest(self.prototypes)


def prototype_digest(prototypes: Sequence[np.ndarray]) -> str:
    """A content hash of a dataset's prototypes (lengths and float64 values, in class order):
    the cache key of the pairs, so that recomputed but identical prototypes are not compared
    again and changed ones are."""
    h = hashlib.sha256()
    for p in prototypes:
        p = np.ascontiguousarray(p, dtype="<f8")
        h.update(np.int64(len(p)).tobytes())
        h.update(p.tobytes())
    return h.hexdigest()[:32]


def medoid(series: Sequence[np.ndarray], window: float | None = None) -> tuple[int, float]:
    """Index of the series with the smallest sum of squared DTW to the others, and that sum."""
    if len(series) == 1:
        return 0, 0.0
    sums = dtw.pairwise(series, window).sum(axis=1)
    index = int(np.argmin(sums))
    return index, float(sums[index])


def dba(
    series: Sequence[np.ndarray],
    init: np.ndarray,
    iterations: int = 10,
    window: float | None = None,
) -> DBAResult:
    """DTW Barycenter Averaging from ``init`` for a fixed number of iterations (no early stop).

    Every iteration is one pass over the series with dtaidistance's C warping path
    (``dtw.warping_path``); the last average's inertia comes from one parallel C distance pass.
    """
    series = [np.ascontiguousarray(s, dtype=np.float64) for s in series]
    average = np.array(init, dtype=np.float64)
    t = len(average)
    inertia = []
    for _ in range(iterations):
        sums = np.zeros(t)
        counts = np.zeros(t)
        total = 0.0
        for s in series:
            pairs, squared = dtw.warping_path(average, s, window)
            sums += np.bincount(pairs[:, 0], weights=s[pairs[:, 1]], minlength=t)
            counts += np.bincount(pairs[:, 0], minlength=t)
            total += squared
        inertia.append(total)
        average = sums / counts
    inertia.append(float(dtw.cross(series, [average], window).sum()))
    return DBAResult(average, np.asarray(inertia))


def class_prototypes(
    name: str,
    series: Sequence[np.ndarray],
    labels: np.ndarray,
    classes: Sequence[str],
    window: float | None = None,
    iterations: int = 10,
    log: Callable[[str], None] | None = None,
) -> Prototypes:
    """Medoid-initialised DBA prototype of every class of one split (Algorithm 1, lines 1-7).

    ``series`` are the split's series without padding (``Dataset.series("train")``),
    ``labels`` their class codes ``0..len(classes)-1``.
    """
    labels = np.asarray(labels)
    protos, medoids, sizes, inertias = [], [], [], []
    for code, label in enumerate(classes):
        rows = np.flatnonzero(labels == code)
        if len(rows) == 0:
            raise InputError(f"dataset '{name}': class {label!r} has no train series")
        members = [series[i] for i in rows]
        start = time.perf_counter()
        if log is not None:
            note = dtw.first_band_note(window, members, members)
            if note:
                log(f"{name} class {label}: {note}")
        index, _ = medoid(members, window)
        middle = time.perf_counter()
        result = dba(members, members[index], iterations, window)
        end = time.perf_counter()
        protos.append(result.barycenter)
        medoids.append(int(rows[index]))
        sizes.append(len(rows))
        inertias.append(result.inertia)
        if log is not None:
            log(
                f"{name} class {label}: {len(rows)} series, medoid train row {rows[index]}, "
                f"inertia {result.inertia[0]:.6g} -> {result.inertia[-1]:.6g} "
                f"(medoid {middle - start:.2f} s, DBA {end - middle:.2f} s)"
            )
    return Prototypes(
        dataset=name,
        classes=tuple(classes),
        prototypes=protos,
        medoid_index=np.asarray(medoids, dtype=np.int64),
        class_size=np.asarray(sizes, dtype=np.int64),
        inertia=np.vstack(inertias),
        window=window,
        iterations=iterations,
    )


# --------------------------------------------------------------------------- files

FORMAT = "transfer_tsc prototypes 1"


def write_prototypes(path: str | os.PathLike, result: Prototypes, **settings) -> None:
    """Write ``results/prototypes/{dataset}.h5`` atomically.

    Datasets: ``prototypes`` (classes x longest, NaN after each prototype's ``lengths``),
    ``lengths``, ``classes`` (labels as written), ``medoid_index`` (TRAIN row), ``class_size``,
    ``inertia`` (classes x iterations+1, column 0 the medoid's). Attributes: the settings
    (``window`` as JSON text: ``null`` is unconstrained), the distance measure, the content
    digest and the dtaidistance version; ``settings`` adds more attributes (e.g. the data
    options).
    """
    lengths = np.array([len(p) for p in result.prototypes], dtype=np.int64)
    padded = np.full((len(lengths), int(lengths.max())), np.nan)
    for k, p in enumerate(result.prototypes):
        padded[k, : len(p)] = p
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", track_order=True) as f:
            f.create_dataset("prototypes", data=padded, track_times=False)
            f.create_dataset("lengths", data=lengths, track_times=False)
            f.create_dataset(
                "classes", data=np.array(result.classes, dtype=object), dtype=h5py.string_dtype()
            )
            f.create_dataset("medoid_index", data=result.medoid_index, track_times=False)
            f.create_dataset("class_size", data=result.class_size, track_times=False)
            f.create_dataset("inertia", data=result.inertia, track_times=False)
            attrs = {
                "format": FORMAT,
                "dataset": result.dataset,
                "split": "TRAIN",
                "window": dtw.window_text(result.window),
                "band": dtw.band_text(result.window),
                "dba_iterations": result.iterations,
                "dba_init": "medoid (smallest sum of squared DTW within the class)",
                "measure": dtw.MEASURE,
                "digest": result.digest,
                "dtaidistance_version": dtaidistance.__version__,
                **settings,
            }
            for key, value in attrs.items():
                f.attrs[key] = value


def read_prototypes(path: str | os.PathLike) -> Prototypes:
    """Read a file written by ``write_prototypes`` (InputError names a bad file)."""
    with open_hdf5(path) as f:
        try:
            if f.attrs.get("format") != FORMAT:
                raise KeyError("format")
            lengths = f["lengths"][()]
            padded = f["prototypes"][()]
            return Prototypes(
                dataset=str(f.attrs["dataset"]),
                classes=tuple(
                    c.decode() if isinstance(c, bytes) else str(c) for c in f["classes"][()]
                ),
                prototypes=[padded[k, :n].copy() for k, n in enumerate(lengths)],
                medoid_index=f["medoid_index"][()],
                class_size=f["class_size"][()],
                inertia=f["inertia"][()],
                window=json.loads(f.attrs["window"]),
                iterations=int(f.attrs["dba_iterations"]),
            )
        except KeyError as error:
            raise InputError(f"{path}: not a prototypes file (missing {error})") from None
