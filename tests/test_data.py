"""The UCR loaders against the subset's INVENTORY.tsv, the 2015 layout and label encoding."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from transfer_tsc import data
from transfer_tsc.demo import DEMO_DATASETS, write_demo_dataset


def inventory(root):
    with open(root / "INVENTORY.tsv") as f:
        return {row["name"]: row for row in csv.DictReader(f, delimiter="\t")}


def test_every_dataset_matches_the_inventory(ucr_root):
    rows = inventory(ucr_root)
    assert sorted(rows) == data.list_datasets(ucr_root)
    for name, row in rows.items():
        missing = int(row["missing_inside"])
        dataset = data.load_dataset(ucr_root, name, fill_missing=missing > 0)
        assert len(dataset.y_train) == int(row["n_train"]), name
        assert len(dataset.y_test) == int(row["n_test"]), name
        assert dataset.n_classes == int(row["classes"]), name
        assert " ".join(dataset.classes) == row["labels"], name
        assert set(np.unique(dataset.y_train)) == set(range(dataset.n_classes)), name
        assert dataset.x_train.shape == (len(dataset.y_train), int(row["length_max"])), name
        if missing == 0:
            lengths = np.concatenate([dataset.lengths_train, dataset.lengths_test])
            assert lengths.max() == int(row["length_max"]), name
            assert lengths.min() == int(row["length_min"]), name
            assert not np.isnan(np.concatenate(dataset.series("train"))).any(), name


def test_labels_are_encoded_in_order_of_the_files_labels(ucr_root):
    # DistalPhalanxTW has labels 3..8, ECG200 -1/1, Coffee 0/1
    for name, classes in [
        ("DistalPhalanxTW", "3 4 5 6 7 8"),
        ("ECG200", "-1 1"),
        ("Coffee", "0 1"),
    ]:
        dataset = data.load_dataset(ucr_root, name)
        assert " ".join(dataset.classes) == classes
        labels, _ = data.read_split(data.split_file(ucr_root, name, "TRAIN"))
        decoded = [dataset.classes[c] for c in dataset.y_train]
        assert decoded == data.canonical_labels(labels)


def test_string_labels_are_encoded_and_kept(tmp_path):
    folder = tmp_path / "Words"
    folder.mkdir()
    rows = {"TRAIN": ["cat", "dog", "cat", "emu"], "TEST": ["dog", "emu"]}
    for split, labels in rows.items():
        lines = [f"{label}\t{i}\t{i + 1}\t{i * 2}" for i, label in enumerate(labels)]
        (folder / f"Words_{split}.tsv").write_text("\n".join(lines) + "\n")
    dataset = data.load_dataset(tmp_path, "Words")
    assert dataset.classes == ("cat", "dog", "emu")
    assert dataset.y_train.tolist() == [0, 1, 0, 2]
    assert dataset.y_test.tolist() == [1, 2]


def test_variable_length_series_keep_their_lengths(ucr_root):
    dataset = data.load_dataset(ucr_root, "GesturePebbleZ1")
    assert dataset.variable_length
    raw = np.loadtxt(ucr_root / "GesturePebbleZ1" / "GesturePebbleZ1_TRAIN.tsv", delimiter="\t")
    for row, series in zip(raw[:, 1:], dataset.series("train")):
        assert len(series) == np.count_nonzero(~np.isnan(row))
        np.testing.assert_array_equal(series, row[: len(series)])
    x = dataset.network_input("train")
    assert x.shape == (len(dataset.y_train), dataset.length, 1)
    assert not np.isnan(x).any()


def test_missing_values_are_interpolated_when_asked(ucr_root):
    dataset = data.load_dataset(ucr_root, "DodgerLoopDay", fill_missing=True)
    raw = np.loadtxt(ucr_root / "DodgerLoopDay" / "DodgerLoopDay_TRAIN.tsv", delimiter="\t")[:, 1:]
    row = int(np.argmax(np.isnan(raw).any(axis=1)))
    gaps = np.isnan(raw[row])
    t = np.arange(raw.shape[1])
    expected = np.interp(t, t[~gaps], raw[row, ~gaps])
    np.testing.assert_allclose(dataset.x_train[row], expected)
    assert not np.isnan(dataset.x_train).any()


def test_znormalisation_is_per_series_and_optional(ucr_root):
    raw = data.load_dataset(
        ucr_root, "Chinatown", znormalise=False
    )  # not normalised in the archive
    normalised = data.load_dataset(ucr_root, "Chinatown", znormalise=True)
    assert abs(raw.x_train[0].mean()) > 1
    np.testing.assert_allclose(normalised.x_train.mean(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(normalised.x_train.std(axis=1), 1, atol=1e-9)
    expected = (raw.x_train[3] - raw.x_train[3].mean()) / raw.x_train[3].std()
    np.testing.assert_allclose(normalised.x_train[3], expected)


NOT_NORMALISED = {
    "Chinatown": False,
    "BME": False,
    "PowerCons": False,
    "GesturePebbleZ1": False,
    "DodgerLoopDay": True,
}  # name: fill_missing


def test_znormalise_auto_leaves_every_paper_dataset_as_read_and_normalises_the_others(
    ucr_root, caplog
):
    caplog.set_level("INFO", logger="transfer_tsc")
    rows = inventory(ucr_root)
    paper = [name for name, row in rows.items() if row["name_2015"]]
    assert len(paper) == 47
    for name in paper:
        fill = int(rows[name]["missing_inside"]) > 0
        auto = data.load_dataset(ucr_root, name, znormalise="auto", fill_missing=fill)
        raw = data.load_dataset(ucr_root, name, znormalise=False, fill_missing=fill)
        for split in ("x_train", "x_test"):
            assert np.array_equal(getattr(auto, split), getattr(raw, split), equal_nan=True), name
    assert caplog.records == []
    for name, fill in NOT_NORMALISED.items():
        auto = data.load_dataset(ucr_root, name, znormalise="auto", fill_missing=fill)
        forced = data.load_dataset(ucr_root, name, znormalise=True, fill_missing=fill)
        np.testing.assert_array_equal(auto.x_train, forced.x_train)
        np.testing.assert_array_equal(auto.x_test, forced.x_test)
        means = [s.mean() for s in auto.series("test")]
        np.testing.assert_allclose(means, 0, atol=1e-9)
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == len(NOT_NORMALISED)
    for line, name in zip(logged, NOT_NORMALISED):
        assert line.startswith(f"{name}: not z-normalised") and "data.znormalise: auto" in line


def _two_class_files(root, name, shift: float, scale: float):
    """Series of length 20, each z-normalised (population std) and then moved by ``shift`` and
    stretched by ``scale``: their mean is ``shift`` and their std ``scale`` exactly."""
    rng = np.random.default_rng(3)
    folder = root / name
    folder.mkdir(parents=True)
    for split in data.SPLITS:
        lines = []
        for label in (1, 2, 1, 2):
            x = rng.normal(size=20)
            x = (x - x.mean()) / x.std() * scale + shift
            lines.append("\t".join([str(label)] + [repr(float(v)) for v in x]))
        (folder / f"{name}_{split}.tsv").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("shift", "scale", "normalised"),
    [
        (0.0, 1.0, False),
        (0.04, 1.0, False),
        (0.06, 1.0, True),
        (0.0, 0.96, False),
        (0.0, 0.94, True),
        (0.0, 1.06, True),
        (-0.06, 1.0, True),
    ],
)
def test_znormalise_auto_tolerance_on_the_mean_and_the_std(tmp_path, shift, scale, normalised):
    _two_class_files(tmp_path, "Made", shift, scale)
    raw = data.load_dataset(tmp_path, "Made", znormalise=False)
    auto = data.load_dataset(tmp_path, "Made", znormalise="auto")
    if normalised:
        expected = (raw.x_train - raw.x_train.mean(1, keepdims=True)) / raw.x_train.std(
            1, keepdims=True
        )
        np.testing.assert_allclose(auto.x_train, expected, atol=1e-12)
    else:
        assert np.array_equal(auto.x_train, raw.x_train)


def test_znormalise_refuses_other_values(tmp_path):
    _two_class_files(tmp_path, "Made", 0.0, 1.0)
    with pytest.raises(data.InputError, match="data.znormalise: 'yes' is not one of auto"):
        data.load_dataset(tmp_path, "Made", znormalise="yes")


@pytest.mark.parametrize("suffix", ["", ".csv"])
def test_the_2015_layout_reads_like_the_2018_one(ucr_root, tmp_path, suffix):
    for name in ["Coffee", "ECG200", "DistalPhalanxTW"]:
        folder = tmp_path / name
        folder.mkdir()
        for split in data.SPLITS:
            text = (ucr_root / name / f"{name}_{split}.tsv").read_text()
            # the 2015 files wrote labels as floats, comma-separated
            lines = []
            for line in text.splitlines():
                label, *values = line.split("\t")
                lines.append(",".join([f"{float(label):.7e}", *values]))
            (folder / f"{name}_{split}{suffix}").write_text("\n".join(lines) + "\n")
        old = data.load_dataset(tmp_path, name)
        new = data.load_dataset(ucr_root, name)
        assert old.classes == new.classes
        np.testing.assert_array_equal(old.y_train, new.y_train)
        np.testing.assert_array_equal(old.y_test, new.y_test)
        np.testing.assert_array_equal(old.x_test, new.x_test)
    assert data.list_datasets(tmp_path) == ["Coffee", "DistalPhalanxTW", "ECG200"]


def test_demo_archive_is_a_valid_ucr_2018_archive(tmp_path):
    for name in DEMO_DATASETS:
        write_demo_dataset(tmp_path, name, seed=3)
    assert data.list_datasets(tmp_path) == sorted(DEMO_DATASETS)
    for name, (_, classes, n_train, n_test) in DEMO_DATASETS.items():
        dataset = data.load_dataset(tmp_path, name)
        assert dataset.n_classes == classes
        assert (len(dataset.y_train), len(dataset.y_test)) == (n_train, n_test)
        np.testing.assert_allclose(dataset.x_train.mean(axis=1), 0, atol=1e-5)
    again = tmp_path / "again"
    write_demo_dataset(again, "CBF", seed=3)
    assert (again / "CBF" / "CBF_TRAIN.tsv").read_bytes() == (
        tmp_path / "CBF" / "CBF_TRAIN.tsv"
    ).read_bytes()


@pytest.mark.parametrize("name", ["BME", "Coffee"])
def test_the_train_split_alone_reads_as_in_the_whole_dataset(ucr_root, name):
    whole = data.load_dataset(ucr_root, name, znormalise="auto")
    train = data.load_dataset_files(
        name, data.split_file(ucr_root, name, "TRAIN").path, None, znormalise="auto"
    )
    assert np.array_equal(train.x_train, whole.x_train) and train.classes == whole.classes
    assert np.array_equal(train.y_train, whole.y_train)
    assert train.x_test.shape == (0, whole.x_train.shape[1]) and len(train.y_test) == 0
    assert train.length == whole.length
