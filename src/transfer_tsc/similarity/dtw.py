"""DTW between series, as every stage of the pipeline computes it (section III-C).

**Which DTW.** Every distance of this package and of the pipeline's files is the *squared* DTW
distance: the smallest sum of squared differences ``(a_i - b_j)^2`` along a warping path::

    D[i, j] = (a_i - b_j)^2 + min(D[i-1, j], D[i, j-1], D[i-1, j-1]),   DTW(a, b) = D[n, m]

dtaidistance returns its square root (``dtw.distance``); we square it. Squared DTW is the
quantity DBA minimises (Petitjean et al. 2011), so the medoid (smallest sum of squared DTW),
the DBA inertia (``prototypes``) and the dataset matrix (``similarity``) are all in the same
units. Squaring does not change any ranking (the nearest neighbours are the same either way).

**Window.** ``window`` is ``None`` (unconstrained, the paper: it names a warping window as
future work) or a fraction ``f`` of the longer of the two series compared: the radius is
``r = ceil(f * max(n, m))`` cells. The band follows dtaidistance (and tslearn's
``sakoe_chiba_mask``): for series of lengths ``n >= m`` it allows cell ``(i, j)`` when
``-r <= i - j <= (n - m) + r``, the strip between the two diagonals ``j = i`` and
``j = i - (n - m)`` widened by ``r`` on each side. For equal lengths this is the textbook
Sakoe-Chiba band ``|i - j| <= r``. A textbook band narrower than the length difference
(``r < |n - m|``) cannot reach the last cell and makes DTW infinite; this band always reaches it,
because it is widened to cover the length difference. ``band_note`` says when that happens, and
the rules log it. dtaidistance's own ``window`` argument is ``r + 1`` (its window 1 is the
diagonal alone). ``band_text`` is the one description of the band that the outputs record.

**Speed and correctness of the C library.** All distances go through dtaidistance's C code with
OpenMP (``dtw.distance_matrix(..., use_c=True, parallel=True)``), in blocks, never a Python loop
over cells. Pruning stays off: ``dtw.distance_fast``'s default ``use_pruning=True`` returns
``inf`` when the DTW path is the diagonal and rounding makes the DTW exceed the Euclidean upper
bound by one ulp (dtaidistance 2.5.1: about one pair in four for series of length 2, one in
fifty at length 6). ``self_check`` compares the C path with dtaidistance's pure Python path on
a tiny case at the start of every DTW rule, since builds of the C library have returned wrong
values before.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from dtaidistance import dtw as dtaidistance_dtw

from transfer_tsc.errors import PipelineError

MEASURE = "squared DTW (sum of squared differences along the best warping path)"

Series = np.ndarray


class DTWCheckError(PipelineError):
    """dtaidistance's C library disagrees with its Python implementation."""


# --------------------------------------------------------------------------- the window


def window_text(window: float | None) -> str:
    """The window as it is recorded in every output: ``null`` or the fraction (JSON)."""
    return json.dumps(window)


def band_text(window: float | None) -> str:
    """The band as every output describes it: ``unconstrained``, or its radius rule."""
    if window is None:
        return "unconstrained"
    return f"ceil({window} x longer length) cells beyond the two diagonals (dtaidistance)"


def band_radius(window: float | None, n: int, m: int) -> int | None:
    """Radius ``r = ceil(window * max(n, m))`` in cells (at least 1), or None (no band)."""
    if window is None:
        return None
    return max(1, math.ceil(window * max(n, m) - 1e-9))


def band_note(window: float | None, n: int, m: int) -> str | None:
    """A sentence for the log when the band is widened to the length difference, else None."""
    r = band_radius(window, n, m)
    if r is None or r >= abs(n - m):
        return None
    return (
        f"window {window} of length {max(n, m)} is {r} cells, narrower than the length "
        f"difference {abs(n - m)} ({n} vs {m}): band widened to span the two diagonals plus "
        f"{r} cells (no infinite DTW)"
    )


def first_band_note(
    window: float | None, rows: Sequence[Series], cols: Sequence[Series]
) -> str | None:
    """The first ``band_note`` among every row-column pair of lengths, or None."""
    if window is None:
        return None
    for n in sorted({len(s) for s in rows}):
        for m in sorted({len(s) for s in cols}):
            note = band_note(window, n, m)
            if note:
                return note
    return None


def dtw_options(window: float | None, n: int, m: int) -> dict:
    """dtaidistance keyword arguments for comparing series of lengths ``n`` and ``m``."""
    r = band_radius(window, n, m)
    return {"window": None if r is None else r + 1, "use_pruning": False}


# --------------------------------------------------------------------------- distances


# Below this many DTW cells a block runs on one thread: OpenMP's start-up costs more.
PARALLEL_CELLS = 1_000_000


def _parallel(rows: Sequence[Series], cols: Sequence[Series]) -> bool:
    return len(rows) > 1 and sum(map(len, rows)) * sum(map(len, cols)) >= PARALLEL_CELLS


def _c_block(rows: list[Series], cols: list[Series], window_arg: int | None) -> np.ndarray:
    """Squared DTW of every row against every column, dtaidistance C (OpenMP over rows)."""
    if not rows or not cols:
        return np.zeros((len(rows), len(cols)))
    flat = dtaidistance_dtw.distance_matrix(
        rows + cols,
        block=((0, len(rows)), (len(rows), len(rows) + len(cols)), False),
        compact=True,
        use_c=True,
        parallel=_parallel(rows, cols),
        window=window_arg,
        use_pruning=False,
    )
    return np.square(np.asarray(flat, dtype=np.float64)).reshape(len(rows), len(cols))


def _as_series(series: Sequence[Series]) -> list[Series]:
    return [np.ascontiguousarray(s, dtype=np.float64) for s in series]


def cross(
    rows: Sequence[Series], cols: Sequence[Series], window: float | None = None
) -> np.ndarray:
    """Squared DTW of every row series against every column series, shape (rows, cols).

    One C call when the window is None; otherwise one call per column length and band radius,
    so that each pair gets the radius of its own longer series. The C code runs the rows in
    parallel: put the longer list first.
    """
    rows, cols = _as_series(rows), _as_series(cols)
    if window is None:
        return _c_block(rows, cols, None)
    out = np.empty((len(rows), len(cols)))
    col_lengths: dict[int, list[int]] = defaultdict(list)
    for j, s in enumerate(cols):
        col_lengths[len(s)].append(j)
    for m, cj in sorted(col_lengths.items()):
        by_radius: dict[int, list[int]] = defaultdict(list)
        for i, s in enumerate(rows):
            by_radius[band_radius(window, len(s), m)].append(i)
        for radius, ri in sorted(by_radius.items()):
            block = _c_block([rows[i] for i in ri], [cols[j] for j in cj], radius + 1)
            out[np.ix_(ri, cj)] = block
    return out


def pairwise(series: Sequence[Series], window: float | None = None) -> np.ndarray:
    """Square matrix of squared DTW between every two series (zero diagonal), C + OpenMP.

    One C call for the whole upper triangle when the window is None or the series have equal
    lengths; otherwise the series are sorted longest first, so that a row's pairs to its right
    share that row's radius, and each run of rows with one radius is one call.
    """
    series = _as_series(series)
    n = len(series)
    out = np.zeros((n, n))
    if n < 2:
        return out
    order = sorted(range(n), key=lambda i: -len(series[i]))
    ordered = [series[i] for i in order]
    radii = [band_radius(window, len(s), len(s)) for s in ordered]
    upper = np.zeros((n, n))
    r, c = np.triu_indices(n, k=1)
    start = 0
    while start < n - 1:
        stop = start + 1
        while stop < n - 1 and radii[stop] == radii[start]:
            stop += 1
        window_arg = None if radii[start] is None else radii[start] + 1
        flat = dtaidistance_dtw.distance_matrix(
            ordered,
            block=((start, stop), (start, n)),
            compact=True,
            use_c=True,
            parallel=_parallel(ordered[start:stop], ordered[start:]),
            window=window_arg,
            use_pruning=False,
        )
        keep = (r >= start) & (r < stop)
        upper[r[keep], c[keep]] = np.square(np.asarray(flat, dtype=np.float64))
        start = stop
    upper = upper + upper.T
    back = np.empty(n, dtype=np.intp)
    back[order] = np.arange(n)
    return upper[np.ix_(back, back)]


def warping_path(a: Series, b: Series, window: float | None = None) -> tuple[np.ndarray, float]:
    """The best warping path of ``a`` and ``b`` (rows ``(i, j)``, shape (steps, 2)) and its
    squared DTW, from dtaidistance's C code (the alignment DBA averages over)."""
    path, distance = dtaidistance_dtw.warping_path_fast(
        a, b, include_distance=True, **dtw_options(window, len(a), len(b))
    )
    return np.asarray(path, dtype=np.intp), distance * distance


# --------------------------------------------------------------------------- start-up check


def _c_matrix(series: Sequence[Series], window_arg: int | None) -> np.ndarray:
    """dtaidistance's parallel C distance matrix (not squared), as the pipeline calls it."""
    return dtaidistance_dtw.distance_matrix(
        _as_series(series), use_c=True, parallel=True, window=window_arg, use_pruning=False
    )


def _c_path_distance(a: Series, b: Series, window_arg: int | None) -> float:
    """The distance dtaidistance's C warping path returns (DBA uses these paths)."""
    _, d = dtaidistance_dtw.warping_path_fast(
        a, b, include_distance=True, window=window_arg, use_pruning=False
    )
    return d


def _python_distance(a: Series, b: Series, window_arg: int | None) -> float:
    return dtaidistance_dtw.distance(a, b, use_c=False, window=window_arg, use_pruning=False)


def self_check(
    window: float | None = None,
    c_matrix: Callable = _c_matrix,
    c_path_distance: Callable = _c_path_distance,
    python_distance: Callable = _python_distance,
) -> None:
    """Check that dtaidistance's C code agrees with its Python code on a tiny case.

    Five fixed series of lengths 5 to 12, unconstrained and with ``window`` (and a narrow
    band), through the C distance matrix (OpenMP) and the C warping path that the pipeline
    uses. Raises DTWCheckError naming the disagreement. Takes a few milliseconds.
    """
    rng = np.random.default_rng(20180101)
    series = [rng.normal(size=n) for n in (5, 7, 9, 12, 12)]
    fractions = [None, 0.1] + ([window] if window not in (None, 0.1) else [])
    try:
        for fraction in fractions:
            longest = max(len(s) for s in series)
            window_arg = dtw_options(fraction, longest, longest)["window"]
            c = np.asarray(c_matrix(series, window_arg), dtype=np.float64)
            for i in range(len(series)):
                for j in range(i + 1, len(series)):
                    expected = python_distance(series[i], series[j], window_arg)
                    for what, got in (
                        ("distance_matrix(use_c=True, parallel=True)", c[i, j]),
                        ("warping_path_fast", c_path_distance(series[i], series[j], window_arg)),
                    ):
                        if not np.isclose(got, expected, rtol=1e-9, atol=1e-12):
                            raise DTWCheckError(
                                f"dtaidistance's C library disagrees with its Python code: "
                                f"{what} gives {got!r} for series {i} and {j} (lengths "
                                f"{len(series[i])}, {len(series[j])}, dtaidistance window "
                                f"{window_arg}) where the Python path gives {expected!r}. The "
                                "C extension is miscompiled or broken: reinstall dtaidistance "
                                "(pip install --force-reinstall --no-binary dtaidistance "
                                "dtaidistance) before computing prototypes or distances."
                            )
    except DTWCheckError:
        raise
    except Exception as error:  # a C library that does not load or run at all
        raise DTWCheckError(
            f"dtaidistance's C library could not be used ({type(error).__name__}: {error}); "
            "reinstall dtaidistance with its C extension (dtaidistance.dtw.try_import_c())"
        ) from error
