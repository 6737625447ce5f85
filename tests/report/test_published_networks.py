"""The other networks' published accuracies (FCN, ResNet from dl-4-tsc; Inception and
InceptionTime from InceptionTime) as shipped data, checked against the files' raw text."""

from __future__ import annotations

import csv
import io
import math
import statistics
from importlib import resources

import pytest

from transfer_tsc import data
from transfer_tsc.errors import InputError
from transfer_tsc.report import published

FOLDER = resources.files("transfer_tsc").joinpath("published")
# (network, archive): (file, datasets, runs per dataset)
EXPECTED = {
    ("fcn", "ucr2015"): ("dl-4-tsc_results-uea.csv", 85, 10),
    ("resnet", "ucr2015"): ("dl-4-tsc_results-uea.csv", 85, 10),
    ("fcn", "ucr2018"): ("dl-4-tsc_results-ucr-128.csv", 128, 5),
    ("resnet", "ucr2018"): ("dl-4-tsc_results-ucr-128.csv", 128, 5),
    ("inception", "ucr2018"): ("InceptionTime_results-inception-128.csv", 128, 5),
    ("inceptiontime", "ucr2015"): ("InceptionTime_results-InceptionTime-85.csv", 85, 1),
    ("inceptiontime", "ucr2018"): ("InceptionTime_results-InceptionTime-128.csv", 128, 1),
}


def raw_rows(name: str) -> list[dict[str, str]]:
    """The shipped file's rows as text, read with the csv module (not the reader)."""
    return list(csv.DictReader(io.StringIO(FOLDER.joinpath(name).read_text())))


def raw_accuracy(name: str, classifier: str, dataset: str, iteration: str) -> str:
    (row,) = [
        r
        for r in raw_rows(name)
        if r["classifier_name"] == classifier
        and r["dataset_name"] == dataset
        and r["iteration"] == iteration
    ]
    return row["accuracy"]


def reader_value(network: str, archive: str, dataset: str, run: int) -> float:
    runs = published.network_runs(network, archive)
    (value,) = runs[(runs["dataset"] == dataset) & (runs["run"] == run)]["accuracy"]
    return float(value)


def test_the_files_install_with_the_package_and_the_readme_names_the_sources():
    for file, _, _ in EXPECTED.values():
        assert FOLDER.joinpath(file).is_file(), file
    readme = FOLDER.joinpath("README.md").read_text()
    for text in ("hfawaz/dl-4-tsc", "e0233efd886d", "hfawaz/InceptionTime", "952d115e83fb"):
        assert text in readme, text


@pytest.mark.parametrize(
    ("network", "archive", "file", "classifier", "raw_name", "iteration", "text", "name", "run"),
    [
        # dl-4-tsc_results-uea.csv, line 63: fcn,TSC,50words,0.0,...,0.4549450549450549,...
        ("fcn", "ucr2015", "dl-4-tsc_results-uea.csv", "fcn", "50words", "0.0",
         "0.4549450549450549", "FiftyWords", 0),
        # dl-4-tsc_results-ucr-128.csv, line 3: resnet,UCRArchive_2018,Adiac,0.0,...
        ("resnet", "ucr2018", "dl-4-tsc_results-ucr-128.csv", "resnet", "Adiac", "0.0",
         "0.8516624040920716", "Adiac", 0),
        # InceptionTime_results-inception-128.csv, line 386: inception,UCRArchive_2018,Wafer,3.0,...
        ("inception", "ucr2018", "InceptionTime_results-inception-128.csv", "inception", "Wafer",
         "3.0", "0.9985399091499026", "Wafer", 3),
        # InceptionTime_results-InceptionTime-85.csv, line 2: 0,InceptionTime,TSC,Cricket_Z,0.0,...
        ("inceptiontime", "ucr2015", "InceptionTime_results-InceptionTime-85.csv",
         "InceptionTime", "Cricket_Z", "0.0", "0.8589743589743589", "CricketZ", 0),
    ],
)  # fmt: skip
def test_hand_checked_cells(
    network, archive, file, classifier, raw_name, iteration, text, name, run
):
    assert raw_accuracy(file, classifier, raw_name, iteration) == text
    assert reader_value(network, archive, name, run) == float(text)


def test_2015_names_map_to_2018_names():
    names = set(data.ucr2015_names().values())
    for network in ("fcn", "resnet", "inceptiontime"):
        runs = published.network_runs(network, "ucr2015")
        assert set(runs["dataset"]) == names, network
        assert "FiftyWords" in set(runs["dataset"]) and "50words" not in set(runs["dataset"])
    # The 10 FCN runs of 50words are those of FiftyWords, in run order.
    raw = [
        float(r["accuracy"])
        for r in raw_rows("dl-4-tsc_results-uea.csv")
        if r["classifier_name"] == "fcn" and r["dataset_name"] == "50words"
    ]
    runs = published.network_runs("fcn", "ucr2015")
    assert runs[runs["dataset"] == "FiftyWords"]["accuracy"].tolist() == raw


@pytest.mark.parametrize(("network", "archive"), list(EXPECTED))
def test_counts_of_datasets_and_runs(network, archive):
    _, n_datasets, n_runs = EXPECTED[(network, archive)]
    runs = published.network_runs(network, archive)
    assert list(runs.columns) == ["dataset", "run", "accuracy"]
    assert runs["dataset"].nunique() == n_datasets and len(runs) == n_datasets * n_runs
    for _, group in runs.groupby("dataset"):
        assert group["run"].tolist() == list(range(n_runs))
    assert ((runs["accuracy"] >= 0) & (runs["accuracy"] <= 1)).all()
    summary = published.network_summary(network, archive)
    assert list(summary.columns) == ["dataset", "mean", "std", "runs", "min", "max"]
    assert len(summary) == n_datasets and (summary["runs"] == n_runs).all()
    assert summary["std"].isna().all() == (n_runs == 1)


def test_summary_against_the_raw_runs():
    # ResNet on Gun_Point (2015 archive): its 10 runs read as text.
    raw = [
        float(r["accuracy"])
        for r in raw_rows("dl-4-tsc_results-uea.csv")
        if r["classifier_name"] == "resnet" and r["dataset_name"] == "Gun_Point"
    ]
    assert len(raw) == 10
    summary = published.network_summary("resnet", "ucr2015").set_index("dataset")
    row = summary.loc["GunPoint"]
    assert row["mean"] == pytest.approx(statistics.mean(raw), abs=1e-15)
    assert row["std"] == pytest.approx(statistics.stdev(raw), abs=1e-15)  # ddof=1
    assert (row["runs"], row["min"], row["max"]) == (10, min(raw), max(raw))
    # InceptionTime: one ensemble value per dataset, no spread.
    one = published.network_summary("inceptiontime", "ucr2018").set_index("dataset").loc["Crop"]
    assert one["mean"] == one["min"] == one["max"] == 0.7722023809523809
    assert one["runs"] == 1 and math.isnan(one["std"])


def test_means_over_the_85_datasets_match_the_published_ones():
    # FCN 0.809, ResNet 0.825 (dl-4-tsc), InceptionTime 0.850 (InceptionTime paper).
    for network, value in (("fcn", 0.809), ("resnet", 0.825), ("inceptiontime", 0.850)):
        summary = published.network_summary(network, "ucr2015")
        assert summary["mean"].mean() == pytest.approx(value, abs=5e-4), network


@pytest.mark.parametrize(
    ("network", "archive", "names"),
    [
        ("FCN", "ucr2015", "fcn, resnet, inception, inceptiontime"),
        ("lstm", "ucr2018", "fcn, resnet, inception, inceptiontime"),
        ("fcn", "ucr2016", "ucr2015, ucr2018"),
        ("inception", "ucr2015", "inception on ucr2018"),
    ],
)
def test_refuses_an_unknown_network_or_archive(network, archive, names):
    for reader in (published.network_runs, published.network_summary):
        with pytest.raises(InputError, match=names):
            reader(network, archive)


def test_a_resnet_study_is_compared_with_the_published_runs():
    """network_comparison: ours against the mean of the 5 published ResNet runs of the 2018
    archive, the spread as mean +- 2 sd or 2 points; computed here from the raw rows."""
    import pandas as pd

    rows = [
        r
        for r in raw_rows("dl-4-tsc_results-ucr-128.csv")
        if r["classifier_name"] == "resnet" and r["dataset_name"] in ("Coffee", "GunPoint", "Beef")
    ]
    runs = {
        name: [float(r["accuracy"]) for r in rows if r["dataset_name"] == name]
        for name in ("Beef", "Coffee", "GunPoint")
    }
    mean = {name: statistics.mean(values) for name, values in runs.items()}
    sd = {name: statistics.stdev(values) for name, values in runs.items()}
    ours = pd.Series(
        {
            "Beef": mean["Beef"] + 2 * sd["Beef"] + 0.03,  # outside both
            "Coffee": mean["Coffee"] - 0.015,  # within 2 points
            "GunPoint": mean["GunPoint"],
            "Chinatown2": 0.5,  # no published runs: left out
        }
    )
    table = published.network_comparison(ours, "resnet")
    assert published.datasets_row(table)["n"] == 3
    per = table[(table["section"] == "scratch") & table["dataset"].notna()].set_index("dataset")
    assert list(per.index) == ["Beef", "Coffee", "GunPoint"]
    for name in per.index:
        assert per.loc[name, "published"] == pytest.approx(mean[name])
        assert per.loc[name, "value"] == pytest.approx(ours[name] - mean[name])
    assert "outside" in per.loc["Beef", "note"] and "within" in per.loc["Coffee", "note"]
    spread = published.statistic(table, "scratch", "within the published spread")
    assert (spread["n"], spread["n_missing"]) == (2, 1)
    mad = published.statistic(table, "scratch", "mean absolute difference")
    expected = statistics.mean(abs(ours[name] - mean[name]) for name in mean)
    assert mad["value"] == pytest.approx(expected)
    assert published.datasets_row(published.network_comparison(ours, "inception", []))["n"] == 0
