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
    for name, classes in [("DistalPhalanxTW", "3 4 5 6 7 8"), ("ECG200", "-1 1"), ("Coffee", "0 1")]:
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
    raw = data.load_dataset(ucr_root, "Chinatown")  # not z-normalised in the archive
    normalised = data.load_dataset(ucr_root, "Chinatown", znormalise=True)
    assert abs(raw.x_train[0].mean()) > 1
    np.testing.assert_allclose(normalised.x_train.mean(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(normalised.x_train.std(axis=1), 1, atol=1e-9)
    expected = (raw.x_train[3] - raw.x_train[3].mean()) / raw.x_train[3].std()
    np.testing.assert_allclose(normalised.x_train[3], expected)


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
    assert (again / "CBF" / "CBF_TRAIN.tsv").read_bytes() == (tmp_path / "CBF" / "CBF_TRAIN.tsv").read_bytes()
