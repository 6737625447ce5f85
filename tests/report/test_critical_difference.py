"""Critical-difference diagrams: the average ranks, the pairwise Wilcoxon signed-rank tests and
Holm's step-down against hand computations and scipy on a small table, the refusals, and the
figure (scikit-posthocs) drawn or replaced by its reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

from transfer_tsc.errors import InputError
from transfer_tsc.report import analysis, figures
from transfer_tsc.report import critical_difference as cd

# 8 complete datasets x 4 methods (higher is better), ties on d2 (A = B) and d5 (B = C), and a
# ninth dataset missing B's result, which every statistic leaves out.
ROWS = {
    "d1": [0.90, 0.85, 0.80, 0.70],
    "d2": [0.80, 0.80, 0.75, 0.60],
    "d3": [0.95, 0.90, 0.92, 0.85],
    "d4": [0.70, 0.72, 0.65, 0.60],
    "d5": [0.88, 0.80, 0.80, 0.82],
    "d6": [0.91, 0.89, 0.70, 0.71],
    "d7": [0.60, 0.55, 0.58, 0.50],
    "d8": [0.77, 0.70, 0.66, 0.69],
    "d9": [0.50, np.nan, 0.40, 0.30],
}
METHODS = ["A", "B", "C", "D"]


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame.from_dict(ROWS, orient="index", columns=METHODS)


def texts(figure: Figure) -> list[str]:
    return [t.get_text() for ax in figure.axes for t in ax.texts]


def test_average_ranks_by_hand_with_ties_and_the_incomplete_dataset_left_out(table):
    # per dataset (rank 1 = best, tied methods share the mean of their ranks), d9 dropped:
    #        d1  d2   d3  d4  d5   d6  d7  d8   sum
    #   A    1   1.5  1   2   1    1   1   1    9.5
    #   B    2   1.5  3   1   3.5  2   3   2   18
    #   C    3   3    2   3   3.5  4   2   4   24.5
    #   D    4   4    4   4   2    3   4   3   28
    ranks = cd.average_ranks(table)
    assert list(ranks.index) == ["A", "B", "C", "D"]  # ascending
    assert ranks.to_numpy() == pytest.approx([9.5 / 8, 18 / 8, 24.5 / 8, 28 / 8])
    assert ranks.sum() == pytest.approx(4 * 5 / 2)  # k (k + 1) / 2


def test_pairwise_wilcoxon_matches_scipy_and_holm_by_hand(table):
    pairs = cd.wilcoxon_holm(table)
    assert list(pairs.columns) == list(cd.PAIR_COLUMNS)
    complete = table.dropna()
    assert len(pairs) == 6 and (pairs["n_datasets"] == 8).all()
    for row in pairs.itertuples(index=False):
        expected = stats.wilcoxon(
            complete[row.method_a], complete[row.method_b], zero_method="pratt"
        )
        assert row.p_value == pytest.approx(expected.pvalue, rel=1e-12)
        assert row.statistic == pytest.approx(expected.statistic)
    # A against B: wins 6, the tie of d2, B better on d4
    ab = pairs[(pairs["method_a"] == "A") & (pairs["method_b"] == "B")].iloc[0]
    assert (ab["wins_a"], ab["ties"], ab["wins_b"]) == (6, 1, 1)
    # Holm by hand: p sorted ascending, (m - j + 1) p_(j) capped at 1, then the running maximum
    order = np.argsort(pairs["p_value"].to_numpy(), kind="stable")
    m, running, expected = 6, 0.0, {}
    for j, i in enumerate(order, start=1):
        running = max(running, min(1.0, (m - j + 1) * pairs["p_value"].iloc[i]))
        expected[i] = running
    assert pairs["p_holm"].tolist() == pytest.approx([expected[i] for i in range(m)])
    assert (pairs["significant"] == (pairs["p_holm"] < 0.05)).all()
    # A beats C and D on all 8 datasets: exact p = 2 / 2^8, times 6 pairs = 0.047 < 0.05
    significant = set(zip(*pairs.loc[pairs["significant"], ["method_a", "method_b"]].T.values))
    assert significant == {("A", "C"), ("A", "D")}
    assert cd.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_the_same_p_values_as_scikit_posthocs(table):
    import scikit_posthocs

    complete = table.dropna()
    pairs = cd.wilcoxon_holm(table)
    theirs = scikit_posthocs.posthoc_wilcoxon(
        complete.T.to_numpy(), zero_method="pratt", p_adjust="holm"
    )
    theirs.index = theirs.columns = METHODS
    ours = cd.significance_matrix(pairs, METHODS)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-12)


def test_identical_methods_tie_everywhere_with_p_one(table):
    table["E"] = table["A"]
    pairs = cd.wilcoxon_holm(table)
    same = pairs[pairs.apply(lambda r: {r["method_a"], r["method_b"]} == {"A", "E"}, axis=1)]
    assert len(same) == 1
    row = same.iloc[0]
    assert (row["wins_a"], row["ties"], row["wins_b"], row["p_value"]) == (0, 8, 0, 1.0)
    assert not row["significant"]
    ranks = cd.average_ranks(table)
    assert ranks["A"] == ranks["E"] == pytest.approx((9.5 + 8 * 0.5) / 8)  # each A tie: +0.5


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"A": [0.5, 0.6]}), r"cd table: 1 method\(s\) \(A\); a critical-difference"),
        (
            pd.DataFrame({"A": [0.5, np.nan, 0.7], "B": [0.4, 0.6, np.nan]}),
            r"cd table: 1 of 3 datasets with a result for every method \(2 row\(s\) with a "
            r"missing result dropped\); the tests need at least 2",
        ),
        (
            pd.DataFrame({"A": [0.5, 0.6], "B": [0.4, "n/a"]}, index=["x", "y"]),
            "cd table: non-numeric value 'n/a' for method B on dataset y",
        ),
        (
            pd.DataFrame([[0.5, 0.6], [0.4, 0.3]], columns=["A", "A"]),
            "cd table: method.s. A appear more than once",
        ),
    ],
)
def test_bad_tables_are_refused_naming_the_table_and_the_problem(frame, message):
    for call in (cd.average_ranks, cd.wilcoxon_holm):
        with pytest.raises(InputError, match=message):
            call(frame, label="cd table")
    with pytest.raises(InputError, match=message):
        cd.critical_difference_figure(frame, "title", label="cd table")


def test_the_diagram_draws_the_methods_with_their_ranks_and_names_the_test(table, tmp_path):
    figure = cd.critical_difference_figure(table, "Four methods")
    assert isinstance(figure, Figure) and figure.axes
    drawn = texts(figure)
    for method, rank in cd.average_ranks(table).items():
        assert any(method in t and f"{rank:.2f}" in t for t in drawn), (method, drawn)
    assert figure.get_suptitle() == "Four methods"
    subtitle = figure.axes[0].get_title()
    assert "Wilcoxon signed-rank, Holm, alpha 0.05: 8 datasets" in subtitle
    assert "1 with a missing result left out" in subtitle
    # A differs from C and D, the rest do not: two bars, {A, B} and {B, C, D}
    bars = [line for line in figure.axes[0].lines if line.get_linewidth() == 2]
    assert sorted(len(line.get_xdata()) for line in bars) == [2, 3]
    figures.save(figure, tmp_path / "cd.png", tmp_path / "cd.svg")
    assert (tmp_path / "cd.png").stat().st_size > 2000 and (tmp_path / "cd.svg").is_file()


def test_the_table_and_the_reason_in_place_of_a_diagram(table):
    result, figure, line = cd.diagram(table, "Four methods")
    assert list(result.columns) == list(cd.CSV_COLUMNS)
    ranks = result[result["section"] == "rank"]
    assert ranks["method"].tolist() == METHODS and (ranks["n_datasets"] == 8).all()
    assert len(result[result["section"] == "pair"]) == 6
    assert "zero_method pratt" in result["note"].iloc[-1]
    assert line.startswith("4 methods over 8 datasets, 2 of 6 pairs differ")
    # too few datasets: the files say why, no exception
    result, figure, line = cd.diagram(table.iloc[[0, 8]], "Two datasets, one incomplete")
    assert result["section"].tolist() == ["note"]
    assert "1 of 2 datasets with a result for every method" in result["note"].iloc[0]
    assert any("No critical-difference diagram" in t for t in texts(figure))
    assert line.startswith("no diagram: ")
    # three datasets draw, saying that no pair can reach alpha
    _, figure, _ = cd.diagram(table.iloc[:3], "Three datasets")
    assert "no pair can differ significantly" in figure.axes[0].get_title()
    # bad input still raises
    with pytest.raises(InputError, match="non-numeric"):
        cd.diagram(table.astype(object).replace({0.9: "x"}), "bad")


def test_the_selection_and_networks_tables():
    by_target = pd.DataFrame(
        {
            "target": ["T1", "T1", "T1", "T2", "T2"],
            "method": ["dtw", "random", "oracle", "dtw", "oracle"],
            "accuracy": [0.8, 0.7, 0.9, 0.6, 0.65],
        }
    )
    scratch = pd.Series({"T1": 0.75, "T2": 0.5, "T3": 0.4})
    table = cd.selection_table(by_target, scratch)
    assert list(table.columns) == ["dtw", "random", "oracle", "scratch"]
    assert table.loc["T1"].tolist() == [0.8, 0.7, 0.9, 0.75]
    assert np.isnan(table.loc["T2", "random"]) and table.loc["T2", "scratch"] == 0.5

    dtw = pd.DataFrame(
        {
            "target": ["T1", "T2", "T3", analysis.SUMMARY],
            "dtw_accuracy": [0.8, 0.6, np.nan, 0.7],
            "outcome": ["win", "loss", None, None],
        }
    )
    table = cd.networks_table({"FCN": (scratch, dtw)})
    assert list(table.columns) == ["FCN scratch", "FCN transfer (DTW)"]
    assert table.index.tolist() == ["T1", "T2", "T3"]
    assert table["FCN transfer (DTW)"].tolist()[:2] == [0.8, 0.6]
    assert np.isnan(table.loc["T3", "FCN transfer (DTW)"])
