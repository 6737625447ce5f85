"""Class prototypes (Algorithm 1, lines 1-7): the medoid, DBA and its inertia, the file."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from dtaidistance import dtw_barycenter

from transfer_tsc.data import load_dataset
from transfer_tsc.errors import InputError
from transfer_tsc.similarity import dtw, prototypes


def reference_dtw(a, b, radius=None):
    """Squared DTW from the definition (band: the two diagonals widened by ``radius``)."""
    n, m = len(a), len(b)
    lo, hi = (-np.inf, np.inf)
    if radius is not None:
        lo, hi = (-radius, n - m + radius) if n >= m else (-(m - n) - radius, radius)
    cost = np.full((n + 1, m + 1), np.inf)
    cost[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if lo <= i - j <= hi:
                cost[i, j] = (a[i - 1] - b[j - 1]) ** 2 + min(
                    cost[i - 1, j], cost[i, j - 1], cost[i - 1, j - 1]
                )
    return cost[n, m]


def class_of(ucr_root, name, code, fill_missing=False):
    data = load_dataset(ucr_root, name, fill_missing=fill_missing)
    series = data.series("train")
    return [series[i] for i in np.flatnonzero(data.y_train == code)]


@pytest.mark.parametrize("window", [None, 0.1])
def test_medoid_is_the_brute_force_medoid(ucr_root, window):
    members = [s[::4] for s in class_of(ucr_root, "GunPoint", 0)[:9]]  # 9 series of length 38
    members += [s[::3] for s in class_of(ucr_root, "GesturePebbleZ1", 0)[:3]]  # other lengths
    sums = [
        sum(reference_dtw(a, b, dtw.band_radius(window, len(a), len(b))) for b in members)
        for a in members
    ]
    index, total = prototypes.medoid(members, window)
    assert index == int(np.argmin(sums))
    assert total == pytest.approx(min(sums), rel=1e-9)


def test_medoid_of_one_series():
    assert prototypes.medoid([np.arange(5.0)]) == (0, 0.0)


@pytest.mark.parametrize(
    "name, code, window",
    [
        ("Coffee", 0, None),
        ("ECG200", 1, None),
        ("FaceFour", 2, 0.1),
        ("GesturePebbleZ1", 4, None),  # variable lengths
        ("GesturePebbleZ1", 4, 0.05),  # variable lengths, widened bands
        ("DodgerLoopDay", 0, None),  # filled gaps and trailing padding
    ],
)
def test_dba_inertia_never_increases(ucr_root, name, code, window):
    members = class_of(ucr_root, name, code, fill_missing=True)
    start, _ = prototypes.medoid(members, window)
    result = prototypes.dba(members, members[start], 10, window)
    assert result.inertia.shape == (11,)
    assert len(result.barycenter) == len(members[start])
    steps = np.diff(result.inertia)
    assert np.all(steps <= 1e-12 * result.inertia[0]), steps
    assert result.inertia[-1] < result.inertia[0]
    # inertia[0] is the medoid's sum of squared DTW to the class
    assert result.inertia[0] == pytest.approx(dtw.pairwise(members, window)[start].sum(), rel=1e-9)


def test_inertia_is_the_sum_of_squared_dtw_to_the_average(ucr_root):
    members = [s[::5] for s in class_of(ucr_root, "ItalyPowerDemand", 1)[:6]]
    result = prototypes.dba(members, members[0], 3, 0.2)
    radius = dtw.band_radius(0.2, len(members[0]), len(members[0]))
    expected = sum(reference_dtw(result.barycenter, s, radius) for s in members)
    assert result.inertia[-1] == pytest.approx(expected, rel=1e-9)


def test_a_class_of_identical_series_gives_that_series(ucr_root):
    series = class_of(ucr_root, "GunPoint", 1)[0]
    members = [series.copy() for _ in range(6)]
    index, total = prototypes.medoid(members)
    assert total == 0.0
    result = prototypes.dba(members, members[index], 10)
    # the mean of six equal numbers, to the last bit or one ulp
    np.testing.assert_allclose(result.barycenter, series, rtol=4e-16, atol=0)
    assert result.inertia[0] == 0.0 and np.all(result.inertia < 1e-28)


@pytest.mark.parametrize("name", ["Coffee", "Beef"])
def test_dba_is_dtaidistances_dba(ucr_root, name):
    """The same update as dtaidistance's own DBA (C and Python), iteration for iteration."""
    members = class_of(ucr_root, name, 0)
    start, _ = prototypes.medoid(members)
    ours = prototypes.dba(members, members[start], 10).barycenter
    matrix = np.vstack(members)
    c_version = dtw_barycenter.dba_loop(
        matrix, members[start].copy(), max_it=10, thr=None, use_c=True
    )
    np.testing.assert_allclose(ours, c_version, rtol=0, atol=1e-10)
    python_version = dtw_barycenter.dba_loop(
        members, members[start].copy(), max_it=2, thr=None, use_c=False
    )
    two = prototypes.dba(members, members[start], 2).barycenter
    np.testing.assert_allclose(two, python_version, rtol=0, atol=1e-10)


def test_class_prototypes_from_the_train_split(ucr_root):
    data = load_dataset(ucr_root, "GesturePebbleZ1")
    result = prototypes.class_prototypes(
        "GesturePebbleZ1", data.series("train"), data.y_train, data.classes, None, 4
    )
    assert result.classes == data.classes
    assert len(result.prototypes) == data.n_classes
    assert result.inertia.shape == (data.n_classes, 5)
    assert list(result.class_size) == [
        int((data.y_train == k).sum()) for k in range(data.n_classes)
    ]
    for k, p in enumerate(result.prototypes):
        row = result.medoid_index[k]
        assert data.y_train[row] == k
        assert len(p) == data.lengths_train[row]  # DBA keeps the medoid's length
        assert np.isfinite(p).all()


def test_file_round_trip_records_the_settings(tmp_path, ucr_root):
    data = load_dataset(ucr_root, "DodgerLoopDay", fill_missing=True)
    result = prototypes.class_prototypes(
        "DodgerLoopDay", data.series("train"), data.y_train, data.classes, 0.1, 2
    )
    path = tmp_path / "DodgerLoopDay.h5"
    prototypes.write_prototypes(path, result, znormalise=False, fill_missing=True)
    back = prototypes.read_prototypes(path)
    assert back.classes == result.classes and back.window == 0.1 and back.iterations == 2
    for a, b in zip(back.prototypes, result.prototypes):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.inertia, result.inertia)
    np.testing.assert_array_equal(back.medoid_index, result.medoid_index)
    assert back.digest == result.digest
    with h5py.File(path) as f:
        assert json.loads(f.attrs["window"]) == 0.1
        assert f.attrs["dba_iterations"] == 2
        assert f.attrs["split"] == "TRAIN"
        assert bool(f.attrs["fill_missing"]) is True
        assert f.attrs["measure"].startswith("squared DTW")


def test_reading_a_file_that_is_not_a_prototypes_file(tmp_path):
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(InputError, match="not a prototypes file"):
        prototypes.read_prototypes(path)
    (tmp_path / "broken.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="broken.h5"):
        prototypes.read_prototypes(tmp_path / "broken.h5")
