"""The source-selection comparison (issue 15, transfer_tsc.report.selection) against values worked
out
by hand on a small partial study, against analysis.dtw_vs_random on the same inputs, and its
figure and caption counts."""

from __future__ import annotations

import pickle
import zlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_analysis import _written, matrix, neighbours, synthetic_study

from transfer_tsc.io import write_csv
from transfer_tsc.report import analysis, figures, selection

NAMES = ["A", "B", "C", "D"]
# Fine-tuned accuracy {source: {target: accuracy}}. Target A: all 3 sources; B: D -> B not run;
# C: all 3 at 0.4 (every choice ties, no ranking correlates); D: only A -> D (left out, < 2).
ACCURACY = {
    "A": {"B": 0.5, "C": 0.4, "D": 0.7},
    "B": {"A": 0.6, "C": 0.4},
    "C": {"A": 0.9, "B": 0.8},
    "D": {"A": 0.7, "C": 0.4},
}
# DTW order per target (nearest first; distance = rank / 10).
ORDER = {"A": ["D", "B", "C"], "B": ["C", "A", "D"], "C": ["B", "D", "A"], "D": ["A", "B", "C"]}


def hand_study():
    transfer = matrix(ACCURACY, NAMES)
    rows = []
    for target in NAMES:
        for source in NAMES:
            if source == target:
                continue
            acc = ACCURACY.get(source, {}).get(target, 0.5)
            logme = {
                ("A", "B"): 3.0,
                ("A", "C"): 2.0,
                ("A", "D"): 1.0,
                ("B", "A"): 5.0,
                ("B", "C"): 1.0,
                ("B", "D"): 9.0,
            }.get((target, source), np.nan)
            rows.append(
                {
                    "target": target,
                    "source": source,
                    "leep": acc,  # the accuracy order itself: a perfect ranking
                    "nce": np.nan if (target, source) == ("A", "B") else acc,
                    "logme": logme,  # none for targets C and D
                    "hscore": -acc,  # the reverse order
                }
            )
    scores = analysis.score_table(pd.DataFrame(rows))
    return transfer, neighbours(ORDER), scores


def random_mean(target: str, accuracies: list[float], draws: int = 1000, seed: int = 0) -> float:
    """The Fig. 6 control computed here: ``draws`` uniform picks with the (seed, crc32) seed."""
    rng = np.random.default_rng([seed, zlib.crc32(target.encode())])
    return float(np.mean(np.asarray(accuracies)[rng.integers(0, len(accuracies), size=draws)]))


def row(summary: pd.DataFrame, method: str) -> pd.Series:
    return selection.method_row(summary, method)


def test_picks_regrets_outcomes_and_taus_match_the_hand_values():
    transfer, ranked, scores = hand_study()
    summary, targets = selection.selection_methods(transfer, ranked, scores, draws=1000, seed=0)
    assert list(summary.columns) == list(selection.SUMMARY_COLUMNS)
    assert list(summary["method"]) == ["dtw", "leep", "nce", "logme", "hscore", "random", "oracle"]
    # sources in the transfer table's order (A, B, C, D), as dtw_vs_random draws them
    rnd = {
        "A": random_mean("A", [0.6, 0.9, 0.7]),
        "B": random_mean("B", [0.5, 0.8]),
        "C": random_mean("C", [0.4, 0.4, 0.4]),
    }
    assert 0.70 < rnd["A"] < 0.77 and 0.6 < rnd["B"] < 0.7 and rnd["C"] == pytest.approx(0.4)
    picks = targets.set_index(["method", "target"])
    # DTW: A -> D (0.7, regret 0.2, loss), B -> C (0.8, best, win), C -> B (0.4, tie)
    dtw = picks.loc["dtw"]
    assert dtw["source"].to_dict() == {"A": "D", "B": "C", "C": "B"}
    assert dtw["regret"].to_numpy() == pytest.approx([0.2, 0.0, 0.0])
    assert dtw["outcome"].tolist() == ["loss", "win", "tie"]
    # tau on A: -distance ranks D > B > C, accuracies 0.7, 0.6, 0.9: 1 concordant, 2 discordant
    assert dtw.loc["A", "kendall_tau"] == pytest.approx(-1 / 3)
    assert dtw.loc["B", "kendall_tau"] == pytest.approx(1.0)
    assert np.isnan(dtw.loc["C", "kendall_tau"]) and np.isnan(dtw.loc["C", "weighted_tau"])
    assert dtw.loc["A", "weighted_tau"] == pytest.approx(
        stats.weightedtau([-0.1, -0.2, -0.3], [0.7, 0.6, 0.9]).statistic
    )
    s = row(summary, "dtw")
    assert (s["n_targets"], s["targets_unranked"], s["targets_left_out"]) == (3, 0, 1)
    assert (s["n_pairs"], s["pairs_unranked"], s["pairs_not_run"]) == (8, 0, 1)
    assert (s["wins"], s["ties"], s["losses"]) == (1, 1, 1)
    assert s["accuracy"] == pytest.approx((0.7 + 0.8 + 0.4) / 3)
    assert s["random_accuracy"] == pytest.approx(np.mean(list(rnd.values())))
    assert s["best_accuracy"] == pytest.approx((0.9 + 0.8 + 0.4) / 3)
    assert s["regret"] == pytest.approx(0.2 / 3)
    assert s["kendall_tau"] == pytest.approx((-1 / 3 + 1) / 2) and s["n_tau"] == 2
    d = np.array([0.7 - rnd["A"], 0.8 - rnd["B"]])  # C's zero difference dropped
    assert s["wilcoxon_p"] == pytest.approx(stats.wilcoxon(d).pvalue)
    # LogME: A -> B (0.6, regret 0.3, loss; tau -1/3), B -> A (0.5: D scores higher but was not
    # run; regret 0.3, loss; tau -1); C has no LogME score: unranked
    logme = picks.loc["logme"]
    assert logme["source"].to_dict() == {"A": "B", "B": "A"}
    assert logme["kendall_tau"].to_numpy() == pytest.approx([-1 / 3, -1.0])
    s = row(summary, "logme")
    assert (s["n_targets"], s["targets_unranked"], s["n_pairs"], s["pairs_not_run"]) == (2, 1, 5, 1)
    assert (s["wins"], s["ties"], s["losses"]) == (0, 0, 2)
    assert s["regret"] == pytest.approx(0.3) and s["kendall_tau"] == pytest.approx(-2 / 3)
    # LEEP = the accuracies: the oracle's picks and taus; H-score = the reverse: taus -1
    assert picks.loc["leep", "source"].to_dict() == {"A": "C", "B": "C", "C": "A"}
    assert row(summary, "leep")["kendall_tau"] == pytest.approx(1.0)
    assert row(summary, "hscore")["kendall_tau"] == pytest.approx(-1.0)
    assert row(summary, "hscore")["weighted_tau"] == pytest.approx(-1.0)
    # NCE has no score for B -> A: it ranks C and D on A, one pair unranked
    s = row(summary, "nce")
    assert picks.loc[("nce", "A"), "n_ranked"] == 2
    assert (s["n_targets"], s["n_pairs"], s["pairs_unranked"]) == (3, 7, 1)
    # the oracle: regret 0, tau 1 where defined, wins wherever the sources differ
    s = row(summary, "oracle")
    assert picks.loc["oracle", "source"].to_dict() == {"A": "C", "B": "C", "C": "A"}
    assert s["regret"] == 0 and s["kendall_tau"] == 1 and s["weighted_tau"] == 1
    assert (s["wins"], s["ties"], s["losses"], s["n_tau"]) == (2, 1, 0, 2)
    # random: the control itself, no outcome nor tau
    s = row(summary, "random")
    assert s["accuracy"] == pytest.approx(np.mean(list(rnd.values())))
    assert s["regret"] == pytest.approx(np.mean([0.9 - rnd["A"], 0.8 - rnd["B"], 0.4 - rnd["C"]]))
    assert pd.isna(s["wins"]) and np.isnan(s["wilcoxon_p"]) and np.isnan(s["kendall_tau"])


def test_the_dtw_row_is_dtw_vs_random_summary_on_the_same_inputs():
    transfer, scratch, ranked = synthetic_study(12, missing=0.3, seed=3)
    scores = analysis.score_table(
        pd.DataFrame(columns=["target", "source", "leep", "nce", "logme", "hscore"])
    )
    summary, _ = selection.selection_methods(transfer, ranked, scores, draws=1000, seed=7)
    fig6 = analysis.dtw_vs_random(transfer, ranked, draws=1000, seed=7)
    expected = analysis.dtw_summary(fig6)
    s = row(summary, "dtw")
    assert transfer.notna().sum(axis=0).min() >= 2  # every target compared by both
    for column in ("wins", "ties", "losses", "n_targets"):
        assert s[column] == expected[column], column
    assert s["accuracy"] == pytest.approx(expected["dtw_accuracy"])
    assert s["random_accuracy"] == pytest.approx(expected["random_accuracy"])
    assert s["wilcoxon_p"] == pytest.approx(expected["wilcoxon_p"])
    # without scores, the score rows rest on no target; the figure still draws
    assert (summary.set_index("method").loc[list(selection.SCORES), "n_targets"] == 0).all()
    assert row(summary, "random")["random_accuracy"] == pytest.approx(expected["random_accuracy"])


def test_on_the_partial_hand_study_dtw_agrees_with_fig6_over_targets_with_two_sources():
    transfer, ranked, scores = hand_study()
    summary, _ = selection.selection_methods(transfer, ranked, scores)
    fig6 = analysis.compared_targets(analysis.dtw_vs_random(transfer, ranked))
    kept = fig6[fig6["n_sources"] >= selection.MIN_SOURCES]
    assert len(fig6) == 4 and len(kept) == 3  # D (one source) is compared by Fig. 6 only
    s = row(summary, "dtw")
    counts = kept["outcome"].value_counts()
    assert (s["wins"], s["ties"], s["losses"]) == tuple(
        counts.get(k, 0) for k in ("win", "tie", "loss")
    )
    assert s["accuracy"] == pytest.approx(kept["dtw_accuracy"].mean())
    assert s["wilcoxon_p"] == pytest.approx(
        analysis.wilcoxon_p(kept["dtw_accuracy"], kept["random_accuracy"])
    )


def test_sources_without_a_neighbour_are_unranked_and_counted():
    transfer, ranked, scores = hand_study()
    ranked = ranked[~((ranked["target"] == "B") & (ranked["source"] == "A"))]
    ranked = ranked[ranked["target"] != "C"]
    summary, targets = selection.selection_methods(transfer, ranked, scores)
    s = row(summary, "dtw")
    assert (s["n_targets"], s["targets_unranked"]) == (2, 1)
    assert (s["n_pairs"], s["pairs_unranked"], s["pairs_not_run"]) == (4, 1, 1)
    dtw = targets[targets["method"] == "dtw"].set_index("target")
    assert dtw.loc["B", "n_ranked"] == 1 and np.isnan(dtw.loc["B", "kendall_tau"])
    assert row(summary, "oracle")["n_targets"] == 3


def test_a_target_with_one_source_is_left_out_and_draws_are_checked():
    transfer = matrix({"A": {"B": 0.5}, "C": {"B": 0.6}}, ["A", "B", "C"])
    summary, targets = selection.selection_methods(
        transfer,
        neighbours({"B": ["A", "C"]}),
        analysis.score_table(
            pd.DataFrame(columns=["target", "source", "leep", "nce", "logme", "hscore"])
        ),
    )
    assert set(targets["target"]) == {"B"}
    assert (summary["targets_left_out"] == 2).all()
    assert row(summary, "oracle")["pairs_not_run"] == 0
    with pytest.raises(analysis.InputError, match="random_draws"):
        selection.by_target(transfer, neighbours({}), pd.DataFrame(), draws=0)


def test_the_score_reader_checks_its_table(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("target,source,leep,nce,logme\nA,B,1,2,3\n")
    with pytest.raises(analysis.InputError, match="missing column.*hscore"):
        analysis.read_scores(path)
    path.write_text(
        "target,source,leep,nce,logme,hscore,seconds\nA,B,1,2,3,4,0.1\nA,B,1,2,3,4,0.1\n"
    )
    with pytest.raises(analysis.InputError, match="appears twice"):
        analysis.read_scores(path)
    path.write_text("target,source,leep,nce,logme,hscore,seconds\nA,B,1,x,3,4,0.1\nA,A,1,2,3,4,0\n")
    with pytest.raises(analysis.InputError, match="non-numeric"):
        analysis.read_scores(path)


def test_figure_and_caption_counts_are_written_from_the_table(tmp_path):
    transfer, ranked, scores = hand_study()
    summary, _ = selection.selection_methods(transfer, ranked, scores)
    path = tmp_path / "selection_methods.csv"
    write_csv(summary, path)
    table = analysis.read_table(path, selection.SUMMARY_COLUMNS)
    figure = figures.selection_methods_figure(table, pairs="3 targets, 8 fine-tuned pairs")
    figures.save(figure, tmp_path / "s.png", tmp_path / "s.svg")
    _written(tmp_path / "s.png")
    _written(tmp_path / "s.svg")
    # a table where the scores rank no target draws too
    empty = summary.copy()
    empty.loc[
        empty["method"].isin(selection.SCORES),
        ["accuracy", "regret", "kendall_tau", "weighted_tau", "wilcoxon_p"],
    ] = np.nan
    empty.loc[empty["method"].isin(selection.SCORES), ["n_targets", "wins", "ties", "losses"]] = 0
    figures.save(figures.selection_methods_figure(empty), tmp_path / "e.png")
    _written(tmp_path / "e.png")
    counts = selection.Counts(str(path))
    assert (counts.n_targets, counts.n_pairs, counts.pairs_not_run, counts.targets_left_out) == (
        3,
        8,
        1,
        1,
    )
    assert repr(counts) == f"Counts(path='{path}')"
    assert pickle.loads(pickle.dumps(counts)) == counts
    assert selection.Counts(str(tmp_path / "absent.csv")).n_targets == "?"
    with pytest.raises(AttributeError):
        counts.other
