"""Repeated runs in the analyses (config ``runs`` above 1, issue 25): Figs 5 and 6's spread
columns and the wins that hold in every run, against hand computations on a three-dataset study
of two runs; the per-run tables refused, naming the file, when they do not fit the means; the
figures' error bars; and with one run, the tables and figures exactly as before (no new column,
no error bar)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from snakemake.iocontainers import Namedlist

from transfer_tsc.errors import InputError
from transfer_tsc.report import analysis, figures, selection
from transfer_tsc.transferability import SCORES
from transfer_tsc.workflow.jobs import RULES

NAMES = ["A", "B", "C"]
DRAWS, SEED = 200, 7
# Fine-tuned accuracy per run, {(source, target): [run 1, run 2]}. Target A: its DTW-nearest B
# beats C in run 1 and loses to it in run 2 (a win on the means, not in every run); target B:
# its nearest C beats A in both runs (a win in every run); target C: both sources equal (a tie).
PAIRS = {
    ("B", "A"): [0.9, 0.5],
    ("C", "A"): [0.5, 0.6],
    ("C", "B"): [0.8, 0.7],
    ("A", "B"): [0.6, 0.65],
    ("A", "C"): [0.5, 0.5],
    ("B", "C"): [0.5, 0.5],
}
SCRATCH = {"A": [0.4, 0.7], "B": [0.6, 0.6], "C": [0.3, 0.5]}
NEAREST = {"A": ["B", "C"], "B": ["C", "A"], "C": ["A", "B"]}


def std2(values: list[float]) -> float:
    """The std over two runs with ddof 1 by hand: |x1 - x2| / sqrt(2)."""
    return abs(values[0] - values[1]) / np.sqrt(2)


def transfer_runs_frame(pairs=PAIRS) -> pd.DataFrame:
    """``transfer_accuracy_runs.csv`` as ``study.gather_transfer_runs`` writes it."""
    rows = [
        (source, target, run, 2 + run, value)
        for (source, target), values in sorted(pairs.items(), key=lambda p: (p[0][1], p[0][0]))
        for run, value in enumerate(values, start=1)
    ]
    return pd.DataFrame(rows, columns=["source", "target", "run", "seed", "test_accuracy"])


def scratch_runs_frame() -> pd.DataFrame:
    rows = [(d, r, 2 + r, v) for d, values in SCRATCH.items() for r, v in enumerate(values, 1)]
    return pd.DataFrame(rows, columns=["dataset", "run", "seed", "test_accuracy"])


def mean_matrix(pairs=PAIRS) -> pd.DataFrame:
    """``transfer_accuracy.csv``: the mean of each pair's runs."""
    frame = pd.DataFrame(np.nan, index=pd.Index(NAMES, name="source"), columns=NAMES)
    for (source, target), values in pairs.items():
        frame.loc[source, target] = np.mean(values)
    return analysis.transfer_table(frame.reset_index())


def mean_scratch() -> pd.Series:
    frame = pd.DataFrame({"dataset": NAMES, "test_accuracy": [np.mean(SCRATCH[d]) for d in NAMES]})
    return analysis.scratch_series(frame)


def neighbours() -> pd.DataFrame:
    rows = [(t, r, s, r / 10) for t, order in NEAREST.items() for r, s in enumerate(order, 1)]
    return analysis.neighbour_table(
        pd.DataFrame(rows, columns=["target", "rank", "source", "distance"])
    )


def scores() -> pd.DataFrame:
    """Every score ranks, on target A, C first (the run-2 winner, a loss on the means); elsewhere
    as DTW."""
    first = {"A": "C", "B": "C", "C": "A"}
    rows = [
        {"target": t, "source": s, **{k: 1.0 if s == first[t] else 0.0 for k in SCORES}}
        for (s, t) in PAIRS
    ]
    return analysis.score_table(pd.DataFrame(rows))


def by_run() -> list[pd.DataFrame]:
    return analysis.transfer_runs(transfer_runs_frame(), mean_matrix())


# --------------------------------------------------------------------------- the per-run tables


def test_each_runs_matrix_is_laid_out_as_the_means():
    runs = by_run()
    mean = mean_matrix()
    assert len(runs) == 2
    for r, matrix in enumerate(runs):
        assert list(matrix.index) == list(mean.index) and list(matrix.columns) == NAMES
        for (source, target), values in PAIRS.items():
            assert matrix.loc[source, target] == values[r]
        assert np.isnan(np.diag(matrix.to_numpy())).all()
    # their mean is the mean table
    pd.testing.assert_frame_equal((runs[0] + runs[1]) / 2, mean)
    wide = analysis.scratch_runs(scratch_runs_frame(), mean_scratch())
    assert wide.loc["A"].tolist() == [0.4, 0.7] and list(wide.columns) == [1, 2]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda f: f[~((f["run"] == 2) & (f["source"] == "B") & (f["target"] == "A"))],
            "B -> A has 1 of 2 runs",
        ),
        (lambda f: f[f["source"] != "A"], "pair A -> B is in one of it and the mean"),
        (lambda f: f[f["run"] == 2], "runs [2], expected 1 to 2"),
        (lambda f: f.assign(test_accuracy=f["test_accuracy"] * 50), "must lie in [0, 1]"),
        (lambda f: f.assign(run="first"), "run and test_accuracy must be numbers"),
        (lambda f: f.drop(columns="run"), "missing column(s) run"),
    ],
)
def test_a_per_run_table_that_does_not_fit_is_refused_naming_the_file(tmp_path, change, message):
    path = tmp_path / "transfer_accuracy_runs.csv"
    change(transfer_runs_frame()).to_csv(path, index=False)
    with pytest.raises(InputError) as error:
        analysis.read_transfer_runs(path, mean_matrix())
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    assert analysis.REMAKE in str(error.value)


# --------------------------------------------------------------------------- Fig. 5


def test_aggregates_spread_against_hand_computed_stds():
    table = analysis.aggregates(mean_matrix(), mean_scratch())
    spread = analysis.aggregates_spread(
        table, analysis.scratch_runs(scratch_runs_frame(), mean_scratch()), by_run()
    )
    assert list(spread.columns) == [*analysis.AGGREGATE_COLUMNS, *analysis.AGGREGATE_SPREAD_COLUMNS]
    pd.testing.assert_frame_equal(spread[list(analysis.AGGREGATE_COLUMNS)], table)
    row = spread.set_index("target").loc["A"]
    # A's means: B 0.7 (best), C 0.55 (worst)
    assert (row["best_source"], row["worst_source"]) == ("B", "C")
    assert row["scratch_std"] == pytest.approx(std2([0.4, 0.7]))
    assert row["max_std"] == pytest.approx(std2([0.9, 0.5]))
    assert row["min_std"] == pytest.approx(std2([0.5, 0.6]))
    assert row["runs"] == 2
    assert spread.set_index("target").loc["B", "scratch_std"] == 0.0


# --------------------------------------------------------------------------- Fig. 6


def dtw_tables():
    mean = analysis.dtw_vs_random(mean_matrix(), neighbours(), draws=DRAWS, seed=SEED)
    runs = [analysis.dtw_vs_random(m, neighbours(), draws=DRAWS, seed=SEED) for m in by_run()]
    return mean, analysis.dtw_vs_random_spread(mean, runs)


def share_of_first_source(target: str) -> float:
    """The share of the seeded draws that pick the target's first source (in the matrix's
    order): the random accuracy of a matrix with 1 for that source and 0 for the other."""
    sources = [s for s in NAMES if s != target]
    frame = pd.DataFrame(np.nan, index=pd.Index(NAMES, name="source"), columns=NAMES)
    frame.loc[sources[0], target], frame.loc[sources[1], target] = 1.0, 0.0
    table = analysis.dtw_vs_random(
        analysis.transfer_table(frame.reset_index()), neighbours(), draws=DRAWS, seed=SEED
    )
    return float(table.set_index("target").loc[target, "random_accuracy"])


def test_dtw_wins_on_the_means_and_in_every_run_by_hand():
    mean, spread = dtw_tables()
    assert list(spread.columns) == [*analysis.DTW_COLUMNS, *analysis.DTW_SPREAD_COLUMNS]
    pd.testing.assert_frame_equal(spread[list(analysis.DTW_COLUMNS)], mean)
    rows = spread.set_index("target")
    assert rows["outcome"][NAMES].tolist() == ["win", "win", "tie"]
    assert rows["runs_won"][NAMES].tolist() == [1, 2, 0]
    assert (rows["runs"][NAMES] == 2).all()
    summary = analysis.dtw_summary(spread)
    assert (summary["wins"], summary["ties"], summary["wins_every_run"]) == (2, 1, 1)
    assert rows["wins_every_run"][NAMES].isna().all()
    # the DTW source's accuracy: the pair's own runs
    assert rows.loc["A", "dtw_std"] == pytest.approx(std2(PAIRS[("B", "A")]))
    assert rows.loc["C", "dtw_std"] == 0.0
    # random: every run draws the same sources (seeded per target as for the means), so run r's
    # random accuracy is p a_first,r + (1 - p) a_second,r with p the share of the first source
    for target in ["A", "B"]:
        p = share_of_first_source(target)
        first, second = (PAIRS[(s, target)] for s in NAMES if s != target)
        random = [p * first[r] + (1 - p) * second[r] for r in (0, 1)]
        assert rows.loc[target, "random_std"] == pytest.approx(std2(random))
        assert rows.loc[target, "random_accuracy"] == pytest.approx(np.mean(random))
    # the summary's spread: of the per-run means over the 3 targets
    dtw = [np.mean([PAIRS[(NEAREST[t][0], t)][r] for t in NAMES]) for r in (0, 1)]
    assert summary["dtw_std"] == pytest.approx(std2(dtw))


# --------------------------------------------------------------------------- the selection


def test_selection_wins_in_every_run_by_hand():
    summary, targets = selection.selection_methods(
        mean_matrix(), neighbours(), scores(), draws=DRAWS, seed=SEED
    )
    runs = [
        selection.by_target(m, neighbours(), scores(), draws=DRAWS, seed=SEED) for m in by_run()
    ]
    with_runs, targets_with_runs = selection.selection_spread(summary, targets, runs)
    assert list(with_runs.columns) == [
        *selection.SUMMARY_COLUMNS,
        *selection.SUMMARY_SPREAD_COLUMNS,
    ]
    assert list(targets_with_runs.columns) == [
        *selection.TARGET_COLUMNS,
        *selection.TARGET_SPREAD_COLUMNS,
    ]
    pd.testing.assert_frame_equal(with_runs[list(selection.SUMMARY_COLUMNS)], summary)
    won = targets_with_runs.set_index(["target", "method"])["runs_won"]
    # dtw as Fig. 6; a score picks C on A: a loss on the means (0.55 against about 0.62) and in
    # run 1, a win in run 2; the oracle: each run's best, a win in every run but on C (a tie)
    assert [won[(t, "dtw")] for t in NAMES] == [1, 2, 0]
    assert [won[(t, "leep")] for t in NAMES] == [1, 2, 0]
    assert [won[(t, "oracle")] for t in NAMES] == [2, 2, 0]
    assert won[[(t, "random") for t in NAMES]].isna().all()
    rows = with_runs.set_index("method")
    assert rows.loc["dtw", "wins"] == 2 and rows.loc["dtw", "wins_every_run"] == 1
    assert rows.loc["leep", "wins"] == 1 and rows.loc["leep", "wins_every_run"] == 1
    assert rows.loc["oracle", "wins"] == 2 and rows.loc["oracle", "wins_every_run"] == 2
    assert pd.isna(rows.loc["random", "wins_every_run"]) and (rows["runs"] == 2).all()
    # the dtw row: Fig. 6's count
    _, spread = dtw_tables()
    assert rows.loc["dtw", "wins_every_run"] == analysis.dtw_summary(spread)["wins_every_run"]


# --------------------------------------------------------------------------- jobs and figures


def run_job(rule: str, tmp_path: Path, runs: bool) -> pd.DataFrame:
    """The rule's job on the study's files (with ``transfer_runs`` only when ``runs``); the table
    it writes."""
    files = {
        "transfer": (mean_matrix(), True),
        "scratch": (mean_scratch().rename("test_accuracy"), True),
        "neighbours": (neighbours(), False),
        "scores": (scores(), False),
    }
    if runs:
        files["transfer_runs"] = (transfer_runs_frame(), False)
        files["scratch_runs"] = (scratch_runs_frame(), False)
    tmp_path.mkdir()
    inputs = {}
    for name, (frame, index) in files.items():
        inputs[name] = str(tmp_path / f"{name}.csv")
        frame.to_csv(inputs[name], index=index)
    job = SimpleNamespace(
        rule=rule,
        input=Namedlist(fromdict=inputs),
        output=SimpleNamespace(
            table=str(tmp_path / "table.csv"), targets=str(tmp_path / "targets.csv")
        ),
        params=SimpleNamespace(draws=DRAWS, seed=SEED, names=2018),
        wildcards=SimpleNamespace(network="fcn"),
    )
    RULES[rule].job(job, lambda message: None)
    return pd.read_csv(job.output.table)


@pytest.mark.parametrize(
    "rule, columns, spread",
    [
        ("aggregates", analysis.AGGREGATE_COLUMNS, analysis.AGGREGATE_SPREAD_COLUMNS),
        ("dtw_vs_random", analysis.DTW_COLUMNS, analysis.DTW_SPREAD_COLUMNS),
        ("selection_methods", selection.SUMMARY_COLUMNS, selection.SUMMARY_SPREAD_COLUMNS),
    ],
)
def test_one_run_tables_are_as_before_and_more_runs_add_the_spread(tmp_path, rule, columns, spread):
    one = run_job(rule, tmp_path / "one", runs=False)
    two = run_job(rule, tmp_path / "two", runs=True)
    assert list(one.columns) == list(columns)  # one run: today's columns, nothing added
    assert list(two.columns) == [*columns, *spread]
    pd.testing.assert_frame_equal(two[list(columns)], one)  # the means' columns unchanged


def test_figures_draw_error_bars_only_with_runs(tmp_path):
    aggregates = analysis.aggregates(mean_matrix(), mean_scratch())
    spread = analysis.aggregates_spread(
        aggregates, analysis.scratch_runs(scratch_runs_frame(), mean_scratch()), by_run()
    )
    mean, dtw = dtw_tables()
    for draw, one, two in [
        (figures.aggregates_figure, aggregates, spread),
        (figures.dtw_vs_random_figure, mean, dtw),
    ]:
        plain, with_bars = draw(one), draw(two)
        assert not plain.axes[0].containers  # one run: no error bars, the title as before
        assert "runs" not in plain.axes[0].get_title()
        assert plain.axes[0].get_title() == draw(one).axes[0].get_title()
        assert with_bars.axes[0].containers
        assert "mean over 2 runs" in with_bars.axes[0].get_title()
        figures.save(with_bars, tmp_path / f"{draw.__name__}.png")
    legend = [t.get_text() for t in figures.dtw_vs_random_figure(dtw).axes[0].get_legend().texts]
    assert "DTW wins in every one of the 2 runs: 1" in legend


# --------------------------------------------------------------------------- the report

SPREAD_CAPTIONS = [
    "accuracy_variation",
    "accuracy_variation_table",
    "aggregates",
    "aggregates_table",
    "dtw_vs_random",
    "dtw_vs_random_table",
    "selection_methods",
    "selection_methods_table",
    "rank_curves",
    "run_info",
]


@pytest.mark.parametrize("caption", SPREAD_CAPTIONS)
def test_captions_say_how_many_runs_only_with_runs_above_one(caption):
    """Rendered as ``snakemake --report`` renders a caption (Jinja, then docutils)."""
    from docutils.core import publish_parts
    from jinja2 import Environment

    text = (Path(__file__).parents[2] / "report" / f"{caption}.rst").read_text()
    params = SimpleNamespace(
        limit=None,
        draws=1000,
        seed=0,
        second_nn_gain=0.1,
        smoothing=5,
        names=2018,
        counts=SimpleNamespace(n_targets=3, n_pairs=6, pairs_not_run=0, targets_left_out=0),
    )

    def render(text: str, runs: int) -> str:
        config = {"runs": runs, "finetune": {"sources": "all"}}
        rst = (
            Environment()
            .from_string(text)
            .render(snakemake=SimpleNamespace(params=params, config=config))
        )
        html = publish_parts(rst, writer="html")["body"]
        assert "system-message" not in html, html
        return " ".join(html.split()).lower()

    before = text[: text.index("{% set runs")]  # the caption without its runs paragraph
    assert render(text, 1) == render(before, 1)
    assert "mean over 3 runs" in render(text, 3)


def test_run_info_names_the_runs_only_with_runs_above_one():
    covered = analysis.Coverage(3, 6, 6, 3)
    one = analysis.run_info({"runs": 1, "seed": 4}, covered, {})
    three = analysis.run_info({"runs": 3, "seed": 4}, covered, {})
    assert "runs" not in set(one.loc[one["section"] == "coverage", "key"])
    row = three[(three["section"] == "coverage") & (three["key"] == "runs")]
    assert row["value"].iloc[0].startswith("every accuracy is the mean over 3 runs (seeds 4 to 6)")
    assert len(three) == len(one) + 1
