"""The section V analyses against independent computations on small hand-made tables, the
figures written from them, and (``-m report``) the HTML report built on the demo archive."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy
from conftest import SHORT_TRAINING, run_snakemake
from hand_tables import neighbours, scratch
from matplotlib.image import imread
from scipy import stats

from transfer_tsc.errors import InputError
from transfer_tsc.report import analysis, figures


def matrix(rows: dict[str, dict[str, float]], names: list[str]) -> pd.DataFrame:
    """A transfer table (rows source, columns target) from {source: {target: accuracy}}."""
    frame = pd.DataFrame(np.nan, index=names, columns=names)
    for source, targets in rows.items():
        for target, value in targets.items():
            frame.loc[source, target] = value
    frame.index.name = "source"
    return analysis.transfer_table(frame.reset_index())


def synthetic_study(n: int, missing: float, seed: int = 0):
    """An n-dataset study with about ``missing`` of its pairs not run, and random neighbours."""
    rng = np.random.default_rng(seed)
    names = [f"Dataset{i:02d}Name{'x' * (i % 7)}" for i in range(n)]
    base = pd.Series(rng.uniform(0.3, 0.95, n), index=names)
    values = np.clip(base.to_numpy()[None, :] + rng.normal(0, 0.1, (n, n)), 0, 1)
    values[rng.random((n, n)) < missing] = np.nan
    frame = pd.DataFrame(values, index=pd.Index(names, name="source"), columns=names)
    transfer = analysis.transfer_table(frame.reset_index())
    order = {t: list(rng.permutation([s for s in names if s != t])) for t in names}
    return transfer, scratch(base.to_dict()), neighbours(order)


# --------------------------------------------------------------------------- Fig. 4


def test_variation_is_the_relative_change_in_percent():
    # The paper's example: HandOutlines from scratch 74.6 %, from MedicalImages 86.5 % -> +16 %.
    names = ["HandOutlines", "MedicalImages", "Meat"]
    transfer = matrix(
        {"MedicalImages": {"HandOutlines": 0.865}, "Meat": {"HandOutlines": 0.5}}, names
    )
    variation = analysis.accuracy_variation(
        transfer, scratch({"HandOutlines": 0.746, "MedicalImages": 0.7, "Meat": 0.9})
    )
    assert variation.loc["MedicalImages", "HandOutlines"] == pytest.approx(
        100 * (0.865 - 0.746) / 0.746
    )
    assert round(variation.loc["MedicalImages", "HandOutlines"]) == 16
    assert variation.loc["Meat", "HandOutlines"] == pytest.approx(100 * (0.5 - 0.746) / 0.746)
    # Pairs not run and the diagonal stay missing, not zero.
    assert variation.isna().to_numpy().sum() == 9 - 2
    assert variation.loc["HandOutlines", "Meat"] != 0 and np.isnan(
        variation.loc["HandOutlines", "Meat"]
    )


def test_variation_is_missing_where_scratch_accuracy_is_zero_and_refuses_a_missing_baseline():
    names = ["A", "B"]
    transfer = matrix({"A": {"B": 0.5}, "B": {"A": 0.4}}, names)
    variation = analysis.accuracy_variation(transfer, scratch({"A": 0.8, "B": 0.0}))
    assert np.isnan(variation.loc["A", "B"])
    assert variation.loc["B", "A"] == pytest.approx(-50.0)
    with pytest.raises(InputError, match="no from-scratch accuracy for target.*B"):
        analysis.accuracy_variation(transfer, scratch({"A": 0.8}))


# --------------------------------------------------------------------------- Fig. 5


def test_aggregates_match_numpy_on_a_partial_table():
    transfer, base, _ = synthetic_study(9, missing=0.3, seed=3)
    transfer["Dataset04Namexxxx"] = np.nan  # a target with no source run
    table = analysis.aggregates(transfer, base).set_index("target")
    for target in transfer.columns:
        column = transfer[target].to_numpy()
        present = column[~np.isnan(column)]
        row = table.loc[target]
        assert row["n_sources"] == present.size
        assert row["n_possible"] == 8
        assert row["scratch_accuracy"] == pytest.approx(base[target])
        if present.size == 0:
            assert np.isnan(row["min_accuracy"]) and np.isnan(row["max_accuracy"])
            continue
        assert row["min_accuracy"] == pytest.approx(np.min(present))
        assert row["median_accuracy"] == pytest.approx(np.median(present))
        assert row["max_accuracy"] == pytest.approx(np.max(present))
        assert transfer.loc[row["best_source"], target] == pytest.approx(np.max(present))
        assert transfer.loc[row["worst_source"], target] == pytest.approx(np.min(present))


# --------------------------------------------------------------------------- Fig. 6


def test_dtw_nearest_always_best_wins_every_target():
    rng = np.random.default_rng(7)
    names = [f"D{i}" for i in range(8)]
    rows: dict[str, dict[str, float]] = {s: {} for s in names}
    order = {}
    for target in names:
        sources = [s for s in names if s != target]
        order[target] = sources
        accuracies = np.sort(rng.uniform(0.2, 0.9, len(sources)))[::-1]  # nearest is best
        for source, value in zip(sources, accuracies):
            rows[source][target] = float(value)
    transfer = matrix(rows, names)
    table = analysis.dtw_vs_random(transfer, neighbours(order), draws=1000, seed=0)
    per_target = table[table["target"] != analysis.SUMMARY]
    summary = analysis.dtw_summary(table)
    assert (per_target["outcome"] == "win").all()
    assert (summary["wins"], summary["ties"], summary["losses"]) == (8, 0, 0)
    assert summary["n_targets"] == 8
    assert (per_target["nearest_rank"] == 1).all()
    # The p-value is scipy's on the same numbers; all 8 differences positive: 2 / 2^8 exactly.
    expected = stats.wilcoxon(per_target["dtw_accuracy"], per_target["random_accuracy"]).pvalue
    assert summary["wilcoxon_p"] == pytest.approx(expected)
    assert summary["wilcoxon_p"] == pytest.approx(2 / 2**8)
    # The random mean estimates the mean over sources: within 5 standard errors of 1000 draws.
    for _, row in per_target.iterrows():
        column = transfer[row["target"]].dropna().to_numpy()
        assert abs(row["random_accuracy"] - column.mean()) < 5 * column.std() / np.sqrt(1000)
        assert row["dtw_accuracy"] == pytest.approx(column.max())


def test_random_draws_are_seeded_and_independent_of_other_targets():
    transfer, _, order = synthetic_study(6, missing=0.0, seed=1)
    one = analysis.dtw_vs_random(transfer, order, draws=1000, seed=5)
    again = analysis.dtw_vs_random(transfer, order, draws=1000, seed=5)
    other = analysis.dtw_vs_random(transfer, order, draws=1000, seed=6)
    pd.testing.assert_frame_equal(one, again)
    assert not np.allclose(one["random_accuracy"].iloc[:-1], other["random_accuracy"].iloc[:-1])
    fewer = analysis.dtw_vs_random(transfer.drop(columns=transfer.columns[0]), order, seed=5)
    target = transfer.columns[1]
    assert (
        fewer.set_index("target").loc[target, "random_accuracy"]
        == one.set_index("target").loc[target, "random_accuracy"]
    )
    # One draw picks one source's accuracy exactly.
    single = analysis.dtw_vs_random(transfer, order, draws=1, seed=5).set_index("target")
    assert single.loc[target, "random_accuracy"] in set(transfer[target].dropna())


def test_dtw_vs_random_on_a_partial_study_counts_ties_losses_and_skips():
    names = ["A", "B", "C", "D"]
    transfer = matrix(
        {
            "B": {"A": 0.9, "C": 0.6, "D": 0.5},
            "C": {"A": 0.3, "B": 0.7, "D": 0.5},
            "D": {"C": 0.9},
        },
        names,
    )
    order = {
        "A": ["D", "B", "C"],  # D -> A not run: the nearest run is B at rank 2 (win)
        "B": ["C", "A", "D"],  # C is the only source run: tie
        "C": ["B", "D", "A"],  # B 0.6 against the mean of 0.6 and 0.9: loss
        "D": ["B", "C", "A"],  # equal sources: tie
    }
    table = analysis.dtw_vs_random(transfer, neighbours(order), draws=1000, seed=0).set_index(
        "target"
    )
    assert table.loc["A", "nearest_source"] == "B" and table.loc["A", "nearest_rank"] == 2
    assert table.loc["A", "outcome"] == "win" and table.loc["A", "n_sources"] == 2
    assert table.loc["B", "outcome"] == "tie" and table.loc[
        "B", "random_accuracy"
    ] == pytest.approx(0.7)
    assert table.loc["C", "outcome"] == "loss"
    assert table.loc["D", "outcome"] == "tie"
    # the second-nearest source that was run (the paper's "2nd NN")
    assert (table.loc["A", "second_source"], table.loc["A", "second_rank"]) == ("C", 3)
    assert table.loc["A", "second_accuracy"] == pytest.approx(0.3)
    assert pd.isna(table.loc["B", "second_source"]) and pd.isna(table.loc["B", "second_rank"])
    assert (table.loc["C", "second_source"], table.loc["C", "second_rank"]) == ("D", 2)
    assert table.loc["C", "second_accuracy"] == pytest.approx(0.9)
    assert table.loc["D", "second_source"] == "C"
    flat = table.reset_index()
    assert figures.second_nn_gains(flat, 0.1)["target"].tolist() == ["C"]  # 0.6 -> 0.9
    assert figures.second_nn_gains(flat, 0.31).empty
    drawn = figures.dtw_vs_random_figure(flat, 1000, second_nn_gain=0.1)
    ax = drawn.axes[0]
    assert [t.get_text() for t in ax.texts if t.get_text() in names] == ["C"]
    assert any(t.get_text().startswith("2nd NN") for t in ax.get_legend().get_texts())
    assert not any(
        t.get_text().startswith("2nd NN")
        for t in figures.dtw_vs_random_figure(flat, second_nn_gain=0.5)
        .axes[0]
        .get_legend()
        .get_texts()
    )
    summary = table.loc[analysis.SUMMARY]
    assert (summary["wins"], summary["ties"], summary["losses"], summary["n_targets"]) == (
        1,
        2,
        1,
        4,
    )
    # Ties are dropped by the test: scipy on the two non-zero differences.
    compared = table.drop(analysis.SUMMARY)
    differences = (compared["dtw_accuracy"] - compared["random_accuracy"]).to_numpy()
    nonzero = differences[np.abs(differences) > 1e-9]
    assert summary["wilcoxon_p"] == pytest.approx(stats.wilcoxon(nonzero).pvalue)


def test_dtw_vs_random_leaves_out_targets_without_results_or_neighbours():
    names = ["A", "B", "C"]
    transfer = matrix({"B": {"A": 0.8}, "C": {"A": 0.6, "B": 0.5}}, names)
    table = analysis.dtw_vs_random(transfer, neighbours({"A": ["B", "C"]}), seed=0)
    rows = table.set_index("target")
    assert rows.loc["A", "outcome"] == "win"
    assert pd.isna(rows.loc["B", "outcome"]) and rows.loc["B", "n_sources"] == 1  # no neighbours
    assert pd.isna(rows.loc["C", "outcome"]) and rows.loc["C", "n_sources"] == 0  # no results
    assert rows.loc[analysis.SUMMARY, "n_targets"] == 1
    a = rows.loc["A"]
    assert rows.loc[analysis.SUMMARY, "wilcoxon_p"] == pytest.approx(
        stats.wilcoxon([a["dtw_accuracy"]], [a["random_accuracy"]]).pvalue  # one difference: 1.0
    )


def test_wilcoxon_p_equals_scipy_and_is_undefined_without_differences():
    rng = np.random.default_rng(11)
    x, y = rng.uniform(0, 1, 25), rng.uniform(0, 1, 25)
    assert analysis.wilcoxon_p(x, y) == pytest.approx(stats.wilcoxon(x, y).pvalue)
    assert analysis.wilcoxon_p(x, x - 0.01 * (np.arange(25) % 3 - 1)) == pytest.approx(
        stats.wilcoxon(x, x - 0.01 * (np.arange(25) % 3 - 1)).pvalue
    )
    assert np.isnan(analysis.wilcoxon_p([0.5, 0.6], [0.5, 0.6]))


# --------------------------------------------------------------------------- Figs 7-9


def test_rank_curves_follow_the_neighbour_order_with_missing_pairs_missing():
    names = ["A", "B", "C", "D", "E"]
    transfer = matrix({"B": {"A": 0.9}, "C": {"A": 0.7}, "E": {"A": 0.4}, "A": {"B": 0.6}}, names)
    order = {"A": ["C", "B", "D", "E"], "B": ["A", "C", "D", "E"]}
    curves = analysis.rank_curves(
        transfer, neighbours(order), scratch(dict.fromkeys(names, 0.5)), 3
    )
    a = curves[curves["target"] == "A"].set_index("rank")
    assert list(a["source"]) == ["C", "B", "D", "E"]
    assert list(a["accuracy"].fillna(-1)) == [0.7, 0.9, -1, 0.4]
    # Centred moving average over 3 ranks of the accuracies that exist.
    assert a.loc[1, "accuracy_smoothed"] == pytest.approx((0.7 + 0.9) / 2)
    assert a.loc[2, "accuracy_smoothed"] == pytest.approx((0.7 + 0.9) / 2)
    assert np.isnan(a.loc[3, "accuracy_smoothed"])
    assert a.loc[4, "accuracy_smoothed"] == pytest.approx(0.4)
    assert (a["scratch_accuracy"] == 0.5).all()
    assert a.loc[3, "distance"] == pytest.approx(0.3)


def test_rank_curve_targets_prefer_the_config_then_the_paper_then_a_few_present():
    curves = pd.DataFrame(
        {
            "target": ["Meat", "Meat", "CBF", "Wine", "Adiac"],
            "accuracy": [0.5, np.nan, 0.4, 0.3, np.nan],
        }
    )
    assert analysis.rank_curve_targets(["Wine", "CBF"], curves) == ["Wine", "CBF"]
    assert analysis.rank_curve_targets(None, curves) == ["Meat"]
    assert analysis.rank_curve_targets(None, curves[curves["target"] != "Meat"]) == ["CBF", "Wine"]
    with pytest.raises(InputError, match="analysis.rank_curve_targets.*ShapeletSim"):
        analysis.rank_curve_targets(["ShapeletSim"], curves)


# --------------------------------------------------------------------------- coverage, reading


def test_coverage_counts_pairs_run_of_n_times_n_minus_one():
    transfer, _, _ = synthetic_study(7, missing=0.25, seed=2)
    expected = int(np.sum(~np.isnan(transfer.to_numpy())))
    covered = analysis.coverage(transfer)
    assert (covered.pairs_used, covered.pairs_possible) == (expected, 42)
    assert covered.describe() == f"{expected} of 42 pairs"
    assert expected < 42


def test_names_2015_relabel_the_papers_datasets_and_keep_the_others(tmp_path):
    names = ["FiftyWords", "GunPoint", "Chinatown"]
    transfer = matrix(
        {
            "FiftyWords": {"GunPoint": 0.9, "Chinatown": 0.8},
            "GunPoint": {"FiftyWords": 0.6},
            "Chinatown": {"GunPoint": 0.7},
        },
        names,
    )
    base = scratch({"FiftyWords": 0.6, "GunPoint": 0.95, "Chinatown": 0.9})
    order = neighbours(
        {
            "FiftyWords": ["GunPoint", "Chinatown"],
            "GunPoint": ["Chinatown", "FiftyWords"],
            "Chinatown": ["GunPoint", "FiftyWords"],
        }
    )
    old, new = analysis.name_labels(2015), analysis.name_labels(2018)
    assert (
        old["FiftyWords"] == "50words" and old["GunPoint"] == "Gun_Point" and "Chinatown" not in old
    )
    assert all(key == value for key, value in new.items())
    # A matrix: index and columns; the index keeps its name.
    variation = analysis.relabel(analysis.accuracy_variation(transfer, base), old)
    assert list(variation.index) == ["50words", "Gun_Point", "Chinatown"] == list(variation.columns)
    assert variation.index.name == "source"
    assert variation.loc["50words", "Gun_Point"] == pytest.approx(100 * (0.9 - 0.95) / 0.95)
    # Name-valued columns; the summary row and missing names stay.
    table = analysis.relabel(analysis.dtw_vs_random(transfer, order, draws=10), old)
    assert table["target"].tolist() == ["Chinatown", "50words", "Gun_Point", analysis.SUMMARY]
    by_target = table.set_index("target")
    assert by_target.loc["50words", "nearest_source"] == "Gun_Point"
    assert by_target.loc["Chinatown", "nearest_source"] == "50words"  # GunPoint not run
    assert by_target.loc["Gun_Point", "nearest_source"] == "Chinatown"
    assert by_target.loc["Gun_Point", "second_source"] == "50words"
    assert pd.isna(by_target.loc[analysis.SUMMARY, "nearest_source"])
    aggregates = analysis.relabel(analysis.aggregates(transfer, base), old).set_index("target")
    assert aggregates.loc["Gun_Point", "best_source"] == "50words"
    assert aggregates.loc["Gun_Point", "worst_source"] == "Chinatown"
    # Written and read back, 2015 shows the paper's names, 2018 leaves the study's.
    path = tmp_path / "aggregates.csv"
    analysis.relabel(analysis.aggregates(transfer, base), old).to_csv(path, index=False)
    assert set(pd.read_csv(path)["target"]) == {"50words", "Gun_Point", "Chinatown"}
    analysis.relabel(analysis.aggregates(transfer, base), new).to_csv(path, index=False)
    assert set(pd.read_csv(path)["target"]) == set(names)
    # A series: its index.
    assert list(analysis.relabel(base, old).index) == ["Chinatown", "50words", "Gun_Point"]
    # The input is not changed.
    assert list(transfer.index) == names


def test_readers_name_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "scratch_accuracy.csv"
    bad.write_text("dataset,accuracy\nA,0.5\n")
    with pytest.raises(
        InputError, match=r"scratch_accuracy.csv: missing column\(s\) test_accuracy"
    ):
        analysis.read_scratch(bad)
    bad.write_text("source,A,B\nA,,1.5\nB,0.5,\n")
    with pytest.raises(
        InputError, match=r"scratch_accuracy.csv: accuracies must lie in \[0, 1\], found 1.5"
    ):
        analysis.read_transfer(bad)
    bad.write_text("")
    with pytest.raises(InputError, match="scratch_accuracy.csv: not a readable CSV"):
        analysis.read_neighbours(bad)
    bad.write_text("target,rank,source,distance\nA,1,B,0.1\nA,1,C,0.2\n")
    with pytest.raises(InputError, match="target A has rank 1"):
        analysis.read_neighbours(bad)


def test_run_info_lists_coverage_config_and_versions():
    transfer, _, _ = synthetic_study(4, missing=0.0)
    info = analysis.run_info(
        {
            "seed": 3,
            "finetune": {"epochs": 2, "sources": "all"},
            "analysis": {"rank_curve_targets": None},
        },
        analysis.coverage(transfer),
        analysis.software_versions(),
    )
    values = {(s, k): v for s, k, v in info.itertuples(index=False)}
    assert values[("coverage", "pairs used")] == "12 of 12 pairs"
    assert values[("config", "finetune.epochs")] == "2"
    assert values[("config", "analysis.rank_curve_targets")] == "null"
    assert values[("software", "pandas")] == pd.__version__
    assert values[("software", "scipy")] == scipy.__version__
    assert values[("software", "python")].count(".") == 2


# --------------------------------------------------------------------------- figures


def _written(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 2000, path


def test_figures_are_written_as_png_and_svg_from_a_partial_85_by_85_study(tmp_path):
    transfer, base, order = synthetic_study(85, missing=0.2, seed=4)
    pairs = analysis.coverage(transfer).describe()
    variation = analysis.accuracy_variation(transfer, base)
    heatmap = figures.variation_figure(variation, pairs=pairs)
    # Missing pairs and the diagonal are masked cells, not zeros.
    mesh = heatmap.axes[0].collections[0].get_array()
    assert np.ma.count_masked(mesh) == int(variation.isna().to_numpy().sum())
    assert heatmap.axes[0].collections[0].norm.vmin == -heatmap.axes[0].collections[0].norm.vmax
    assert len(heatmap.axes[0].get_xticklabels()) == 85  # every label drawn
    dtw = analysis.dtw_vs_random(transfer, order, seed=0)
    curves = analysis.rank_curves(transfer, order, base, smoothing=5)
    drawn = {
        "accuracy_variation": heatmap,
        "aggregates": figures.aggregates_figure(analysis.aggregates(transfer, base), pairs),
        "dtw_vs_random": figures.dtw_vs_random_figure(dtw, 1000, pairs),
        "rank_curves": figures.rank_curves_figure(
            curves, analysis.rank_curve_targets(None, curves), smoothing=5
        ),
    }
    for name, figure in drawn.items():
        assert figure.axes[0].get_title() or figure.get_suptitle()
        assert figure.axes[0].get_xlabel() and figure.axes[0].get_ylabel()
        figures.save(figure, tmp_path / f"{name}.png", tmp_path / f"{name}.svg")
        _written(tmp_path / f"{name}.png")
        _written(tmp_path / f"{name}.svg")
        assert imread(tmp_path / f"{name}.png").shape[0] > 500
    legend = [t.get_text() for t in drawn["dtw_vs_random"].axes[0].get_legend().get_texts()]
    summary = analysis.dtw_summary(dtw)
    assert (
        f"DTW wins / ties / losses: {summary['wins']} / {summary['ties']} / {summary['losses']}"
        in legend
    )
    assert any(t.startswith("Wilcoxon signed-rank p = ") for t in legend)
    assert not list(tmp_path.glob(".*"))  # no temporary files left


# --------------------------------------------------------------------------- the report


@pytest.mark.report
@pytest.mark.workflow
def test_report_builds_on_the_demo_archive(tmp_path):
    """The whole pipeline on the demo archive with short training, then the HTML report."""
    config = {"ucr_root": "demo", **SHORT_TRAINING}
    run = run_snakemake(tmp_path, config)
    # the console shows the pipeline's own lines, none of TensorFlow's, absl's or Keras' notices
    from test_config import THIRD_PARTY_NOISE

    console = (run.stdout + run.stderr).splitlines()
    assert [line for line in console if any(n in line for n in THIRD_PARTY_NOISE)] == []
    analyses = tmp_path / "results" / "fcn" / "analysis"
    names = ("accuracy_variation", "aggregates", "dtw_vs_random", "rank_curves")
    for name in names:
        _written(analyses / f"{name}.png")
        _written(analyses / f"{name}.svg")
        assert len(pd.read_csv(analyses / f"{name}.csv")) >= 3
    # The demo's datasets are generated: nothing is compared with the paper, and nothing fails.
    comparison = pd.read_csv(analyses / "published_comparison.csv")
    assert len(comparison) == 1 and comparison.loc[0, "n"] == 0
    assert "no datasets shared with the paper" in comparison.loc[0, "note"]
    _written(analyses / "published_comparison.png")
    info = pd.read_csv(analyses / "run_info.csv")
    assert "6 of 6 pairs" in set(info["value"])
    assert set(info["section"]) == {"coverage", "config", "software"}
    summary = analysis.dtw_summary(pd.read_csv(analyses / "dtw_vs_random.csv"))
    assert summary["wins"] + summary["ties"] + summary["losses"] == summary["n_targets"] == 3
    # the source-selection comparison: 7 methods on the 3 targets and their 6 pairs
    selection_table = pd.read_csv(analyses / "selection_methods.csv")
    assert len(selection_table) == 7 and (selection_table["n_pairs"] == 6).all()
    _written(analyses / "selection_methods.png")
    _written(analyses / "selection_methods.svg")
    # the critical-difference diagrams: the 7 methods and scratch over the 3 targets, and the
    # FCN's scratch against transfer from the DTW-nearest source; 3 datasets draw a diagram
    for path in (
        analyses / "critical_difference_selection",
        tmp_path / "results/critical_difference_networks",
    ):
        _written(path.with_suffix(".png"))
        _written(path.with_suffix(".svg"))
    cd_selection = pd.read_csv(analyses / "critical_difference_selection.csv")
    ranks = cd_selection[cd_selection["section"] == "rank"]
    assert set(ranks["method"]) == {*selection_table["method"], "scratch"}
    assert (ranks["n_datasets"] == 3).all() and ranks["average_rank"].sum() == pytest.approx(36)
    assert (cd_selection["section"] == "pair").sum() == 28
    cd_networks = pd.read_csv(tmp_path / "results/critical_difference_networks.csv")
    pairs = cd_networks[cd_networks["section"] == "pair"]
    assert {*pairs["method_a"], *pairs["method_b"]} == {"FCN scratch", "FCN transfer (DTW)"}
    assert pairs["n_datasets"].tolist() == [3] and not pairs["significant"].any()
    run_snakemake(tmp_path, config, "--report", "results/report.html")
    html = (tmp_path / "results" / "report.html").read_text()
    assert len(html) > 10000
    for text in [
        *(f"{name}.png" for name in names),
        "run_info.csv",
        "Fig. 4",
        "1000 seeded draws",
        "published_comparison.csv",
        "hfawaz/bigdata18",
        "selection_methods.png",
        "selection_methods.csv",
        "critical_difference_selection.png",
        "critical_difference_networks.png",
        "3 targets</strong>",
        "6 fine-tuned pairs</strong>",
    ]:
        assert text in html, text
    shutil.rmtree(tmp_path / ".snakemake", ignore_errors=True)
