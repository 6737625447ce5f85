"""Choosing the source without fine-tuning (beyond the paper, issue 15): how well each way of
picking a source does on the targets whose sources were fine-tuned.

The methods (``METHODS``):

* ``dtw``: the DTW-nearest source (the paper's method; rank 1 of ``neighbours`` among the
  sources fine-tuned, as ``analysis.dtw_vs_random``), ranking score ``-distance``;
* ``leep``, ``nce``, ``logme``, ``hscore``: the source with the highest transferability score
  (``results/<network>/transferability/scores.csv``; ties by source name, as
  ``study.rank_by_score``), ranking score the score itself;
* ``random``: the control, a source drawn uniformly among those fine-tuned, its accuracy the mean
  over ``draws`` seeded draws (``analysis.random_source_accuracy`` with ``analysis.target_seed``,
  the very draws of Fig. 6);
* ``oracle``: the best fine-tuned source (ranking score the accuracy itself; ties by name).

Which targets and sources. A target is compared when at least ``MIN_SOURCES`` = 2 of its sources
were fine-tuned (with one there is nothing to choose); the others are left out of every row and
counted (``targets_left_out``). On a target, a method chooses among the fine-tuned sources it
can rank: all of them for ``random`` and ``oracle``, those with a (finite) score for a score,
those with a DTW neighbour rank for ``dtw``. A target where a method ranks none of them is left
out of that method's row and counted (``targets_unranked``), so rows may rest on different
targets; ``random_accuracy`` and ``best_accuracy`` of a row are the means over that row's own
targets. Pairs not run are left out and counted (``pairs_not_run``: of the N - 1 possible
sources of the row's targets, N the datasets of the transfer table); fine-tuned pairs a method
cannot rank are counted in ``pairs_unranked``.

Per target t with fine-tuned sources S_t, accuracies a_s, and a method m that picks p_m(t) among
its ranked sources R_m(t) (a subset of S_t) with ranking scores r_s:

* accuracy: a_{p_m(t)};
* best accuracy: a*_t = max_{s in S_t} a_s (the oracle's);
* random accuracy: (1 / D) sum_{d=1..D} a_{s_d}, s_d drawn uniformly from S_t, D = ``draws``;
* regret: a*_t - a_{p_m(t)} (for ``random``: a*_t - the random accuracy);
* outcome: win / tie / loss of a_{p_m(t)} against the random accuracy (``analysis.outcome``,
  ties within ``analysis.TIE_TOLERANCE``);
* Kendall tau: ``scipy.stats.kendalltau(r, a)`` over R_m(t) (tau-b, ties allowed),
  tau = (P - Q) / sqrt((P + Q + T_r) (P + Q + T_a)) with P concordant and Q discordant pairs,
  T_r and T_a the pairs tied only in r or only in a; undefined (NaN) with fewer than 2 sources
  or a constant r or a;
* weighted tau: ``scipy.stats.weightedtau(r, a)`` with scipy's defaults, for the weighted
  Kendall tau_w that the LogME paper reports (You et al., ICML 2021, after Vigna, WWW 2015;
  scipy's is Vigna's, whether LogME changed its defaults is not checked here): each exchanged
  pair of sources is weighted by w(i) + w(j) with the hyperbolic weigher w(k) = 1 / (k + 1),
  k the rank of the element (0 = largest), so swaps among the top-ranked sources count most;
  ``rank=True`` averages the
  values obtained ranking by r (ties by a) and by a (ties by r).

Per method, the summary (``summarise``) averages these over its targets (taus over the targets
where they are defined, ``n_tau``), counts the wins / ties / losses (not for ``random``) and gives
the two-sided Wilcoxon signed-rank p-value of the paired (accuracy, random accuracy)
(``analysis.wilcoxon_p``). On the same inputs the ``dtw`` row equals ``analysis.dtw_vs_random``'s
summary over the targets with at least 2 fine-tuned sources.

With config ``runs`` above 1 the accuracies are the means over the runs, and ``selection_spread``
adds a second count: the comparison is made again on each run's accuracies alone (``by_target``
of run r's matrix, the random draws seeded as for the means; the oracle is run r's best), and
a (target, method) "wins in every run" when it is a win in each of them: ``runs_won`` per target
and method, ``wins_every_run`` per method (NA for random), beside ``wins`` counted on the means.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transfer_tsc import study
from transfer_tsc.errors import InputError
from transfer_tsc.report import analysis
from transfer_tsc.transferability import SCORES

METHODS = ("dtw", *SCORES, "random", "oracle")
# A target is compared when at least this many of its sources were fine-tuned.
MIN_SOURCES = 2

TARGET_COLUMNS = (
    "target",
    "method",
    "source",
    "accuracy",
    "random_accuracy",
    "best_accuracy",
    "regret",
    "outcome",
    "n_sources",
    "n_ranked",
    "kendall_tau",
    "weighted_tau",
)
SUMMARY_COLUMNS = (
    "method",
    "n_targets",
    "targets_unranked",
    "targets_left_out",
    "n_pairs",
    "pairs_unranked",
    "pairs_not_run",
    "accuracy",
    "random_accuracy",
    "best_accuracy",
    "regret",
    "wins",
    "ties",
    "losses",
    "wilcoxon_p",
    "kendall_tau",
    "weighted_tau",
    "n_tau",
)

# Added with runs above 1 (``selection_spread``).
TARGET_SPREAD_COLUMNS = ("runs_won", "runs")
SUMMARY_SPREAD_COLUMNS = ("wins_every_run", "runs")


def _tau(function, ranking: np.ndarray, accuracy: np.ndarray) -> float:
    """``function(ranking, accuracy).statistic``; NaN with fewer than 2 values or a constant one."""
    if len(ranking) < 2 or np.ptp(ranking) == 0 or np.ptp(accuracy) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(function(ranking, accuracy).statistic)


def kendall_tau(ranking, accuracy) -> float:
    """Kendall's tau-b between a method's ranking scores and the fine-tuned accuracies."""
    from scipy import stats  # imported when used: Snakemake imports this module

    return _tau(stats.kendalltau, np.asarray(ranking, float), np.asarray(accuracy, float))


def weighted_tau(ranking, accuracy) -> float:
    """The LogME paper's weighted Kendall tau: ``scipy.stats.weightedtau`` with its defaults
    (hyperbolic weigher 1 / (rank + 1), averaged over ranking by either variable)."""
    from scipy import stats  # imported when used: Snakemake imports this module

    return _tau(stats.weightedtau, np.asarray(ranking, float), np.asarray(accuracy, float))


def _rankings(
    target: str, results: pd.Series, neighbours: pd.DataFrame, scores: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Per ranking method, the fine-tuned sources it ranks on ``target`` in its order (first =
    the pick), as a frame (source, ranking)."""
    rankings = {}
    ranked = neighbours[(neighbours["target"] == target) & neighbours["source"].isin(results.index)]
    ranked = ranked.sort_values("rank")
    rankings["dtw"] = pd.DataFrame(
        {"source": ranked["source"].to_numpy(), "ranking": -ranked["distance"].to_numpy()}
    )
    rows = scores[(scores["target"] == target) & scores["source"].isin(results.index)]
    for score in SCORES:
        finite = rows[np.isfinite(rows[score].to_numpy(dtype=float))]
        ordered = study.rank_by_score(finite, score) if len(finite) else finite
        rankings[score] = pd.DataFrame(
            {"source": ordered["source"].to_numpy(), "ranking": ordered[score].to_numpy(float)}
        )
    best = results.rename_axis("source").reset_index(name="ranking")
    rankings["oracle"] = best.sort_values(["ranking", "source"], ascending=[False, True])
    return rankings


def by_target(
    transfer: pd.DataFrame,
    neighbours: pd.DataFrame,
    scores: pd.DataFrame,
    draws: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (compared target, method) that picked a source there (``TARGET_COLUMNS``):
    the pick, its accuracy, the random and best accuracies, the regret, the outcome against
    random and the two rank correlations (module docstring). Targets with fewer than
    ``MIN_SOURCES`` fine-tuned sources and methods that rank none of a target's are left out."""
    if draws < 1:
        raise InputError(f"config key analysis.random_draws: must be at least 1, got {draws}")
    rows = []
    for target in sorted(transfer.columns):
        # the very Series dtw_vs_random draws from (same order, same seed)
        results = transfer[target].dropna()
        if len(results) < MIN_SOURCES:
            continue
        best = float(results.max())
        rnd = analysis.random_source_accuracy(
            results.to_numpy(), draws, analysis.target_seed(seed, target)
        )
        base = {
            "target": target,
            "random_accuracy": rnd,
            "best_accuracy": best,
            "n_sources": len(results),
        }
        rankings = _rankings(target, results, neighbours, scores)
        for method in METHODS:
            if method == "random":
                rows.append(
                    {
                        **base,
                        "method": method,
                        "source": None,
                        "accuracy": rnd,
                        "regret": best - rnd,
                        "outcome": None,
                        "n_ranked": len(results),
                        "kendall_tau": np.nan,
                        "weighted_tau": np.nan,
                    }
                )
                continue
            ranking = rankings[method]
            if not len(ranking):
                continue
            source = str(ranking["source"].iloc[0])
            accuracy = float(results[source])
            values = results.reindex(ranking["source"]).to_numpy(float)
            rows.append(
                {
                    **base,
                    "method": method,
                    "source": source,
                    "accuracy": accuracy,
                    "regret": best - accuracy,
                    "outcome": analysis.outcome(accuracy, rnd),
                    "n_ranked": len(ranking),
                    "kendall_tau": kendall_tau(ranking["ranking"], values),
                    "weighted_tau": weighted_tau(ranking["ranking"], values),
                }
            )
    # rows in order: targets by name, methods as METHODS
    return pd.DataFrame(rows, columns=list(TARGET_COLUMNS)).astype(
        {"n_sources": int, "n_ranked": int}
    )


def summarise(targets: pd.DataFrame, transfer: pd.DataFrame) -> pd.DataFrame:
    """One row per method of ``METHODS`` (``SUMMARY_COLUMNS``) from ``by_target``'s table on
    ``transfer``: counts of targets and pairs used, unranked, left out and not run, the mean
    accuracies and regret, wins / ties / losses against random with the Wilcoxon p-value (NA for
    random) and the mean taus over the ``n_tau`` targets where they are defined (NA for random)."""
    names = set(transfer.index) | set(transfer.columns)
    possible = len(names) - 1
    fine_tuned = transfer.notna().sum(axis=0)
    compared = sorted(set(targets["target"]))
    left_out = int(sum(1 for t in transfer.columns if fine_tuned[t] < MIN_SOURCES))
    rows = []
    for method in METHODS:
        own = targets[targets["method"] == method]
        n_sources = fine_tuned.reindex(own["target"]).to_numpy()
        row = {
            "method": method,
            "n_targets": len(own),
            "targets_unranked": len(compared) - len(own),
            "targets_left_out": left_out,
            "n_pairs": int(own["n_ranked"].sum()),
            "pairs_unranked": int((n_sources - own["n_ranked"].to_numpy()).sum()),
            "pairs_not_run": int((possible - n_sources).sum()),
            "accuracy": own["accuracy"].mean(),
            "random_accuracy": own["random_accuracy"].mean(),
            "best_accuracy": own["best_accuracy"].mean(),
            "regret": own["regret"].mean(),
            "wins": pd.NA,
            "ties": pd.NA,
            "losses": pd.NA,
            "wilcoxon_p": np.nan,
            "kendall_tau": own["kendall_tau"].mean(),
            "weighted_tau": own["weighted_tau"].mean(),
            "n_tau": int(own["kendall_tau"].notna().sum()),
        }
        if method != "random":
            counts = own["outcome"].value_counts()
            row.update(
                wins=int(counts.get("win", 0)),
                ties=int(counts.get("tie", 0)),
                losses=int(counts.get("loss", 0)),
                wilcoxon_p=analysis.wilcoxon_p(own["accuracy"], own["random_accuracy"]),
            )
        else:
            row["n_tau"] = pd.NA
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    for column in ("wins", "ties", "losses", "n_tau"):
        table[column] = table[column].astype("Int64")
    return table


def selection_methods(
    transfer: pd.DataFrame,
    neighbours: pd.DataFrame,
    scores: pd.DataFrame,
    draws: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary (one row per method) and the per-target table of the comparison."""
    targets = by_target(transfer, neighbours, scores, draws=draws, seed=seed)
    return summarise(targets, transfer), targets


def selection_spread(
    summary: pd.DataFrame, targets: pd.DataFrame, targets_by_run: list[pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparison on the means (``selection_methods``: ``summary``, ``targets``) with the wins
    that hold in every one of the R runs, from ``targets_by_run`` (``by_target`` of each run's
    matrix, draws and seed as for the means): per (target, method) ``runs_won``, the runs where
    the method's pick beats random (NA for random), and ``runs``, R
    (``TARGET_SPREAD_COLUMNS``); per method ``wins_every_run``, the targets with ``runs_won`` = R
    (NA for random), and ``runs`` (``SUMMARY_SPREAD_COLUMNS``)."""
    if not targets_by_run:
        raise ValueError("selection_spread: no run")
    key = ["target", "method"]
    runs = len(targets_by_run)
    index = pd.MultiIndex.from_frame(targets[key])
    won = sum(
        (run.set_index(key)["outcome"] == "win").reindex(index, fill_value=False).to_numpy(int)
        for run in targets_by_run
    )
    targets = targets.copy()
    scored = (targets["method"] != "random").to_numpy()
    targets["runs_won"] = pd.array(np.where(scored, won, pd.NA), dtype="Int64")
    targets["runs"] = runs
    every = targets[(targets["runs_won"] == runs).fillna(False)].groupby("method").size()
    summary = summary.copy()
    summary["wins_every_run"] = pd.array(
        [pd.NA if m == "random" else int(every.get(m, 0)) for m in summary["method"]],
        dtype="Int64",
    )
    summary["runs"] = runs
    return (
        summary[[*SUMMARY_COLUMNS, *SUMMARY_SPREAD_COLUMNS]],
        targets[[*TARGET_COLUMNS, *TARGET_SPREAD_COLUMNS]],
    )


def method_row(summary: pd.DataFrame, method: str) -> pd.Series:
    """The summary row of ``method``."""
    rows = summary[summary["method"] == method]
    if len(rows) != 1:
        raise InputError(f"selection methods table: expected one row for method {method}")
    return rows.iloc[0]


@dataclass(frozen=True)
class Counts:
    """What the comparison rests on, read from the summary table at ``path`` when first asked
    (the report's captions: ``{{ snakemake.params.counts.n_targets }}``). Its repr is the path
    only, so, as a rule's param, it never makes Snakemake think the params changed, and the file
    is read when the caption is rendered, not when the DAG is built."""

    path: str

    def _oracle(self) -> pd.Series | None:
        try:
            return method_row(analysis.read_table(self.path, SUMMARY_COLUMNS), "oracle")
        except InputError:
            return None

    def __getattr__(self, name: str):
        if name not in ("n_targets", "n_pairs", "pairs_not_run", "targets_left_out"):
            raise AttributeError(name)
        row = self._oracle()
        return "?" if row is None else int(row[name])
