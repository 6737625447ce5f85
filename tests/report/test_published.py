"""The paper's published results as shipped data, and the comparison of a run with them against
hand-computed values."""

from __future__ import annotations

import io
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_analysis import matrix, neighbours, scratch

from transfer_tsc import data
from transfer_tsc.report import analysis, figures, published

# --------------------------------------------------------------------------- the shipped data


def test_the_data_files_install_with_the_package_and_name_the_source():
    folder = resources.files("transfer_tsc").joinpath("published")
    for name in ("transfer_accuracy.csv", "scratch_accuracy.csv", "neighbours.csv", "README.md"):
        assert folder.joinpath(name).is_file(), name
    readme = folder.joinpath("README.md").read_text()
    assert "hfawaz/bigdata18" in readme and "bf1bc3d" in readme
    # Under the 2015 names as published.
    raw = pd.read_csv(io.StringIO(folder.joinpath("scratch_accuracy.csv").read_text()))
    assert set(raw["dataset"]) == set(data.ucr2015_names())
    assert "50words" in set(raw["dataset"]) and "FiftyWords" not in set(raw["dataset"])


def test_readers_give_the_85_datasets_under_their_2018_names():
    paper = published.load()
    names = set(data.ucr2015_names().values())
    assert set(paper.scratch.index) == names and len(names) == 85
    assert set(paper.transfer.index) == set(paper.transfer.columns) == names
    off = ~np.eye(85, dtype=bool)
    values = paper.transfer.loc[sorted(names), sorted(names)].to_numpy()
    assert np.isnan(np.diag(values)).all() and not np.isnan(values[off]).any()
    assert ((values[off] >= 0) & (values[off] <= 1)).all()
    # The checked from-scratch accuracies (derived from the two published matrices).
    for name, value in {
        "MoteStrain": 0.9337,
        "ECGFiveDays": 0.9895,
        "CBF": 0.9944,
        "DiatomSizeReduction": 0.3039,
        "GunPoint": 1.0,
    }.items():
        assert paper.scratch[name] == pytest.approx(value, abs=5e-5), name
    # Each target ranks the 84 others once, 1 .. 84; no distances are published.
    table = paper.neighbours
    assert len(table) == 85 * 84 and table["distance"].isna().all()
    for target, ranked in table.groupby("target"):
        assert ranked["rank"].tolist() == list(range(1, 85))
        assert set(ranked["source"]) == names - {target}
    # The paper's first DTW neighbour of 50words is WordsSynonyms (similar_datasets.csv, K_1),
    # the 2018 archive's WordSynonyms.
    first = table[(table["target"] == "FiftyWords") & (table["rank"] == 1)]["source"]
    assert first.tolist() == ["WordSynonyms"]
    # The published fine-tuned accuracy of Phoneme from DiatomSizeReduction (first row, rows
    # source).
    assert paper.transfer.loc["DiatomSizeReduction", "Phoneme"] == pytest.approx(0.3190928270042194)


# --------------------------------------------------------------------------- hand-made study

NAMES = ["X", "Y", "Z"]
PAPER_TRANSFER = {
    "X": {"Y": 0.80, "Z": 0.60},
    "Y": {"X": 0.70, "Z": 0.50},
    "Z": {"X": 0.90, "Y": 0.40},
}
# Ours: Y -> Z not run; W is a dataset outside the paper, with results of its own.
OURS_TRANSFER = {
    "X": {"Y": 0.85, "Z": 0.50, "W": 0.3},
    "Y": {"X": 0.60},
    "Z": {"X": 0.95, "Y": 0.20},
    "W": {"X": 0.99, "Y": 0.99, "Z": 0.99},
}


def hand_made() -> tuple[published.Results, published.Results]:
    paper = published.Results(
        scratch({"X": 0.75, "Y": 0.50, "Z": 0.55}),
        matrix(PAPER_TRANSFER, NAMES),
        neighbours({"X": ["Y", "Z"], "Y": ["X", "Z"], "Z": ["Y", "X"]}),
    )
    ours = published.Results(
        scratch({"X": 0.70, "Y": 0.60, "Z": 0.55, "W": 0.5}),
        matrix(OURS_TRANSFER, NAMES + ["W"]),
        neighbours(
            {"X": ["W", "Z", "Y"], "Y": ["X", "Z", "W"], "Z": ["X", "W", "Y"], "W": ["X", "Y", "Z"]}
        ),
    )
    return ours, paper


def row(table: pd.DataFrame, section: str, name: str) -> pd.Series:
    return published.statistic(table, section, name)


def test_comparison_on_a_hand_made_pair_of_studies():
    ours, paper = hand_made()
    table = published.comparison(ours, paper, draws=200, seed=3)
    assert list(table.columns) == list(published.COMPARISON_COLUMNS)
    shared = row(table, "datasets", "shared with the paper")
    assert shared["n"] == 3 and shared["n_missing"] == 1  # W left out

    # scratch: differences -0.05, +0.10, 0 -> mean |d| 0.05, median 0.05
    per = table[(table["section"] == "scratch") & table["dataset"].notna()].set_index("dataset")
    assert per.index.tolist() == NAMES
    assert per["value"].to_numpy() == pytest.approx([-0.05, 0.10, 0.0])
    assert per.loc["Y", "ours"] == 0.60 and per.loc["Y", "published"] == 0.50
    assert row(table, "scratch", "mean absolute difference")["value"] == pytest.approx(0.05)
    assert row(table, "scratch", "median absolute difference")["value"] == pytest.approx(0.05)
    assert row(table, "scratch", "mean absolute difference")["n"] == 3

    # transfer over the 5 pairs both have: |d| = .05 .10 .10 .05 .20 -> mean .10, median .10;
    # Y -> Z not run: left out and counted
    mad = row(table, "transfer", "mean absolute difference")
    assert mad["value"] == pytest.approx(0.10) and mad["n"] == 5 and mad["n_missing"] == 1
    assert row(table, "transfer", "median absolute difference")["value"] == pytest.approx(0.10)
    # gains ours: X>Y +.25, X>Z -.05, Y>X -.10, Z>X +.25, Z>Y -.40
    # published: X>Y +.30, X>Z +.05, Y>X -.05, Z>X +.15, Z>Y -.10 -> 4 of 5 agree
    sign = row(table, "transfer", "gain sign agreement")
    assert sign["value"] == pytest.approx(0.8) and sign["n"] == 5
    assert sign["ours"] == pytest.approx(0.4) and sign["published"] == pytest.approx(0.6)

    # neighbours without W: ours X [Z, Y], Y [X, Z], Z [X, Y]; paper X [Y, Z], Y [X, Z], Z [Y, X]
    assert row(table, "neighbours", "top-1 agreement")["value"] == pytest.approx(1 / 3)
    assert row(table, "neighbours", "top-5 overlap")["value"] == pytest.approx(1.0)  # k = 2
    assert row(table, "neighbours", "Spearman correlation")["value"] == pytest.approx(-1 / 3)

    # Fig. 6 on the shared pairs our run has: Z has one source (X) in both -> tie (the paper's
    # Y -> Z is not used); X: ours nearest Z (0.95, the best) wins, the paper's nearest Y
    # (0.70, the worst) loses; Y: both nearest X, the best, win.
    counts = {name: row(table, "fig6", f"DTW {name}") for name in ("wins", "ties", "losses")}
    assert [counts[k]["ours"] for k in ("wins", "ties", "losses")] == [2, 0 + 1, 0]
    assert [counts[k]["published"] for k in ("wins", "ties", "losses")] == [1, 1, 1]
    assert counts["wins"]["value"] == 1 and counts["wins"]["n"] == 3
    assert row(table, "fig6", "outcome agreement")["value"] == pytest.approx(2 / 3)


def test_neighbour_agreement_top_five_and_spearman_by_hand_and_by_scipy():
    shared = list("ABCDEFG")
    ours = neighbours({"A": ["G", "C", "D", "Q", "E", "F", "B"], "B": list("ACDEFG")})
    paper = neighbours(
        {"A": ["B", "C", "D", "E", "P", "F", "G"], "B": list("ACDEFG"), "C": list("ABDEFG")}
    )
    agreement = published.neighbour_agreement(ours, paper, shared).set_index("target")
    assert agreement.index.tolist() == ["A", "B"]  # C has no ranking of ours
    # A without P and Q: ours G C D E F B, paper B C D E F G
    assert agreement.loc["A", "n_sources"] == 6
    assert agreement.loc["A", "top1"] == 0 and agreement.loc["B", "top1"] == 1
    assert agreement.loc["A", "top_k"] == pytest.approx(4 / 5)  # {G,C,D,E,F} & {B,C,D,E,F}
    # d = 5 for B and G: rho = 1 - 6 * 50 / (6 * 35) = -3/7
    assert agreement.loc["A", "spearman"] == pytest.approx(-3 / 7)
    rho = stats.spearmanr([6, 2, 3, 4, 5, 1], [1, 2, 3, 4, 5, 6]).statistic  # B..G
    assert agreement.loc["A", "spearman"] == pytest.approx(rho)
    assert agreement.loc["B", "spearman"] == pytest.approx(1.0)


def test_gain_sign_has_a_zero_within_the_tie_tolerance():
    assert published.gain_sign([0.1, -0.2, 0.0, 1e-12, -1e-12]).tolist() == [1, -1, 0, 0, 0]


def test_the_papers_results_against_themselves_agree_everywhere():
    paper = published.load()
    shared = ["Beef", "Coffee", "FiftyWords", "GunPoint", "Meat", "Wine"]
    ours = published.Results(
        paper.scratch.reindex(shared + ["Chinatown"]).fillna(0.5),
        paper.transfer,
        paper.neighbours,
    )
    table = published.comparison(ours, paper, allowed=shared, draws=50)
    assert row(table, "datasets", "shared with the paper")["n"] == 6
    assert row(table, "scratch", "mean absolute difference")["value"] == 0
    assert row(table, "transfer", "mean absolute difference")["n"] == 30
    assert row(table, "transfer", "median absolute difference")["value"] == 0
    assert row(table, "transfer", "gain sign agreement")["value"] == 1
    for name in ("top-1 agreement", "top-5 overlap", "Spearman correlation"):
        assert row(table, "neighbours", name)["value"] == pytest.approx(1.0), name
    wins = row(table, "fig6", "DTW wins")
    assert wins["ours"] == wins["published"] and wins["value"] == 0
    assert row(table, "fig6", "outcome agreement")["value"] == 1


def test_no_shared_dataset_gives_one_row_saying_so_and_an_empty_figure(tmp_path):
    ours, paper = hand_made()
    table = published.comparison(ours, paper, allowed=[], note="demo archive")
    assert len(table) == 1
    only = table.iloc[0]
    assert only["section"] == "datasets" and only["n"] == 0
    assert published.NO_SHARED in only["note"] and "demo archive" in only["note"]
    figure = figures.published_comparison_figure(table)
    assert any("no datasets shared" in t.get_text() for t in figure.axes[0].texts)
    figures.save(figure, tmp_path / "f.png", tmp_path / "f.svg")
    assert (tmp_path / "f.png").stat().st_size > 1000


def test_table_relabelled_with_2015_names_and_the_figure_drawn(tmp_path):
    paper = published.load()
    shared = ["Coffee", "FiftyWords", "GunPoint"]
    rng = np.random.default_rng(1)
    names = shared + ["Chinatown"]
    transfer = paper.transfer.reindex(index=names, columns=names).fillna(0.9)
    transfer = (transfer + rng.uniform(-0.05, 0.0, transfer.shape)).clip(0, 1)
    transfer.index.name = "source"
    ours = published.Results(
        (paper.scratch.reindex(names).fillna(0.8) - 0.01),
        analysis.transfer_table(transfer.reset_index()),
        neighbours({t: [s for s in names if s != t] for t in names}),
    )
    table = published.comparison(ours, paper, draws=20)
    relabelled = analysis.relabel(table, analysis.name_labels(2015))
    per = relabelled[(relabelled["section"] == "scratch") & relabelled["dataset"].notna()]
    assert per["dataset"].tolist() == ["Coffee", "50words", "Gun_Point"]
    assert per["value"].to_numpy() == pytest.approx([-0.01] * 3)
    assert table.equals(analysis.relabel(table, analysis.name_labels(2018)))
    path = tmp_path / "comparison.csv"
    relabelled.to_csv(path, index=False)
    back = analysis.read_table(path, published.COMPARISON_COLUMNS)
    figure = figures.published_comparison_figure(back)
    labels = {t.get_text() for t in figure.axes[0].texts}
    assert {"50words", "Gun_Point", "Coffee"} <= labels
    figures.save(figure, tmp_path / "c.png", tmp_path / "c.svg")
    assert (tmp_path / "c.svg").stat().st_size > 1000
