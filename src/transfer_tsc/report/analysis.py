"""The paper's analyses (section V) computed from the study's result tables.

Inputs, all accuracies in [0, 1]:

* ``scratch``: from-scratch test accuracy per dataset (``results/<network>/scratch_accuracy.csv``);
* ``transfer``: fine-tuned test accuracy, rows source and columns target, NaN where the pair
  was not run and on the diagonal (``results/<network>/transfer_accuracy.csv``);
* ``neighbours``: per target its sources ranked by DTW distance, rank 1 the nearest
  (``results/similarity/neighbours.csv``);
* ``scores``: transferability scores per (target, source), higher = better source
  (``results/<network>/transferability/scores.csv``; used by ``transfer_tsc.report.selection``).

With config ``runs`` above 1, ``scratch`` and ``transfer`` hold the mean over the runs, and the
per-run tables beside them (``*_runs.csv``: one row per item and run) give the spread: the
``*_spread`` functions add, to Figs 5 and 6's tables, the std over runs (ddof 1, as the gathered
spread tables) and, to the win counts, the wins that hold in every run (the comparison made on
each run's accuracies alone, the random draws seeded as for the mean). With one run nothing is
added: every table is as it was.

A missing pair stays missing (NaN) in every table and is left out of every statistic, so a
partial study (budget runs, ``finetune.sources: nearest:K``) is analysed as far as it goes;
``coverage`` says how many pairs of how many were used.

The ``read_*`` functions are the only ones that touch files: they check a table's columns and
values and raise ``InputError`` naming the file, the problem and how to have it made again.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transfer_tsc import data
from transfer_tsc.errors import InputError
from transfer_tsc.transferability import SCORES

# The paper's case studies (section V-D, Figs 7-9).
PAPER_RANK_CURVE_TARGETS = ("ShapeletSim", "HandOutlines", "Meat")
# Label of the summary row of the DTW vs random table (never a dataset name: names match
# ``^[A-Za-z0-9_.-]+$``).
SUMMARY = "(summary)"
# Accuracies closer than this are a tie (the random mean is an average of 1000 draws).
TIE_TOLERANCE = 1e-9

AGGREGATE_COLUMNS = (
    "target",
    "scratch_accuracy",
    "min_accuracy",
    "median_accuracy",
    "max_accuracy",
    "worst_source",
    "best_source",
    "n_sources",
    "n_possible",
)
DTW_TARGET_COLUMNS = (
    "target",
    "nearest_source",
    "nearest_rank",
    "dtw_accuracy",
    "random_accuracy",
    "n_sources",
    "outcome",
    "second_source",
    "second_rank",
    "second_accuracy",
)
DTW_COLUMNS = DTW_TARGET_COLUMNS + ("wins", "ties", "losses", "n_targets", "wilcoxon_p")
# Added with runs above 1 (``aggregates_spread``, ``dtw_vs_random_spread``).
AGGREGATE_SPREAD_COLUMNS = ("scratch_std", "min_std", "max_std", "runs")
DTW_SPREAD_COLUMNS = ("dtw_std", "random_std", "runs_won", "runs", "wins_every_run")
# The per-run tables' columns the analyses read (``study.gather_*_runs``).
SCRATCH_RUN_COLUMNS = ("dataset", "run", "test_accuracy")
TRANSFER_RUN_COLUMNS = ("source", "target", "run", "test_accuracy")
RANK_CURVE_COLUMNS = (
    "target",
    "rank",
    "source",
    "distance",
    "accuracy",
    "scratch_accuracy",
    "accuracy_smoothed",
)


# --------------------------------------------------------------------------- reading

# How to have a damaged table of the workflow's made again (Snakemake re-runs a missing file's job).
REMAKE = "delete it to have the job that writes it make it again"


def _read(path: str | os.PathLike, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        reason = " ".join(str(error).split())
        raise InputError(f"{path}: not a readable CSV table: {reason}; {REMAKE}") from None


def _require(frame: pd.DataFrame, columns: Sequence[str], label: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{label}: missing column(s) {', '.join(missing)} (has: "
            f"{', '.join(map(str, frame.columns))})"
        )


def _accuracies(values: pd.DataFrame | pd.Series, label: str) -> None:
    numbers = values.to_numpy(dtype=float, na_value=np.nan).ravel()
    bad = numbers[~np.isnan(numbers) & ((numbers < 0) | (numbers > 1))]
    if bad.size:
        raise InputError(f"{label}: accuracies must lie in [0, 1], found {float(bad[0])}")


def _numeric(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    try:
        return frame.apply(pd.to_numeric).astype(float)
    except (ValueError, TypeError) as error:
        raise InputError(f"{label}: non-numeric accuracy: {error}") from None


def scratch_series(frame: pd.DataFrame, label: str = "scratch accuracy table") -> pd.Series:
    """From-scratch test accuracy indexed by dataset, checked: every row names a dataset and
    has its accuracy."""
    _require(frame, ["dataset", "test_accuracy"], label)
    unnamed = frame["dataset"].isna() | (frame["dataset"].astype(str).str.strip() == "")
    if unnamed.any():
        raise InputError(f"{label}: line {int(np.flatnonzero(unnamed)[0]) + 2} names no dataset")
    if frame["dataset"].duplicated().any():
        dup = frame.loc[frame["dataset"].duplicated(), "dataset"].iloc[0]
        raise InputError(f"{label}: dataset {dup} appears twice")
    series = _numeric(frame[["test_accuracy"]], label)["test_accuracy"]
    series.index = frame["dataset"].astype(str)
    series.index.name = "dataset"
    if series.isna().any():
        raise InputError(f"{label}: dataset {series.index[series.isna()][0]} has no test_accuracy")
    _accuracies(series, label)
    return series.sort_index()


def transfer_table(
    frame: pd.DataFrame, label: str = "transfer accuracy table", accuracies: bool = True
) -> pd.DataFrame:
    """Fine-tuned accuracy (rows source, columns target), checked (values in [0, 1] unless
    ``accuracies`` is false, as for the variation in percent); the diagonal is set to NaN."""
    if "source" in frame.columns:
        frame = frame.set_index("source")
    if frame.index.name != "source":
        raise InputError(f"{label}: missing index column source")
    if frame.index.duplicated().any():
        raise InputError(
            f"{label}: source {frame.index[frame.index.duplicated()][0]} appears twice"
        )
    matrix = _numeric(frame, label)
    matrix.index = matrix.index.astype(str)
    matrix.columns = matrix.columns.astype(str)
    if accuracies:
        _accuracies(matrix, label)
    for name in set(matrix.index) & set(matrix.columns):
        matrix.loc[name, name] = np.nan
    matrix.index.name, matrix.columns.name = "source", None
    return matrix


def neighbour_table(frame: pd.DataFrame, label: str = "neighbour table") -> pd.DataFrame:
    """DTW neighbours (target, rank, source, distance) sorted by target and rank, checked."""
    _require(frame, ["target", "rank", "source", "distance"], label)
    table = frame[["target", "rank", "source", "distance"]].copy()
    table["target"] = table["target"].astype(str)
    table["source"] = table["source"].astype(str)
    try:
        table["rank"] = pd.to_numeric(table["rank"]).astype(int)
        table["distance"] = pd.to_numeric(table["distance"]).astype(float)
    except (ValueError, TypeError) as error:
        raise InputError(f"{label}: rank and distance must be numbers: {error}") from None
    if (table["rank"] < 1).any():
        raise InputError(f"{label}: ranks start at 1, found {int(table['rank'].min())}")
    if table.duplicated(["target", "rank"]).any() or table.duplicated(["target", "source"]).any():
        row = table[
            table.duplicated(["target", "rank"]) | table.duplicated(["target", "source"])
        ].iloc[0]
        raise InputError(
            f"{label}: target {row['target']} has rank {row['rank']} or source {row['source']} "
            f"twice"
        )
    table = table[table["source"] != table["target"]]
    return table.sort_values(["target", "rank"]).reset_index(drop=True)


def score_table(frame: pd.DataFrame, label: str = "transferability scores") -> pd.DataFrame:
    """Transferability scores (target, source, one column per score of
    ``transferability.SCORES``), checked: each pair once, scores numbers (NaN allowed: a pair
    not scored); the diagonal dropped."""
    _require(frame, ["target", "source", *SCORES], label)
    table = frame[["target", "source", *SCORES]].copy()
    table["target"] = table["target"].astype(str)
    table["source"] = table["source"].astype(str)
    try:
        table[list(SCORES)] = table[list(SCORES)].apply(pd.to_numeric).astype(float)
    except (ValueError, TypeError) as error:
        raise InputError(f"{label}: non-numeric score: {error}") from None
    if table.duplicated(["target", "source"]).any():
        row = table[table.duplicated(["target", "source"])].iloc[0]
        raise InputError(f"{label}: pair {row['source']} -> {row['target']} appears twice")
    table = table[table["source"] != table["target"]]
    return table.sort_values(["target", "source"]).reset_index(drop=True)


def _checked(path: str | os.PathLike, check: Callable[[pd.DataFrame, str], object]):
    """``check(table, label)`` of the table at ``path``; its InputError (the file's name and
    the problem) also says how to have the file made again, when there is one."""
    frame = _read(path)
    try:
        return check(frame, str(path))
    except InputError as error:
        raise InputError(f"{error}; {REMAKE}") from None


def read_scratch(path: str | os.PathLike) -> pd.Series:
    """``results/<network>/scratch_accuracy.csv`` as from-scratch accuracy by dataset, checked."""
    return _checked(path, scratch_series)


def read_transfer(path: str | os.PathLike) -> pd.DataFrame:
    """``results/<network>/transfer_accuracy.csv`` as the source x target matrix, checked."""
    return _checked(path, transfer_table)


def read_neighbours(path: str | os.PathLike) -> pd.DataFrame:
    """``results/similarity/neighbours.csv``, checked."""
    return _checked(path, neighbour_table)


def read_scores(path: str | os.PathLike) -> pd.DataFrame:
    """``results/<network>/transferability/scores.csv``, checked."""
    return _checked(path, score_table)


def read_scratch_runs(path: str | os.PathLike, mean: pd.Series) -> pd.DataFrame:
    """``results/<network>/scratch_accuracy_runs.csv`` as ``scratch_runs`` lays it out against
    the mean table ``mean``, checked."""
    return _checked(path, lambda frame, label: scratch_runs(frame, mean, label))


def read_transfer_runs(path: str | os.PathLike, mean: pd.DataFrame) -> list[pd.DataFrame]:
    """``results/<network>/transfer_accuracy_runs.csv`` as ``transfer_runs`` lays it out against
    the mean matrix ``mean``, checked."""
    return _checked(path, lambda frame, label: transfer_runs(frame, mean, label))


def read_variation(path: str | os.PathLike) -> pd.DataFrame:
    """``results/<network>/analysis/accuracy_variation.csv`` (percent), checked."""
    return _checked(path, lambda frame, label: transfer_table(frame, label, accuracies=False))


def read_table(path: str | os.PathLike, columns: Sequence[str]) -> pd.DataFrame:
    """One of this module's own output tables, with its columns checked."""

    def check(frame: pd.DataFrame, label: str) -> pd.DataFrame:
        _require(frame, columns, label)
        return frame

    return _checked(path, check)


# --------------------------------------------------------------------------- repeated runs


def _run_numbers(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """The per-run rows with ``run`` an integer from 1 and accuracies in [0, 1], checked."""
    frame = frame.copy()
    try:
        frame["run"] = pd.to_numeric(frame["run"])
        frame["test_accuracy"] = pd.to_numeric(frame["test_accuracy"]).astype(float)
    except (ValueError, TypeError) as error:
        raise InputError(f"{label}: run and test_accuracy must be numbers: {error}") from None
    if frame["run"].isna().any() or (frame["run"] != frame["run"].round()).any():
        raise InputError(f"{label}: a run is not a whole number")
    if frame["test_accuracy"].isna().any():
        raise InputError(f"{label}: a row has no test_accuracy")
    frame["run"] = frame["run"].astype(int)
    _accuracies(frame["test_accuracy"], label)
    return frame


def _every_run(frame: pd.DataFrame, identity: list[str], label: str) -> list[int]:
    """The runs 1..R of the table, checked: each item (``identity``) has each run once."""
    runs = sorted(set(frame["run"]))
    if not runs or runs != list(range(1, len(runs) + 1)):
        raise InputError(f"{label}: runs {runs}, expected 1 to {max(runs, default=1)}")
    if frame.duplicated([*identity, "run"]).any():
        row = frame[frame.duplicated([*identity, "run"])].iloc[0]
        item = " -> ".join(str(row[c]) for c in identity)
        raise InputError(f"{label}: {item} has run {row['run']} twice")
    counts = frame.groupby(identity)["run"].size()
    if (counts != len(runs)).any():
        item = counts.index[counts != len(runs)][0]
        item = " -> ".join(item) if isinstance(item, tuple) else item
        raise InputError(
            f"{label}: {item} has {counts[counts != len(runs)].iloc[0]} of {len(runs)} runs"
        )
    return runs


def scratch_runs(
    frame: pd.DataFrame, mean: pd.Series, label: str = "scratch accuracy per run"
) -> pd.DataFrame:
    """Each run's from-scratch accuracy (rows dataset, as ``mean``; columns run 1..R) from the
    per-run table (``SCRATCH_RUN_COLUMNS``), checked: every dataset of ``mean`` has every run
    and none other is there."""
    _require(frame, SCRATCH_RUN_COLUMNS, label)
    frame = _run_numbers(frame.assign(dataset=frame["dataset"].astype(str)), label)
    runs = _every_run(frame, ["dataset"], label)
    wide = frame.pivot(index="dataset", columns="run", values="test_accuracy")
    if set(wide.index) != set(mean.index):
        odd = sorted(set(wide.index) ^ set(mean.index))[0]
        raise InputError(
            f"{label}: dataset {odd} is in one of it and the mean scratch table, not both"
        )
    return wide.reindex(index=mean.index, columns=runs)


def transfer_runs(
    frame: pd.DataFrame, mean: pd.DataFrame, label: str = "transfer accuracy per run"
) -> list[pd.DataFrame]:
    """Each run's fine-tuned accuracy matrix (run r at index r - 1), laid out as the mean matrix
    ``mean`` (same rows, columns and order; NaN where ``mean`` is), from the per-run table
    (``TRANSFER_RUN_COLUMNS``), checked: the pairs with a result are the same in both and each
    has every run."""
    _require(frame, TRANSFER_RUN_COLUMNS, label)
    frame = frame.assign(source=frame["source"].astype(str), target=frame["target"].astype(str))
    frame = _run_numbers(frame, label)
    runs = _every_run(frame, ["source", "target"], label)
    pairs = set(zip(frame["source"], frame["target"]))
    present = mean.notna().to_numpy()
    expected = {
        (source, target)
        for i, source in enumerate(mean.index)
        for j, target in enumerate(mean.columns)
        if present[i, j]
    }
    if pairs != expected:
        source, target = sorted(pairs ^ expected)[0]
        raise InputError(
            f"{label}: pair {source} -> {target} is in one of it and the mean transfer table, "
            "not both"
        )
    matrices = []
    for run in runs:
        rows = frame[frame["run"] == run]
        matrix = rows.pivot(index="source", columns="target", values="test_accuracy")
        matrix = matrix.reindex(index=mean.index, columns=mean.columns).where(mean.notna())
        matrix.index.name, matrix.columns.name = "source", None
        matrices.append(matrix)
    return matrices


def std_over_runs(values: Sequence[float]) -> float:
    """The sample standard deviation over runs, ``sqrt(sum (x_r - mean)^2 / (R - 1))`` (ddof 1,
    as the gathered spread tables); NaN with fewer than 2 values."""
    values = np.asarray(values, dtype=float)
    return float(np.std(values, ddof=1)) if values.size > 1 else float("nan")


# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Coverage:
    """How much of the N x (N - 1) study the tables hold."""

    datasets: int
    pairs_used: int
    pairs_possible: int
    targets_with_results: int

    def describe(self) -> str:
        return f"{self.pairs_used} of {self.pairs_possible} pairs"


def coverage(transfer: pd.DataFrame) -> Coverage:
    """Pairs with a fine-tuned accuracy out of N (N - 1), N the datasets named in the table."""
    names = set(transfer.index) | set(transfer.columns)
    n = len(names)
    return Coverage(
        datasets=n,
        pairs_used=int(transfer.notna().to_numpy().sum()),
        pairs_possible=n * (n - 1),
        targets_with_results=int(transfer.notna().any(axis=0).sum()),
    )


def _scratch_for(targets: Sequence[str], scratch: pd.Series) -> pd.Series:
    missing = [t for t in targets if t not in scratch.index]
    if missing:
        raise InputError(
            f"scratch accuracy table: no from-scratch accuracy for target(s) {', '.join(missing)}"
        )
    return scratch.reindex(targets)


# --------------------------------------------------------------------------- Fig. 4


def accuracy_variation(transfer: pd.DataFrame, scratch: pd.Series) -> pd.DataFrame:
    """Fig. 4: ``100 (finetuned - scratch) / scratch`` per (source, target), in percent.

    Rows source, columns target, as ``transfer``; NaN where the pair was not run, on the
    diagonal, and where the target's scratch accuracy is 0 (the ratio is undefined).
    """
    targets = [t for t in transfer.columns if transfer[t].notna().any()]
    base = _scratch_for(targets, scratch).reindex(transfer.columns)
    base = base.where(base > 0)
    variation = (transfer - base) / base * 100.0
    variation.index.name, variation.columns.name = "source", None
    return variation


# --------------------------------------------------------------------------- Fig. 5


def aggregates(transfer: pd.DataFrame, scratch: pd.Series) -> pd.DataFrame:
    """Fig. 5: per target, its scratch accuracy and the min / median / max fine-tuned accuracy
    over the sources that have a result (``n_sources`` of ``n_possible``), with the worst and
    best source. Targets without any result are kept with empty aggregates."""
    rows = []
    names = set(transfer.index) | set(transfer.columns)
    for target in sorted(transfer.columns):
        column = transfer[target].dropna()
        row = {
            "target": target,
            "scratch_accuracy": float(scratch[target]) if target in scratch.index else np.nan,
            "min_accuracy": np.nan,
            "median_accuracy": np.nan,
            "max_accuracy": np.nan,
            "worst_source": None,
            "best_source": None,
            "n_sources": len(column),
            "n_possible": len(names) - 1,
        }
        if len(column):
            _scratch_for([target], scratch)
            row.update(
                min_accuracy=float(column.min()),
                median_accuracy=float(column.median()),
                max_accuracy=float(column.max()),
                worst_source=str(column.idxmin()),
                best_source=str(column.idxmax()),
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(AGGREGATE_COLUMNS))


def aggregates_spread(
    table: pd.DataFrame, scratch_by_run: pd.DataFrame, transfer_by_run: Sequence[pd.DataFrame]
) -> pd.DataFrame:
    """Fig. 5's table (``aggregates`` on the means) with the spread over the R runs
    (``AGGREGATE_SPREAD_COLUMNS``): ``scratch_std``, the std over runs of the target's scratch
    accuracy; ``min_std`` and ``max_std``, of the fine-tuned accuracy of the worst and of the best
    source (chosen on the means: the pairs of ``min_accuracy`` and ``max_accuracy``); ``runs``,
    R. Each std is ``std_over_runs`` of run r's values, r = 1..R."""
    table = table.copy()
    table["scratch_std"] = [
        std_over_runs(scratch_by_run.loc[t]) if t in scratch_by_run.index else np.nan
        for t in table["target"]
    ]
    for column, source_column in (("min_std", "worst_source"), ("max_std", "best_source")):
        table[column] = [
            std_over_runs([run.loc[source, target] for run in transfer_by_run])
            if isinstance(source, str)
            else np.nan
            for source, target in zip(table[source_column], table["target"])
        ]
    table["runs"] = len(transfer_by_run)
    return table[[*AGGREGATE_COLUMNS, *AGGREGATE_SPREAD_COLUMNS]]


# --------------------------------------------------------------------------- Fig. 6


def target_seed(seed: int, target: str) -> np.random.Generator:
    """A random generator per (seed, target), independent of which other targets exist."""
    return np.random.default_rng([seed, zlib.crc32(target.encode())])


def random_source_accuracy(accuracies: np.ndarray, draws: int, rng: np.random.Generator) -> float:
    """Mean accuracy of ``draws`` sources drawn uniformly (with replacement) from ``accuracies``."""
    picks = rng.integers(0, len(accuracies), size=draws)
    return float(np.mean(np.asarray(accuracies, dtype=float)[picks]))


def outcome(dtw: float, random: float, tolerance: float = TIE_TOLERANCE) -> str:
    """ "win" when the DTW-chosen source is more accurate than random, "tie" or "loss"."""
    if abs(dtw - random) <= tolerance:
        return "tie"
    return "win" if dtw > random else "loss"


def wilcoxon_p(x: Sequence[float], y: Sequence[float], tolerance: float = TIE_TOLERANCE) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired samples (scipy, zero differences
    dropped); NaN when no pair differs."""
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    d[np.abs(d) <= tolerance] = 0.0
    if not np.any(d != 0):
        return float("nan")
    from scipy import stats  # imported when used: Snakemake imports this module

    return float(stats.wilcoxon(d, alternative="two-sided").pvalue)


def dtw_vs_random(
    transfer: pd.DataFrame, neighbours: pd.DataFrame, draws: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Fig. 6: per target, the fine-tuned accuracy with its DTW-nearest source that has a result
    (``nearest_rank`` > 1 when nearer ones were not run) against the mean accuracy of a source
    drawn uniformly among those with a result, averaged over ``draws`` seeded draws; the
    win / tie / loss of DTW; and the second-nearest source with a result (the paper's "2nd NN"
    of DiatomSizeReduction and Wine). The last row (target ``SUMMARY``) holds the mean
    accuracies, the win / tie / loss counts over the ``n_targets`` compared and the two-sided
    Wilcoxon signed-rank p-value. Targets without neighbours or results are listed, not
    compared."""
    if draws < 1:
        raise InputError(f"config key analysis.random_draws: must be at least 1, got {draws}")
    rows = []
    targets = sorted(set(transfer.columns) | set(neighbours["target"]))
    for target in targets:
        results = (
            transfer[target].dropna() if target in transfer.columns else pd.Series(dtype=float)
        )
        ranked = neighbours[neighbours["target"] == target]
        ranked = ranked[ranked["source"].isin(results.index)]
        row = {
            "target": target,
            "nearest_source": None,
            "nearest_rank": np.nan,
            "dtw_accuracy": np.nan,
            "random_accuracy": np.nan,
            "n_sources": len(results),
            "outcome": None,
            "second_source": None,
            "second_rank": np.nan,
            "second_accuracy": np.nan,
        }
        if len(ranked):
            first = ranked.iloc[0]
            dtw = float(results[first["source"]])
            rnd = random_source_accuracy(results.to_numpy(), draws, target_seed(seed, target))
            row.update(
                nearest_source=first["source"],
                nearest_rank=int(first["rank"]),
                dtw_accuracy=dtw,
                random_accuracy=rnd,
                outcome=outcome(dtw, rnd),
            )
        if len(ranked) > 1:
            second = ranked.iloc[1]
            row.update(
                second_source=second["source"],
                second_rank=int(second["rank"]),
                second_accuracy=float(results[second["source"]]),
            )
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(DTW_TARGET_COLUMNS))
    compared = compared_targets(table)
    counts = compared["outcome"].value_counts()
    summary = {
        "target": SUMMARY,
        "dtw_accuracy": compared["dtw_accuracy"].mean() if len(compared) else np.nan,
        "random_accuracy": compared["random_accuracy"].mean() if len(compared) else np.nan,
        "n_sources": int(table["n_sources"].sum()),
        "wins": int(counts.get("win", 0)),
        "ties": int(counts.get("tie", 0)),
        "losses": int(counts.get("loss", 0)),
        "n_targets": len(compared),
        "wilcoxon_p": wilcoxon_p(compared["dtw_accuracy"], compared["random_accuracy"]),
    }
    for column in ("wins", "ties", "losses", "n_targets", "wilcoxon_p"):
        table[column] = np.nan
    table = pd.concat([table, pd.DataFrame([summary])], ignore_index=True)[list(DTW_COLUMNS)]
    for column in ("nearest_rank", "second_rank", "wins", "ties", "losses", "n_targets"):
        table[column] = table[column].astype("Int64")
    return table


def dtw_vs_random_spread(table: pd.DataFrame, by_run: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Fig. 6's table on the means (``dtw_vs_random``) with the spread over the R runs, from
    ``by_run``, the same comparison made on each run's accuracies alone (``dtw_vs_random`` of run
    r's matrix, seed and draws as for the means) (``DTW_SPREAD_COLUMNS``): per row (the summary
    row too: the std of its per-run means) ``dtw_std`` and ``random_std``, the std over runs
    (``std_over_runs``) of ``dtw_accuracy`` and ``random_accuracy``; per compared target
    ``runs_won``, the runs where DTW wins, and ``runs``, R; in the summary row ``wins_every_run``,
    the targets won in each of the R runs (``runs_won`` = R), beside ``wins`` counted on the
    means."""
    if not by_run:
        raise ValueError("dtw_vs_random_spread: no run")
    table = table.copy()
    runs = [run.set_index("target") for run in by_run]
    for run in runs:
        picks = run["nearest_source"].reindex(table["target"]).fillna("").tolist()
        if picks != table["nearest_source"].fillna("").tolist():
            raise ValueError("dtw_vs_random_spread: the runs chose other sources than the means")
    for column, spread in (("dtw_accuracy", "dtw_std"), ("random_accuracy", "random_std")):
        values = np.stack([run[column].reindex(table["target"]).to_numpy(float) for run in runs])
        table[spread] = [std_over_runs(v) if np.isfinite(v).all() else np.nan for v in values.T]
    won = np.sum(
        [(run["outcome"].reindex(table["target"]) == "win").to_numpy() for run in runs], axis=0
    )
    compared = table["outcome"].notna() & (table["target"] != SUMMARY)
    table["runs_won"] = pd.array(np.where(compared, won, pd.NA), dtype="Int64")
    table["runs"] = pd.array(
        np.where(compared | (table["target"] == SUMMARY), len(runs), pd.NA), dtype="Int64"
    )
    every = int((table.loc[compared, "runs_won"] == len(runs)).sum())
    table["wins_every_run"] = pd.array(
        np.where(table["target"] == SUMMARY, every, pd.NA), dtype="Int64"
    )
    return table[[*DTW_COLUMNS, *DTW_SPREAD_COLUMNS]]


def compared_targets(table: pd.DataFrame) -> pd.DataFrame:
    """The per-target rows of a ``dtw_vs_random`` table that were compared (have an outcome)."""
    return table[table["outcome"].notna() & (table["target"] != SUMMARY)]


def dtw_summary(table: pd.DataFrame) -> pd.Series:
    """The summary row of a ``dtw_vs_random`` table."""
    rows = table[table["target"] == SUMMARY]
    if len(rows) != 1:
        raise InputError(f"DTW vs random table: expected one row with target {SUMMARY}")
    return rows.iloc[0]


# --------------------------------------------------------------------------- Figs 7-9


def rank_curves(
    transfer: pd.DataFrame, neighbours: pd.DataFrame, scratch: pd.Series, smoothing: int = 1
) -> pd.DataFrame:
    """Figs 7-9: per target and neighbour rank (1 = DTW-nearest), the source, its distance and
    the fine-tuned accuracy (NaN where not run), the target's scratch accuracy, and a centred
    moving average over ``smoothing`` ranks of the accuracies that exist (the paper's curves
    are smoothed; NaN where the pair itself was not run)."""
    if smoothing < 1:
        raise InputError(
            f"config key analysis.rank_curve_smoothing: must be at least 1, got {smoothing}"
        )
    frames = []
    for target, ranked in neighbours.groupby("target", sort=True):
        curve = ranked.sort_values("rank").reset_index(drop=True)
        if target in transfer.columns:
            accuracy = transfer[target].reindex(curve["source"]).to_numpy()
        else:
            accuracy = np.full(len(curve), np.nan)
        curve["accuracy"] = accuracy
        curve["scratch_accuracy"] = float(_scratch_for([target], scratch).iloc[0])
        smoothed = curve["accuracy"].rolling(smoothing, center=True, min_periods=1).mean()
        curve["accuracy_smoothed"] = smoothed.where(curve["accuracy"].notna())
        frames.append(curve)
    columns = list(RANK_CURVE_COLUMNS)
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def rank_curve_targets(
    requested: Sequence[str] | None, curves: pd.DataFrame, fallback: int = 3
) -> list[str]:
    """The targets to draw: ``requested`` (config ``analysis.rank_curve_targets``; each must have
    neighbours), else the paper's ShapeletSim, HandOutlines and Meat that have a result, else the
    first ``fallback`` targets (by name) that have one."""
    available = sorted(set(curves["target"]))
    if requested:
        missing = [t for t in requested if t not in available]
        if missing:
            raise InputError(
                f"config key analysis.rank_curve_targets: no DTW neighbours for "
                f"{', '.join(missing)} "
                f"(targets: {', '.join(available) or 'none'})"
            )
        return list(requested)
    with_results = sorted(set(curves.loc[curves["accuracy"].notna(), "target"]))
    paper = [t for t in PAPER_RANK_CURVE_TARGETS if t in with_results]
    return paper or with_results[:fallback] or available[:fallback]


# --------------------------------------------------------------------------- names

# The columns of the analysis tables that hold dataset names.
NAME_COLUMNS = (
    "dataset",
    "target",
    "source",
    "nearest_source",
    "second_source",
    "worst_source",
    "best_source",
)


def name_labels(scheme: int) -> dict[str, str]:
    """Config ``analysis.names``: the label of each of the paper's 85 datasets (study name, its
    2018 name -> 2015 name for scheme 2015, itself for 2018); other names keep theirs."""
    return data.dataset_labels(data.ucr2015_names().values(), scheme)


def relabel(table: pd.DataFrame | pd.Series, labels: dict[str, str]) -> pd.DataFrame | pd.Series:
    """``table`` with dataset names replaced by ``labels`` (names not in it kept) in the index,
    the columns (a frame's) and the values of ``NAME_COLUMNS``; a copy."""
    rename = lambda name: labels.get(name, name) if isinstance(name, str) else name  # noqa: E731
    table = table.copy()
    table.index = table.index.map(rename)
    if isinstance(table, pd.DataFrame):
        columns = table.columns.name
        table.columns = table.columns.map(rename)
        table.columns.name = columns
        for column in NAME_COLUMNS:
            if column in table.columns:
                table[column] = table[column].map(rename, na_action="ignore")
    return table


# --------------------------------------------------------------------------- provenance

SOFTWARE = (
    "transfer-tsc",
    "numpy",
    "pandas",
    "scipy",
    "seaborn",
    "matplotlib",
    "h5py",
    "tensorflow",
    "keras",
    "dtaidistance",
    "jsonschema",
    "snakemake",
)


def software_versions(packages: Sequence[str] = SOFTWARE) -> dict[str, str]:
    """Python and the installed version of each package ("not installed" when absent)."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def flatten(config: dict, prefix: str = "") -> dict[str, str]:
    """Nested config as ``{"finetune.epochs": "2000", ...}`` (lists comma-joined)."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            flat[name] = ", ".join(map(str, value))
        else:
            flat[name] = "null" if value is None else str(value)
    return flat


def run_info(config: dict, covered: Coverage, versions: dict[str, str]) -> pd.DataFrame:
    """The run's provenance as rows (section, key, value): coverage of the study (with config
    ``runs`` above 1, how many runs each accuracy is the mean of), the config used (every key,
    defaults filled in) and the software versions."""
    rows = [
        ("coverage", "datasets", str(covered.datasets)),
        ("coverage", "pairs used", covered.describe()),
        (
            "coverage",
            "targets with results",
            f"{covered.targets_with_results} of {covered.datasets}",
        ),
    ]
    runs = int(config.get("runs", 1))
    if runs > 1:
        rows.append(
            (
                "coverage",
                "runs",
                f"every accuracy is the mean over {runs} runs (seeds {config.get('seed', 0)} to "
                f"{config.get('seed', 0) + runs - 1}); spread in the *_runs.csv and *_spread.csv "
                "tables",
            )
        )
    rows += [("config", key, value) for key, value in sorted(flatten(config).items())]
    rows += [("software", key, value) for key, value in versions.items()]
    return pd.DataFrame(rows, columns=["section", "key", "value"])
