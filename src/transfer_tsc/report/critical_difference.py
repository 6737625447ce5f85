"""Critical-difference diagrams: methods compared over many datasets by their average ranks and
pairwise Wilcoxon signed-rank tests with Holm's correction (Demsar 2006; Benavoli, Corani and
Mangili 2016), as the time-series-classification literature draws them.

The input is a table with one row per dataset and one column per method, higher accuracy better.
Rows with a missing value are dropped, so every rank and test rests on the same N datasets.

* Average ranks (Demsar 2006, section 3.2.2). On dataset i the methods are ranked by accuracy,
  r_i^j = 1 for the best; tied methods get the mean of the ranks they span (two tied for first:
  1.5 each). The average rank of method j is R_j = (1 / N) sum_i r_i^j; rank 1 is best.
* Wilcoxon signed-rank test of each pair (a, b) (Demsar 2006, section 3.1.3; ``scipy.stats.
  wilcoxon``, two-sided): d_i = a_i - b_i (a difference within ``analysis.TIE_TOLERANCE`` is 0),
  the |d_i| ranked (ties the mean rank), R+ = sum of the ranks of d_i > 0, R- = of d_i < 0, the
  statistic T = min(R+, R-). The p-value (scipy 1.17's ``method="auto"``): from T's exact null
  distribution for N <= 50 without ties or zeros; with ties or zeros, from the 2^N sign flips of
  the d_i (an exact permutation test) for N <= 13, otherwise, as for N > 50, from the normal
  approximation z = (R+ - mu) / sigma with mu = N (N + 1) / 4 and
  sigma^2 = N (N + 1) (2N + 1) / 24 less the ties' correction. ``wins_a`` / ``ties`` /
  ``wins_b`` count d_i > 0, = 0, < 0.
* Zero differences (datasets where a and b have the same accuracy, frequent on the UCR
  archive's small test sets) are handled as Pratt (1959) does, ``zero_method="pratt"``: they
  take part in ranking the |d_i| but add to neither R+ nor R-. This is the choice of the code
  behind the TSC literature's Wilcoxon-Holm diagrams (github.com/hfawaz/cd-diagram, main.py,
  drawn for Ismail Fawaz et al.'s deep-learning-for-TSC review, 2019), so p-values here are its
  p-values; like Demsar's advice (section 3.1.3: split the zero ranks evenly between R+ and R-,
  scipy's "zsplit") it keeps the tied datasets in the test as evidence of no difference, where
  scipy's default "wilcox" drops them and tests the datasets that differ alone. A pair with every
  difference zero has p = 1 (scipy would divide by zero).
* Holm's step-down correction over the m = k (k - 1) / 2 pairs of the k methods (Holm 1979;
  Demsar 2006, section 3.2.2): with the p-values sorted ascending, p_(1) <= ... <= p_(m),
  p_holm_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)); a pair differs significantly when
  p_holm < alpha. Holm controls the family-wise error over all pairs, less conservative than
  Bonferroni.
* Why pairwise Wilcoxon-Holm rather than Demsar's Friedman + Nemenyi: Benavoli, Corani and
  Mangili (JMLR 17, 2016) show that a mean-ranks post-hoc test makes the outcome of comparing
  a and b depend on which other methods are in the comparison; the Wilcoxon test of a pair uses
  a's and b's accuracies alone.

The diagram (``critical_difference_figure``) is drawn by scikit-posthocs'
``critical_difference_diagram`` from the average ranks and the matrix of Holm-adjusted p-values:
the methods on a rank axis (1 = best, on the left), a thick bar joining each largest group of
methods no two of which differ significantly (the maximal cliques of "not significant").

Why scikit-posthocs (0.17.1) and not aeon or autorank: autorank 1.3.0 compares more than two
populations with Friedman + Nemenyi (or repeated-measures ANOVA + Tukey's HSD), never pairwise
Wilcoxon-Holm; aeon 1.6.0 does Wilcoxon-Holm in ``plot_critical_difference`` but requires
numba<0.64 (which requires numpy<2.4) and pandas<3.1, which would downgrade the lock's numpy 2.4.6
and pandas 3.1.1 and add numba, llvmlite and scikit-learn. scikit-posthocs draws the diagram from
ranks and a significance matrix and adds only statsmodels (with patsy, formulaic, narwhals and
interface-meta) to the lock; the tests here are computed with scipy and checked against its
``posthoc_wilcoxon(p_adjust="holm")``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from transfer_tsc.errors import InputError
from transfer_tsc.report import analysis, selection

if TYPE_CHECKING:  # matplotlib is imported by the functions that draw
    from matplotlib.figure import Figure

PAIR_COLUMNS = (
    "method_a",
    "method_b",
    "n_datasets",
    "wins_a",
    "ties",
    "wins_b",
    "statistic",
    "p_value",
    "p_holm",
    "significant",
)
# The CSV of a diagram: a row per method (section "rank"), per pair (section "pair"), and one
# saying what the test was or why no diagram could be drawn (section "note").
CSV_COLUMNS = ("section", "method", "average_rank", *PAIR_COLUMNS, "note")
ALPHA = 0.05
ZERO_METHOD = "pratt"
TEST = "Wilcoxon signed-rank, Holm"
# The selection diagram's methods: selection.METHODS and training from scratch.
SCRATCH = "scratch"


class NotEnoughData(InputError):
    """Fewer than 2 methods, or fewer than 2 datasets with a result for every method: no
    diagram can be drawn (the workflow writes the reason instead)."""


def _complete(table: pd.DataFrame, label: str) -> tuple[pd.DataFrame, int]:
    """``table`` as floats without its rows that miss a value, and how many rows were dropped;
    an InputError for too few methods or datasets, a repeated method or a non-numeric value."""
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"{label}: expected a table (rows datasets, columns methods)")
    methods = [str(c) for c in table.columns]
    if len(methods) < 2:
        raise NotEnoughData(
            f"{label}: {len(methods)} method(s) ({', '.join(methods) or 'none'}); a "
            "critical-difference diagram compares at least 2"
        )
    repeated = sorted({m for m in methods if methods.count(m) > 1})
    if repeated:
        raise InputError(f"{label}: method(s) {', '.join(repeated)} appear more than once")
    numbers = table.apply(pd.to_numeric, errors="coerce").astype(float)
    bad = (numbers.isna() & table.notna()) | np.isinf(numbers)
    if bad.to_numpy().any():
        row, column = next(zip(*np.nonzero(bad.to_numpy())))
        raise InputError(
            f"{label}: non-numeric value {table.iat[row, column]!r} for method "
            f"{table.columns[column]} on dataset {table.index[row]} (accuracies are numbers)"
        )
    complete = numbers.dropna(axis=0, how="any")
    dropped = len(numbers) - len(complete)
    if len(complete) < 2:
        raise NotEnoughData(
            f"{label}: {len(complete)} of {len(numbers)} datasets with a result for every "
            f"method ({dropped} row(s) with a missing result dropped); the tests need at least 2"
        )
    return complete, dropped


def average_ranks(table: pd.DataFrame, label: str = "table") -> pd.Series:
    """The average rank R_j of each method (column) over the datasets (rows) with a value for
    every method: rank 1 for the highest accuracy, ties the mean of the ranks they span (module
    docstring); ascending, methods of equal rank in the table's order."""
    complete, _ = _complete(table, label)
    ranks = complete.rank(axis=1, ascending=False, method="average").mean(axis=0)
    ranks = ranks.sort_values(kind="stable")
    ranks.index.name, ranks.name = "method", "average_rank"
    return ranks


def _signed_rank(d: np.ndarray) -> tuple[float, float]:
    """(statistic, two-sided p-value) of the Wilcoxon signed-rank test of the differences ``d``
    (Pratt's zeros); (0, 1) when every difference is zero."""
    if not np.any(d != 0):
        return 0.0, 1.0
    from scipy import stats  # imported when used: Snakemake imports the report modules

    with warnings.catch_warnings():  # scipy's notes on ties and the normal approximation
        warnings.simplefilter("ignore")
        result = stats.wilcoxon(d, zero_method=ZERO_METHOD, alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given: with p sorted ascending,
    p_holm_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    return adjusted


def wilcoxon_holm(table: pd.DataFrame, alpha: float = ALPHA, label: str = "table") -> pd.DataFrame:
    """Every pair of methods (``PAIR_COLUMNS``), over the datasets with a value for every method:
    the wins / ties / losses, the two-sided Wilcoxon signed-rank statistic and p-value (Pratt's
    zeros), the Holm-adjusted p-value over all pairs and whether it is below ``alpha`` (module
    docstring). Pairs in the order of the average ranks, ``method_a`` the better-ranked."""
    if not 0 < alpha < 1:
        raise InputError(f"{label}: alpha must lie in (0, 1), got {alpha}")
    complete, _ = _complete(table, label)
    order = list(average_ranks(complete, label).index)
    rows = []
    for a, b in itertools.combinations(order, 2):
        d = complete[a].to_numpy() - complete[b].to_numpy()
        d[np.abs(d) <= analysis.TIE_TOLERANCE] = 0.0
        statistic, p = _signed_rank(d)
        rows.append(
            {
                "method_a": a,
                "method_b": b,
                "n_datasets": len(d),
                "wins_a": int(np.sum(d > 0)),
                "ties": int(np.sum(d == 0)),
                "wins_b": int(np.sum(d < 0)),
                "statistic": statistic,
                "p_value": p,
            }
        )
    pairs = pd.DataFrame(rows, columns=list(PAIR_COLUMNS[:-2]))
    pairs["p_holm"] = holm(pairs["p_value"])
    pairs["significant"] = pairs["p_holm"] < alpha
    return pairs


def significance_matrix(pairs: pd.DataFrame, methods) -> pd.DataFrame:
    """The symmetric matrix of ``pairs``' Holm-adjusted p-values over ``methods`` (1 on the
    diagonal), as scikit-posthocs' diagram reads it."""
    methods = list(methods)
    matrix = pd.DataFrame(1.0, index=methods, columns=methods)
    for a, b, p in pairs[["method_a", "method_b", "p_holm"]].itertuples(index=False):
        matrix.loc[a, b] = matrix.loc[b, a] = float(p)
    return matrix


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value the Wilcoxon signed-rank test reaches on ``n`` datasets,
    every difference of one sign: 2 / 2^n (the exact and the sign-flip p-values, which scipy
    gives for n <= 13; zero differences only raise it)."""
    return 2.0 ** (1 - n)


def _subtitle(n: int, dropped: int, alpha: float) -> str:
    text = f"{TEST}, alpha {alpha:g}: {n} datasets"
    if dropped:
        text += f" ({dropped} with a missing result left out)"
    text += "\naverage rank (1 = best); a bar joins methods that do not differ significantly"
    if smallest_p(n) >= alpha:
        text += (
            f"\nwith {n} datasets no pair can differ significantly "
            f"(smallest possible p = {smallest_p(n):.3g})"
        )
    return text


def critical_difference_figure(
    table: pd.DataFrame, title: str, alpha: float = ALPHA, label: str = "table"
) -> Figure:
    """The critical-difference diagram of ``table`` (rows datasets, columns methods): the average
    ranks on an axis (1 = best, left), a bar joining methods whose pairwise Holm-adjusted
    Wilcoxon p-value is at least ``alpha``; drawn by scikit-posthocs'
    ``critical_difference_diagram``. ``title`` above, the test and the number of datasets
    below it."""
    complete, dropped = _complete(table, label)
    ranks = average_ranks(complete, label)
    pairs = wilcoxon_holm(complete, alpha, label)
    matrix = significance_matrix(pairs, ranks.index)
    import scikit_posthocs  # imported when used: it imports matplotlib.pyplot and statsmodels

    from transfer_tsc.report.figures import _figure

    k = len(ranks)
    figure = _figure(8.0, 1.6 + 0.32 * ((k + 1) // 2 + max(1, k // 2)))
    ax = figure.add_subplot()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scikit_posthocs.critical_difference_diagram(
            ranks,
            matrix,
            alpha=alpha,
            ax=ax,
            label_fmt_left="{label} ({rank:.2f})",
            label_fmt_right="({rank:.2f}) {label}",
            label_props={"fontsize": 9},
        )
    ax.set_xlim(1 - 0.02 * k, k + 0.02 * k)
    ax.set_xticks(np.arange(1, k + 1))
    ax.tick_params(axis="x", labelsize=9)
    ax.set_title(_subtitle(len(complete), dropped, alpha), fontsize=9, pad=22)
    figure.suptitle(title, fontsize=11)
    return figure


def critical_difference_table(
    table: pd.DataFrame, alpha: float = ALPHA, label: str = "table"
) -> pd.DataFrame:
    """The diagram's numbers as one table (``CSV_COLUMNS``): a row per method with its average
    rank (section ``rank``), a row per pair (``wilcoxon_holm``, section ``pair``) and a note
    naming the test and the datasets used (section ``note``)."""
    complete, dropped = _complete(table, label)
    ranks = average_ranks(complete, label)
    pairs = wilcoxon_holm(complete, alpha, label)
    n = len(complete)
    note = (
        f"{TEST} (two-sided, zero_method {ZERO_METHOD}), alpha {alpha:g}: {n} datasets with a "
        f"result for every method, {dropped} row(s) with a missing result dropped; rank 1 = best"
    )
    if smallest_p(n) >= alpha:
        note += f"; with {n} datasets no pair can differ significantly"
    frames = [
        pd.DataFrame(
            {
                "section": "rank",
                "method": ranks.index,
                "average_rank": ranks.to_numpy(),
                "n_datasets": n,
            }
        ),
        pairs.assign(section="pair"),
        pd.DataFrame({"section": ["note"], "n_datasets": [n], "note": [note]}),
    ]
    return _csv(pd.concat(frames, ignore_index=True))


def _csv(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reindex(columns=list(CSV_COLUMNS))
    for column in ("n_datasets", "wins_a", "ties", "wins_b"):
        frame[column] = frame[column].astype("Int64")
    frame["significant"] = frame["significant"].astype("boolean")
    return frame


def unavailable_table(reason: str) -> pd.DataFrame:
    """The table of a diagram that could not be drawn: one note row with the reason."""
    return _csv(pd.DataFrame({"section": ["note"], "note": [f"no diagram: {reason}"]}))


def unavailable_figure(title: str, reason: str) -> Figure:
    """In place of a diagram: ``title`` and, in words, why none could be drawn."""
    from transfer_tsc.report.figures import _figure

    figure = _figure(8.0, 2.2)
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        f"No critical-difference diagram ({TEST}):\n{reason}",
        ha="center",
        va="center",
        wrap=True,
        fontsize=10,
        transform=ax.transAxes,
    )
    figure.suptitle(title, fontsize=11)
    return figure


def diagram(
    table: pd.DataFrame, title: str, alpha: float = ALPHA, label: str = "table"
) -> tuple[pd.DataFrame, Figure, str]:
    """The table (``critical_difference_table``), the figure and a log line of ``table``'s
    diagram; when there are too few methods or datasets (``NotEnoughData``), the reason in
    their place (``unavailable_table``, ``unavailable_figure``). Other bad input raises."""
    try:
        result = critical_difference_table(table, alpha, label)
        figure = critical_difference_figure(table, title, alpha, label)
    except NotEnoughData as error:
        reason = str(error)
        return unavailable_table(reason), unavailable_figure(title, reason), f"no diagram: {reason}"
    ranks = result[result["section"] == "rank"]
    pairs = result[result["section"] == "pair"]
    line = (
        f"{len(ranks)} methods over {int(ranks['n_datasets'].iloc[0])} datasets, "
        f"{int(pairs['significant'].sum())} of {len(pairs)} pairs differ (Holm, alpha {alpha:g}); "
        f"best rank {ranks['method'].iloc[0]} ({float(ranks['average_rank'].iloc[0]):.2f})"
    )
    return result, figure, line


# --------------------------------------------------------------------------- the study's tables


def selection_table(by_target: pd.DataFrame, scratch: pd.Series) -> pd.DataFrame:
    """Rows targets, columns the source-selection methods (``selection.METHODS`` that chose on
    some target) and ``scratch``: the accuracy of the source each method chose
    (``selection.by_target``'s table) and of training the target from scratch. A method that
    chose nothing on a target leaves it missing."""
    needed = ("target", "method", "accuracy")
    missing = [c for c in needed if c not in by_target.columns]
    if missing:
        raise InputError(f"selection methods by target: missing column(s) {', '.join(missing)}")
    wide = by_target.pivot_table(
        index="target", columns="method", values="accuracy", aggfunc="first", dropna=False
    )
    methods = [m for m in selection.METHODS if m in wide.columns]
    wide = wide.reindex(columns=methods)
    wide[SCRATCH] = scratch.reindex(wide.index).to_numpy(dtype=float)
    wide.columns.name, wide.index.name = "method", "target"
    return wide


def networks_table(studies: Mapping[str, tuple[pd.Series, pd.DataFrame]]) -> pd.DataFrame:
    """Rows datasets, per network (its title, e.g. ``FCN``) two columns: ``<title> scratch``, the
    accuracy trained from scratch, and ``<title> transfer (DTW)``, fine-tuned from the target's
    DTW-nearest source that was run (``analysis.dtw_vs_random``'s ``dtw_accuracy``). ``studies``
    maps each title to its (scratch accuracies, DTW vs random table)."""
    columns = {}
    for title, (scratch, dtw) in studies.items():
        compared = analysis.compared_targets(dtw).set_index("target")["dtw_accuracy"]
        columns[f"{title} scratch"] = scratch.astype(float)
        columns[f"{title} transfer (DTW)"] = compared.astype(float)
    table = pd.DataFrame(columns)
    table.index.name, table.columns.name = "dataset", "method"
    return table.sort_index()
