"""DTW as the pipeline uses it (dtaidistance, C and Python paths) against an independent numpy
DTW, the dataset matrix and its neighbours, the start-up check, and the similarity rules run
by Snakemake on real UCR datasets, including adding one dataset."""

from __future__ import annotations

import json
import math
import re

import dtaidistance.dtw
import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake

from transfer_tsc.data import load_dataset
from transfer_tsc.similarity import distances as similarity
from transfer_tsc.similarity import dtw

# --------------------------------------------------------------------------- reference DTW


def reference_dtw(a, b, radius=None):
    """Squared DTW written from the definition: D[i, j] = (a_i - b_j)^2 + min(D[i-1, j],
    D[i, j-1], D[i-1, j-1]); with a radius r, only cells with -r <= i - j <= (n - m) + r
    (n >= m; mirrored otherwise): the band between the two diagonals widened by r."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n, m = len(a), len(b)
    lo, hi = -math.inf, math.inf
    if radius is not None:
        lo, hi = (-radius, n - m + radius) if n >= m else (-(m - n) - radius, radius)
    cost = np.full((n + 1, m + 1), np.inf)
    cost[0, 0] = 0.0
    for i in range(1, n + 1):
        j = np.arange(1, m + 1)
        inside = ((i - j) >= lo) & ((i - j) <= hi)
        local = (a[i - 1] - b) ** 2
        for jj in j[inside]:
            cost[i, jj] = local[jj - 1] + min(cost[i - 1, jj], cost[i, jj - 1], cost[i - 1, jj - 1])
    return cost[n, m]


@pytest.fixture(scope="module")
def real_series(ucr_root):
    """Short stretches of real series of different lengths (GunPoint, ItalyPowerDemand,
    GesturePebbleZ1's variable lengths, DodgerLoopDay with filled gaps)."""
    gun = load_dataset(ucr_root, "GunPoint").series("train")
    italy = load_dataset(ucr_root, "ItalyPowerDemand").series("train")
    pebble = load_dataset(ucr_root, "GesturePebbleZ1").series("train")
    dodger = load_dataset(ucr_root, "DodgerLoopDay", fill_missing=True).series("train")
    return [
        gun[0][::3],  # 50
        gun[30][::3][:45],  # 45
        italy[0],  # 24
        italy[40],  # 24
        pebble[0][::6],  # variable
        pebble[9][::6],
        dodger[3][::6] / 10,  # 48
    ]


WINDOWS = [None, 0.05, 0.1, 0.3]


def test_band_radius_and_dtaidistance_window():
    assert dtw.band_radius(None, 100, 80) is None
    assert dtw.band_radius(0.1, 100, 80) == 10
    assert dtw.band_radius(0.1, 80, 101) == 11  # ceil, of the longer series
    assert dtw.band_radius(0.001, 24, 24) == 1  # never 0 (0 means "no band" to dtaidistance)
    assert dtw.dtw_options(0.1, 100, 100) == {"window": 11, "use_pruning": False}
    assert dtw.dtw_options(None, 100, 50) == {"window": None, "use_pruning": False}


def test_band_note_says_when_the_band_is_widened():
    assert dtw.band_note(None, 100, 20) is None
    assert dtw.band_note(0.3, 100, 80) is None  # 30 cells >= 20
    note = dtw.band_note(0.1, 100, 80)  # 10 cells < 20
    assert "narrower than the length difference 20" in note and "widened" in note


@pytest.mark.parametrize("window", WINDOWS)
def test_c_and_python_paths_match_the_reference(real_series, window):
    """dtaidistance's DTW, as the pipeline calls it, is the square root of the reference."""
    s = real_series
    for i in range(len(s)):
        for j in range(len(s)):
            if i == j:
                continue
            a, b = s[i], s[j]
            radius = dtw.band_radius(window, len(a), len(b))
            expected = reference_dtw(a, b, radius)
            assert np.isfinite(expected)
            opts = dtw.dtw_options(window, len(a), len(b))
            fast = dtaidistance.dtw.distance_fast(a, b, **opts)
            python = dtaidistance.dtw.distance(a, b, use_c=False, **opts)
            # not squared: dtaidistance returns the square root
            assert fast == pytest.approx(math.sqrt(expected), rel=1e-9)
            assert python == pytest.approx(math.sqrt(expected), rel=1e-9)
            # ours: squared, same value whichever side is the row
            assert dtw.cross([a], [b], window)[0, 0] == pytest.approx(expected, rel=1e-9)
            assert dtw.cross([b], [a], window)[0, 0] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("window", [None, 0.1])
def test_c_matrix_parallel_and_python_matrix_match_the_reference(real_series, window):
    s = real_series
    if window is None:
        arg = None
    else:  # one dtaidistance window for the whole matrix: the radius of the longest series
        longest = max(map(len, s))
        arg = dtw.dtw_options(window, longest, longest)["window"]
    fast = dtaidistance.dtw.distance_matrix_fast(s, window=arg)
    parallel = dtaidistance.dtw.distance_matrix(s, use_c=True, parallel=True, window=arg)
    python = dtaidistance.dtw.distance_matrix(s, use_c=False, window=arg)
    for i in range(len(s)):
        for j in range(i + 1, len(s)):
            radius = None if arg is None else arg - 1
            expected = math.sqrt(reference_dtw(s[i], s[j], radius))
            for got in (fast[i, j], parallel[i, j], python[i, j], fast[j, i]):
                assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("window", WINDOWS)
def test_pairwise_and_cross_give_each_pair_its_own_radius(real_series, window):
    s = real_series
    expected = np.array(
        [
            [
                0.0 if i == j else reference_dtw(a, b, dtw.band_radius(window, len(a), len(b)))
                for j, b in enumerate(s)
            ]
            for i, a in enumerate(s)
        ]
    )
    matrix = dtw.pairwise(s, window)
    np.testing.assert_allclose(matrix, expected, rtol=1e-9)
    assert np.array_equal(matrix, matrix.T)
    np.testing.assert_allclose(dtw.cross(s[:3], s[3:], window), expected[:3, 3:], rtol=1e-9)


def test_short_series_with_a_diagonal_path_are_finite(ucr_root):
    """distance_fast's default pruning (use_pruning=True) can return inf when the best path is
    the diagonal (rounding against the Euclidean bound); the pipeline never prunes."""
    italy = load_dataset(ucr_root, "ItalyPowerDemand").series("train")
    short = [s[::12] for s in italy[:30]]  # length 2
    matrix = dtw.pairwise(short)
    for i in range(len(short)):
        for j in range(i + 1, len(short)):
            assert matrix[i, j] == pytest.approx(
                reference_dtw(short[i], short[j]), rel=1e-9, abs=1e-15
            )
            assert np.isfinite(dtw.cross([short[i]], [short[j]])[0, 0])


def test_a_narrow_window_never_makes_dtw_infinite(ucr_root):
    pebble = load_dataset(ucr_root, "GesturePebbleZ1").series("train")
    short, long = min(pebble, key=len), max(pebble, key=len)
    assert len(long) - len(short) > 0.01 * len(long)
    value = dtw.cross([short], [long], 0.01)[0, 0]
    assert np.isfinite(value)
    assert value == pytest.approx(
        reference_dtw(short[::1], long, dtw.band_radius(0.01, len(short), len(long))), rel=1e-9
    )


# --------------------------------------------------------------------------- datasets


def test_dataset_distance_is_the_minimum_over_prototype_pairs(real_series):
    sets = {"A": real_series[:2], "B": real_series[2:5], "C": real_series[5:]}
    matrix, new = similarity.dataset_matrix(sets, None)
    assert len(new) == 3
    for x in sets:
        for y in sets:
            expected = 0.0 if x == y else min(reference_dtw(a, b) for a in sets[x] for b in sets[y])
            assert matrix.loc[x, y] == pytest.approx(expected, rel=1e-9)
    assert matrix.index.name == "dataset"
    assert np.array_equal(matrix.to_numpy(), matrix.to_numpy().T)
    assert np.all(np.diag(matrix.to_numpy()) == 0)


def test_only_missing_pairs_are_computed(real_series):
    sets = {"A": real_series[:2], "B": real_series[2:5]}
    first, new = similarity.dataset_matrix(sets, None)
    sets["C"] = real_series[5:]
    second, added = similarity.dataset_matrix(sets, None, known=new)
    assert len(added) == 2  # A-C and B-C only
    assert second.loc["A", "B"] == first.loc["A", "B"]
    # an unknown window is a new key: everything is computed again
    _, again = similarity.dataset_matrix(sets, 0.1, known={**new, **added})
    assert len(again) == 3


def test_a_duplicated_dataset_is_its_own_nearest_neighbour(ucr_root):
    from transfer_tsc.similarity.prototypes import class_prototypes

    sets = {}
    for name in ("GunPoint", "ItalyPowerDemand", "ECGFiveDays", "CBF"):
        data = load_dataset(ucr_root, name)
        sets[name] = class_prototypes(
            name, data.series("train"), data.y_train, data.classes, iterations=3
        ).prototypes
    sets["GunPointCopy"] = [p.copy() for p in sets["GunPoint"]]
    matrix, _ = similarity.dataset_matrix(sets, None)
    ranked = similarity.neighbours(matrix)
    first = ranked[ranked["rank"] == 1].set_index("target")
    assert first.loc["GunPoint", "source"] == "GunPointCopy"
    assert first.loc["GunPointCopy", "source"] == "GunPoint"
    assert first.loc["GunPoint", "distance"] == 0.0
    assert np.array_equal(matrix.to_numpy(), matrix.to_numpy().T)
    assert np.all(np.diag(matrix.to_numpy()) == 0)


def test_neighbours_rank_every_other_dataset_nearest_first():
    names = ["A", "B", "C", "D"]
    values = np.array([[0, 3, 1, 2], [3, 0, 5, 5], [1, 5, 0, 4], [2, 5, 4, 0]], dtype=float)
    matrix = pd.DataFrame(values, index=pd.Index(names, name="dataset"), columns=names)
    table = similarity.neighbours(matrix)
    assert list(table.columns) == ["target", "rank", "source", "distance"]
    assert len(table) == 4 * 3
    assert list(table[table.target == "A"].source) == ["C", "D", "B"]
    assert list(table[table.target == "B"].source) == ["A", "C", "D"]  # tie 5/5 by name
    assert list(table[table.target == "B"]["rank"]) == [1, 2, 3]


# --------------------------------------------------------------------------- start-up check


def test_self_check_passes_with_dtaidistance():
    dtw.self_check(None)
    dtw.self_check(0.2)


def test_self_check_refuses_a_c_matrix_that_disagrees():
    def wrong_matrix(series, window_arg):
        return dtw._c_matrix(series, window_arg) * 1.001

    with pytest.raises(dtw.DTWCheckError, match="C library disagrees.*distance_matrix"):
        dtw.self_check(None, c_matrix=wrong_matrix)


def test_self_check_refuses_a_c_path_that_disagrees():
    def pruned(a, b, window_arg):  # what distance_fast's pruning returns on short series
        return math.inf

    with pytest.raises(dtw.DTWCheckError, match="warping_path_fast gives inf"):
        dtw.self_check(0.1, c_path_distance=pruned)


def test_self_check_reports_a_c_library_that_does_not_run():
    def broken(series, window_arg):
        raise ImportError("dtw_cc not found")

    with pytest.raises(dtw.DTWCheckError, match="could not be used.*dtw_cc not found"):
        dtw.self_check(None, c_matrix=broken)


# --------------------------------------------------------------------------- the rules

SMALL = ["Chinatown", "ItalyPowerDemand", "GunPoint"]
TARGETS = ["results/similarity/dtw_distance.csv", "results/similarity/neighbours.csv"]


def _jobs(stdout_and_err: str) -> dict[str, int]:
    """Snakemake's job-stats table: rule -> job count."""
    table = stdout_and_err.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.mark.workflow
def test_similarity_rules_on_real_data_and_adding_a_dataset(tmp_path, ucr_root):
    config = {"ucr_root": str(ucr_root), "datasets": SMALL, "data": {"fill_missing": True}}
    run_snakemake(tmp_path, config, *TARGETS)
    matrix = pd.read_csv(tmp_path / TARGETS[0], index_col="dataset")
    assert list(matrix.index) == sorted(SMALL) == list(matrix.columns)
    assert np.array_equal(matrix.to_numpy(), matrix.to_numpy().T)
    assert np.all(np.diag(matrix.to_numpy()) == 0)
    table = pd.read_csv(tmp_path / TARGETS[1])
    assert list(table.columns) == ["target", "rank", "source", "distance"]
    assert len(table) == 3 * 2
    for name in ("dtw_distance", "neighbours"):
        record = json.loads((tmp_path / f"results/similarity/{name}.json").read_text())
        assert record["window"] is None and record["measure"].startswith("squared DTW")
    assert "3 computed, 0 cached" in (tmp_path / "logs/similarity/dtw_distance.log").read_text()
    protos = {n: (tmp_path / f"results/prototypes/{n}.h5").stat().st_mtime_ns for n in SMALL}

    # nothing to do when nothing changed
    dry = run_snakemake(tmp_path, config, *TARGETS, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # add a variable-length dataset and one with missing values: their prototypes and the
    # new pairs only
    bigger = {**config, "datasets": SMALL + ["GesturePebbleZ1", "DodgerLoopDay"]}
    dry = run_snakemake(tmp_path, bigger, *TARGETS, "-n")
    assert _jobs(dry.stdout + dry.stderr) == {
        "prototypes": 2,
        "dtw_distance": 1,
        "dtw_neighbours": 1,
    }
    run_snakemake(tmp_path, bigger, *TARGETS)
    for name, mtime in protos.items():
        assert (tmp_path / f"results/prototypes/{name}.h5").stat().st_mtime_ns == mtime
    log = (tmp_path / "logs/similarity/dtw_distance.log").read_text()
    assert "10 pairs: 7 computed, 3 cached" in log  # 3 old pairs reused, 2 x 3 + 1 new
    grown = pd.read_csv(tmp_path / TARGETS[0], index_col="dataset")
    assert grown.shape == (5, 5) and np.isfinite(grown.to_numpy()).all()
    pd.testing.assert_frame_equal(grown.loc[sorted(SMALL), sorted(SMALL)], matrix)
    assert len(pd.read_csv(tmp_path / TARGETS[1])) == 5 * 4


@pytest.mark.workflow
def test_a_window_is_recorded_and_widening_is_logged(tmp_path, ucr_root):
    config = {
        "ucr_root": str(ucr_root),
        "datasets": ["ItalyPowerDemand", "GesturePebbleZ1"],
        "dtw": {"window": 0.05},
    }
    run_snakemake(tmp_path, config, *TARGETS)
    for name in ("dtw_distance", "neighbours"):
        record = json.loads((tmp_path / f"results/similarity/{name}.json").read_text())
        assert record["window"] == 0.05
    import h5py

    with h5py.File(tmp_path / "results/prototypes/GesturePebbleZ1.h5") as f:
        assert json.loads(f.attrs["window"]) == 0.05
    assert "widened" in (tmp_path / "logs/prototypes/GesturePebbleZ1.log").read_text()
    assert "widened" in (tmp_path / "logs/similarity/dtw_distance.log").read_text()
    assert np.isfinite(pd.read_csv(tmp_path / TARGETS[0], index_col="dataset").to_numpy()).all()


@pytest.mark.workflow
def test_similarity_rules_on_the_demo_archive(tmp_path):
    run_snakemake(tmp_path, {"ucr_root": "demo", "datasets": "all"}, *TARGETS)
    table = pd.read_csv(tmp_path / TARGETS[1])
    assert set(table.target) == {"CBF", "SyntheticControl", "TwoPatterns"}
    assert len(table) == 3 * 2
