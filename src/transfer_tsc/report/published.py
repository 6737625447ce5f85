"""The paper's published per-dataset results and a run's comparison with them.

The data (``published/``, see its README) come from the paper's repository,
github.com/hfawaz/bigdata18 at commit bf1bc3d: the 85 x 85 fine-tuned accuracies, the
from-scratch accuracies derived from them, and the DTW neighbour lists, under the 2015 archive's
names. The readers here return them under the 2018 names the study uses, in the layouts of
``analysis`` (``transfer``: rows source, columns target; ``scratch``: by dataset; ``neighbours``:
``target, rank, source, distance``, distance empty).

``network_runs`` and ``network_summary`` read the from-scratch test accuracies other papers of
the same authors published per dataset and run (``published/``, see its README): FCN and ResNet
from github.com/hfawaz/dl-4-tsc, a single Inception network and the InceptionTime ensemble from
github.com/hfawaz/InceptionTime, on the 2015 archive (85 datasets) and the 2018 one (128);
``networks_on_paper_datasets`` puts their means on the paper's 85 datasets side by side (the
table of the published critical-difference diagram).

``comparison`` compares a run with them over the datasets both have (``shared``), as a long
table of ``COMPARISON_COLUMNS``:

* ``scratch``: per shared dataset ours, published and ``ours - published``; the mean and median
  of ``|ours - published|``;
* ``transfer``: over the pairs (source, target) of shared datasets that both have, the mean and
  median of ``|ours - published|``, and the fraction of pairs where the gain over scratch
  ``transfer(s, t) - scratch(t)`` has the same sign in both (within ``analysis.TIE_TOLERANCE`` a
  gain is 0, its own sign);
* ``neighbours``: both rankings restricted to the shared datasets, per target: top-1 agreement
  (same nearest source), top-5 overlap ``|ours_k & published_k| / k`` with
  ``k = min(5, n_sources)``, Spearman's rank correlation of the sources' two ranks (defined from
  2 sources); each the mean over targets;
* ``fig6``: ``analysis.dtw_vs_random`` (wins / ties / losses of the DTW-nearest source against
  random ones) on our tables and on the published ones, both restricted to the shared datasets
  and to the pairs our run has, and the fraction of targets with the same outcome.

``n`` counts what a statistic is computed over; ``n_missing`` what is left out among the shared
datasets (datasets without our result, pairs not run, targets without neighbours).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from transfer_tsc import data, study
from transfer_tsc.errors import InputError
from transfer_tsc.report import analysis

SOURCE = "github.com/hfawaz/bigdata18 at commit bf1bc3d"
COMPARISON_COLUMNS = (
    "section",
    "statistic",
    "dataset",
    "ours",
    "published",
    "value",
    "n",
    "n_missing",
    "note",
)
NO_SHARED = "no datasets shared with the paper"
TOP_K = 5


# --------------------------------------------------------------------------- the data


def _frame(name: str) -> pd.DataFrame:
    text = resources.files("transfer_tsc").joinpath("published", name).read_text()
    return pd.read_csv(io.StringIO(text))


def _to_2018(names: Iterable[str]) -> list[str]:
    new = data.ucr2015_names()
    return [new.get(name, name) for name in names]


def transfer_accuracy() -> pd.DataFrame:
    """The published fine-tuned test accuracy, rows source and columns target (2018 names),
    diagonal NaN."""
    table = analysis.transfer_table(
        _frame("transfer_accuracy.csv"), "published/transfer_accuracy.csv"
    )
    table.index = pd.Index(_to_2018(table.index), name="source")
    table.columns = _to_2018(table.columns)
    return table


def scratch_accuracy() -> pd.Series:
    """The published accuracy trained from scratch by dataset (2018 names):
    ``transfer_acc / (1 + variation / 100)`` of the paper's two matrices."""
    series = analysis.scratch_series(
        _frame("scratch_accuracy.csv"), "published/scratch_accuracy.csv"
    )
    series.index = pd.Index(_to_2018(series.index), name="dataset")
    return series.sort_index()


def neighbours() -> pd.DataFrame:
    """The published DTW neighbours (target, rank, source, distance NaN), 2018 names."""
    table = analysis.neighbour_table(_frame("neighbours.csv"), "published/neighbours.csv")
    table["target"] = _to_2018(table["target"])
    table["source"] = _to_2018(table["source"])
    return table.sort_values(["target", "rank"]).reset_index(drop=True)


# --------------------------------------------------------------------------- other networks

NETWORKS = ("fcn", "resnet", "inception", "inceptiontime")
ARCHIVES = ("ucr2015", "ucr2018")
NETWORK_RUN_COLUMNS = ("dataset", "run", "accuracy")
NETWORK_SUMMARY_COLUMNS = ("dataset", "mean", "std", "runs", "min", "max")
DL4TSC = "github.com/hfawaz/dl-4-tsc at commit e0233ef"
INCEPTIONTIME = "github.com/hfawaz/InceptionTime at commit 952d115"


@dataclass(frozen=True)
class NetworkSource:
    """One network's published accuracies on one archive: the shipped file (``published/``),
    the rows' ``classifier_name`` and ``archive_name``, and how many datasets and runs per
    dataset the file holds for them."""

    file: str
    classifier: str
    archive: str
    datasets: int
    runs: int
    origin: str


NETWORK_SOURCES: dict[tuple[str, str], NetworkSource] = {
    ("fcn", "ucr2015"): NetworkSource("dl-4-tsc_results-uea.csv", "fcn", "TSC", 85, 10, DL4TSC),
    ("resnet", "ucr2015"): NetworkSource(
        "dl-4-tsc_results-uea.csv", "resnet", "TSC", 85, 10, DL4TSC
    ),
    ("fcn", "ucr2018"): NetworkSource(
        "dl-4-tsc_results-ucr-128.csv", "fcn", "UCRArchive_2018", 128, 5, DL4TSC
    ),
    ("resnet", "ucr2018"): NetworkSource(
        "dl-4-tsc_results-ucr-128.csv", "resnet", "UCRArchive_2018", 128, 5, DL4TSC
    ),
    ("inception", "ucr2018"): NetworkSource(
        "InceptionTime_results-inception-128.csv",
        "inception",
        "UCRArchive_2018",
        128,
        5,
        INCEPTIONTIME,
    ),
    ("inceptiontime", "ucr2015"): NetworkSource(
        "InceptionTime_results-InceptionTime-85.csv", "InceptionTime", "TSC", 85, 1, INCEPTIONTIME
    ),
    ("inceptiontime", "ucr2018"): NetworkSource(
        "InceptionTime_results-InceptionTime-128.csv",
        "InceptionTime",
        "UCRArchive_2018",
        128,
        1,
        INCEPTIONTIME,
    ),
}


def network_source(network: str, archive: str) -> NetworkSource:
    """The shipped file of ``network`` on ``archive``; ``InputError`` for an unknown network or
    archive, and for a single Inception network on the 2015 archive (not published)."""
    if network not in NETWORKS:
        raise InputError(
            f"published accuracies: unknown network {network!r}, known: {', '.join(NETWORKS)}"
        )
    if archive not in ARCHIVES:
        raise InputError(
            f"published accuracies: unknown archive {archive!r}, known: {', '.join(ARCHIVES)}"
        )
    source = NETWORK_SOURCES.get((network, archive))
    if source is None:
        raise InputError(
            f"published accuracies: no runs of {network} on {archive} are published "
            f"({INCEPTIONTIME} has single Inception runs on ucr2018 only); published: "
            + ", ".join(f"{n} on {a}" for n, a in NETWORK_SOURCES)
        )
    return source


def network_runs(network: str, archive: str) -> pd.DataFrame:
    """The published test accuracy (fraction) of ``network`` trained from scratch, per dataset
    and run: columns ``dataset`` (2018 names; the 2015 archive's files are mapped as the paper's
    results), ``run`` (the file's ``iteration``; always 0 for the ``inceptiontime`` ensemble, one
    value per dataset) and ``accuracy``, sorted by dataset and run.

    ``fcn`` / ``resnet``: ``dl-4-tsc_results-uea.csv`` (ucr2015, 10 runs) and
    ``dl-4-tsc_results-ucr-128.csv`` (ucr2018, 5 runs); ``inception``:
    ``InceptionTime_results-inception-128.csv`` (ucr2018, 5 runs); ``inceptiontime``:
    ``InceptionTime_results-InceptionTime-85.csv`` (ucr2015) and ``-128.csv`` (ucr2018)."""
    source = network_source(network, archive)
    label = f"published/{source.file}"
    frame = _frame(source.file)
    rows = frame[
        (frame["classifier_name"] == source.classifier) & (frame["archive_name"] == source.archive)
    ]
    runs = rows["iteration"].to_numpy(dtype=float)
    accuracy = rows["accuracy"].to_numpy(dtype=float)
    names = rows["dataset_name"].astype(str).tolist()
    table = pd.DataFrame(
        {
            "dataset": _to_2018(names) if archive == "ucr2015" else names,
            "run": runs.astype(int),
            "accuracy": accuracy,
        }
    )
    per_dataset = table.groupby("dataset")["run"].nunique()
    problems = [
        f"{len(per_dataset)} datasets, expected {source.datasets}"
        if len(per_dataset) != source.datasets
        else "",
        f"runs per dataset {sorted(set(per_dataset))}, expected {source.runs}"
        if len(per_dataset) and set(per_dataset) != {source.runs}
        else "",
        "a (dataset, run) twice" if table.duplicated(["dataset", "run"]).any() else "",
        "a run that is no integer" if not np.array_equal(runs, np.round(runs)) else "",
        "an accuracy outside 0 .. 1" if not ((accuracy >= 0) & (accuracy <= 1)).all() else "",
    ]
    problems = [p for p in problems if p]
    if problems:
        raise InputError(
            f"{label} ({source.classifier}, {source.archive}): {'; '.join(problems)}; "
            f"the file should be the one of {source.origin}"
        )
    return table.sort_values(["dataset", "run"]).reset_index(drop=True)[list(NETWORK_RUN_COLUMNS)]


def network_summary(network: str, archive: str) -> pd.DataFrame:
    """Per dataset of ``network_runs(network, archive)`` (same source files): ``dataset``,
    ``mean``, ``std`` (sample standard deviation over the runs, ddof=1, NaN with one run),
    ``runs``, ``min`` and ``max`` of the accuracy, sorted by dataset."""
    runs = network_runs(network, archive)
    summary = (
        runs.groupby("dataset")["accuracy"]
        .agg(mean="mean", std=lambda a: a.std(ddof=1), runs="size", min="min", max="max")
        .reset_index()
    )
    summary["runs"] = summary["runs"].astype(int)
    return summary[list(NETWORK_SUMMARY_COLUMNS)]


# The published from-scratch accuracies on the paper's 85 datasets, per network: its column
# name, network and archive (``network_summary``). dl-4-tsc and InceptionTime published the FCN,
# ResNet and the InceptionTime ensemble on the 2015 archive; a single Inception network only on
# the 2018 one, whose files name the 85 by their 2018 names.
PAPER_DATASET_NETWORKS = (
    ("FCN", "fcn", "ucr2015"),
    ("ResNet", "resnet", "ucr2015"),
    ("Inception", "inception", "ucr2018"),
    ("InceptionTime", "inceptiontime", "ucr2015"),
)


def networks_on_paper_datasets() -> pd.DataFrame:
    """The published from-scratch test accuracy of each network of ``PAPER_DATASET_NETWORKS``
    on the paper's 85 datasets (rows, 2018 names, sorted; the mean over the published runs of
    ``network_summary``: 10 for FCN and ResNet, 5 for Inception, 1 for the InceptionTime
    ensemble), one column per network: the table of a critical-difference diagram (higher is
    better). ``InputError`` when a network lacks one of the 85."""
    names = sorted(data.ucr2015_names().values())
    columns = {}
    for label, network, archive in PAPER_DATASET_NETWORKS:
        means = network_summary(network, archive).set_index("dataset")["mean"]
        missing = [n for n in names if n not in means.index]
        if missing:
            source = network_source(network, archive)
            raise InputError(
                f"published/{source.file}: no {network} accuracy for {len(missing)} of the "
                f"paper's 85 datasets ({', '.join(missing[:5])}); it should be the file of "
                f"{source.origin}"
            )
        columns[label] = means.reindex(names).to_numpy(dtype=float)
    return pd.DataFrame(columns, index=pd.Index(names, name="dataset"))


@dataclass(frozen=True)
class Results:
    """One study's three tables (ours or the paper's)."""

    scratch: pd.Series
    transfer: pd.DataFrame
    neighbours: pd.DataFrame

    def names(self) -> set[str]:
        return (
            set(self.scratch.index)
            | set(self.transfer.index)
            | set(self.transfer.columns)
            | set(self.neighbours["target"])
            | set(self.neighbours["source"])
        )


def load() -> Results:
    """The paper's published results, 2018 names."""
    return Results(scratch_accuracy(), transfer_accuracy(), neighbours())


# --------------------------------------------------------------------------- the pieces


def shared_datasets(
    ours: Results, paper: Results, allowed: Iterable[str] | None = None
) -> list[str]:
    """The datasets in both results (and in ``allowed`` when given), sorted."""
    names = ours.names() & paper.names()
    if allowed is not None:
        names &= set(allowed)
    return sorted(names)


def scratch_pairs(ours: pd.Series, paper: pd.Series, shared: Sequence[str]) -> pd.DataFrame:
    """Per shared dataset with both accuracies: ``dataset, ours, published, difference``
    (``ours - published``)."""
    names = [n for n in shared if n in ours.index and n in paper.index and pd.notna(ours[n])]
    frame = pd.DataFrame(
        {
            "dataset": names,
            "ours": ours.reindex(names).to_numpy(dtype=float),
            "published": paper.reindex(names).to_numpy(dtype=float),
        }
    )
    frame["difference"] = frame["ours"] - frame["published"]
    return frame


def _long(matrix: pd.DataFrame, shared: Sequence[str]) -> pd.Series:
    square = matrix.reindex(index=list(shared), columns=list(shared))
    square.index.name, square.columns.name = "source", "target"
    return square.stack().astype(float)


def transfer_pairs(ours: Results, paper: Results, shared: Sequence[str]) -> pd.DataFrame:
    """Per pair (source, target) of shared datasets that both runs have: ``source, target,
    ours, published`` and each gain over scratch ``transfer - scratch(target)`` (NaN where our
    scratch accuracy of the target is missing)."""
    both = pd.concat(
        {"ours": _long(ours.transfer, shared), "published": _long(paper.transfer, shared)}, axis=1
    ).dropna()
    frame = both.reset_index()
    frame["ours_gain"] = frame["ours"] - ours.scratch.reindex(frame["target"]).to_numpy(dtype=float)
    frame["published_gain"] = frame["published"] - paper.scratch.reindex(frame["target"]).to_numpy(
        dtype=float
    )
    return frame[["source", "target", "ours", "published", "ours_gain", "published_gain"]]


def gain_sign(gain: Iterable[float], tolerance: float = analysis.TIE_TOLERANCE) -> np.ndarray:
    """-1, 0 or 1: the sign of a gain, 0 within ``tolerance``."""
    values = np.asarray(list(gain) if not isinstance(gain, np.ndarray) else gain, dtype=float)
    return np.where(np.abs(values) <= tolerance, 0, np.sign(values)).astype(int)


def restrict_neighbours(table: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """The neighbour table with targets and sources among ``names``, re-ranked 1, 2, ... in the
    original order."""
    rows = study.within(table, list(names)).sort_values(["target", "rank"]).copy()
    rows["rank"] = rows.groupby("target").cumcount() + 1
    return rows.reset_index(drop=True)


def neighbour_agreement(
    ours: pd.DataFrame, paper: pd.DataFrame, shared: Sequence[str], k: int = TOP_K
) -> pd.DataFrame:
    """Per shared target in both rankings (restricted to the shared datasets and to the sources
    both rank): ``target, n_sources, top1`` (1 when the nearest source is the same),
    ``top_k`` (``|ours_k & published_k| / k``, ``k = min(k, n_sources)``) and ``spearman``
    (NaN under 2 sources)."""
    ours, paper = restrict_neighbours(ours, shared), restrict_neighbours(paper, shared)
    rows = []
    for target in shared:
        a = ours[ours["target"] == target]
        b = paper[paper["target"] == target]
        common = set(a["source"]) & set(b["source"])
        a = restrict_neighbours(a, common | {target})
        b = restrict_neighbours(b, common | {target})
        if not len(a):
            continue
        m = min(k, len(a))
        rank_a = a.set_index("source")["rank"]
        rank_b = b.set_index("source")["rank"].reindex(rank_a.index)
        from scipy import stats  # imported when used: Snakemake imports this module

        rho = float(stats.spearmanr(rank_a, rank_b).statistic) if len(a) >= 2 else np.nan
        rows.append(
            {
                "target": target,
                "n_sources": len(a),
                "top1": float(a["source"].iloc[0] == b["source"].iloc[0]),
                "top_k": len(set(a["source"].iloc[:m]) & set(b["source"].iloc[:m])) / m,
                "spearman": rho,
            }
        )
    return pd.DataFrame(rows, columns=["target", "n_sources", "top1", "top_k", "spearman"])


def dtw_outcomes(
    ours: Results, paper: Results, shared: Sequence[str], draws: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``analysis.dtw_vs_random`` on ours and on the paper's results, both restricted to the
    shared datasets and to the pairs our run has (the paper's random source is drawn among the
    same sources as ours)."""
    names = list(shared)
    ran = ours.transfer.reindex(index=names, columns=names)
    theirs = paper.transfer.reindex(index=names, columns=names).where(ran.notna())
    ran.index.name = theirs.index.name = "source"
    return (
        analysis.dtw_vs_random(ran, restrict_neighbours(ours.neighbours, names), draws, seed),
        analysis.dtw_vs_random(theirs, restrict_neighbours(paper.neighbours, names), draws, seed),
    )


# --------------------------------------------------------------------------- the table


def _row(section: str, statistic: str, **values) -> dict:
    row = dict.fromkeys(COMPARISON_COLUMNS)
    row.update(section=section, statistic=statistic, **values)
    return row


def _datasets_row(
    statistic: str, shared: Sequence[str], in_run: int, found: str, none: str, note: str
) -> dict:
    """A comparison's ``datasets`` row: how many of the run's ``in_run`` datasets it compares
    ("N of the run's M datasets <found>"), or, with none, ``none`` and why (``note``)."""
    return _row(
        "datasets",
        statistic,
        n=len(shared),
        n_missing=in_run - len(shared),
        note=(
            f"{len(shared)} of the run's {in_run} datasets {found}"
            if shared
            else "; ".join(filter(None, [none, note]))
        ),
    )


def _mean(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.mean(values)) if values.size else np.nan


def _median(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.median(values)) if values.size else np.nan


def _accuracy_rows(
    section: str, frame: pd.DataFrame, n_missing: int, mean_note: str, median_note: str
) -> list[dict]:
    """The rows ``mean test accuracy`` (value: ours - published), ``mean absolute difference``
    and ``median absolute difference`` of ``frame``'s ``ours`` and ``published`` accuracies."""
    ours, theirs = _mean(frame["ours"]), _mean(frame["published"])
    absolute = (frame["ours"] - frame["published"]).abs()
    counts = {"n": len(frame), "n_missing": n_missing}
    return [
        _row(
            section,
            "mean test accuracy",
            ours=ours,
            published=theirs,
            value=ours - theirs,
            note="value: ours - published",
            **counts,
        ),
        _row(section, "mean absolute difference", value=_mean(absolute), note=mean_note, **counts),
        _row(
            section,
            "median absolute difference",
            value=_median(absolute),
            note=median_note,
            **counts,
        ),
    ]


def comparison(
    ours: Results,
    paper: Results,
    allowed: Iterable[str] | None = None,
    draws: int = 1000,
    seed: int = 0,
    note: str = "",
) -> pd.DataFrame:
    """Our run against the paper's results over the datasets both have (among ``allowed`` when
    given; ``allowed=[]`` compares nothing, as for the demo archive's generated data); the
    statistics of the module docstring as rows of ``COMPARISON_COLUMNS``. With no shared
    dataset the table is one ``datasets`` row saying so (``note`` adds why)."""
    shared = shared_datasets(ours, paper, allowed)
    in_run = sorted(ours.names())
    rows = [
        _datasets_row(
            "shared with the paper",
            shared,
            len(in_run),
            f"are among the paper's {len(paper.names())}",
            NO_SHARED,
            note,
        )
    ]
    if not shared:
        return _table(rows)
    n_pairs = len(shared) * (len(shared) - 1)

    scratch = scratch_pairs(ours.scratch, paper.scratch, shared)
    missing = len(shared) - len(scratch)
    for item in scratch.itertuples():
        rows.append(
            _row(
                "scratch",
                "test accuracy",
                dataset=item.dataset,
                ours=item.ours,
                published=item.published,
                value=item.difference,
            )
        )
    rows += _accuracy_rows(
        "scratch",
        scratch,
        missing,
        "mean of |ours - published| over datasets",
        "median of |ours - published| over datasets",
    )

    pairs = transfer_pairs(ours, paper, shared)
    left_out = f"pairs of shared datasets not run: {n_pairs - len(pairs)}"
    rows += _accuracy_rows("transfer", pairs, n_pairs - len(pairs), left_out, left_out)
    gains = pairs.dropna(subset=["ours_gain", "published_gain"])
    ours_sign, paper_sign = gain_sign(gains["ours_gain"]), gain_sign(gains["published_gain"])
    rows.append(
        _row(
            "transfer",
            "gain sign agreement",
            ours=_mean(ours_sign > 0),
            published=_mean(paper_sign > 0),
            value=_mean(ours_sign == paper_sign),
            n=len(gains),
            n_missing=n_pairs - len(gains),
            note="value: fraction of pairs whose gain over scratch has the same sign; "
            "ours / published: fraction with a positive gain",
        )
    )

    agreement = neighbour_agreement(ours.neighbours, paper.neighbours, shared)
    rho = agreement["spearman"].dropna()
    rows += [
        _row(
            "neighbours",
            "top-1 agreement",
            value=_mean(agreement["top1"]),
            n=len(agreement),
            n_missing=len(shared) - len(agreement),
            note="fraction of targets with the same DTW-nearest source",
        ),
        _row(
            "neighbours",
            f"top-{TOP_K} overlap",
            value=_mean(agreement["top_k"]),
            n=len(agreement),
            n_missing=len(shared) - len(agreement),
            note=f"mean over targets of |ours & published among the k nearest| / k, "
            f"k = min({TOP_K}, sources)",
        ),
        _row(
            "neighbours",
            "Spearman correlation",
            value=_mean(rho),
            n=len(rho),
            n_missing=len(shared) - len(rho),
            note="mean over targets of the rank correlation of the sources (from 2 sources)",
        ),
    ]

    mine, theirs = dtw_outcomes(ours, paper, shared, draws, seed)
    a, b = analysis.dtw_summary(mine), analysis.dtw_summary(theirs)
    for key, name in (("wins", "DTW wins"), ("ties", "DTW ties"), ("losses", "DTW losses")):
        rows.append(
            _row(
                "fig6",
                name,
                ours=int(a[key]),
                published=int(b[key]),
                value=int(a[key]) - int(b[key]),
                n=int(a["n_targets"]),
                n_missing=len(shared) - int(a["n_targets"]),
                note="value: ours - published; published on the pairs our run has",
            )
        )
    outcomes = pd.concat(
        [analysis.compared_targets(t).set_index("target")["outcome"] for t in (mine, theirs)],
        axis=1,
        keys=["ours", "published"],
    ).dropna()
    rows.append(
        _row(
            "fig6",
            "outcome agreement",
            value=_mean(outcomes["ours"] == outcomes["published"]),
            n=len(outcomes),
            n_missing=len(shared) - len(outcomes),
            note="fraction of targets with the same win / tie / loss",
        )
    )
    return _table(rows)


# The spread that counts as agreement with the published runs: within mean +- 2 standard
# deviations over them, or within 2 points (the reproduction goal).
SPREAD_SDS, SPREAD_POINTS = 2.0, 0.02


def network_comparison(
    ours: pd.Series, network: str, allowed: Iterable[str] | None = None, note: str = ""
) -> pd.DataFrame:
    """Our from-scratch accuracies of ``network`` (resnet, inception) against its published
    runs on the 2018 archive (``network_summary(network, "ucr2018")``: 5 runs a dataset), on
    the datasets both have (among ``allowed`` when given): a ``scratch`` row per dataset (ours,
    the published mean, value = ours - mean; the note gives the spread and whether ours is
    within mean +- 2 sd or 2 points), and the rows of the mean and median absolute difference
    and the count within the spread. Rows of ``COMPARISON_COLUMNS``; with no shared dataset one
    ``datasets`` row says so."""
    summary = network_summary(network, "ucr2018").set_index("dataset")
    names = set(ours.index) & set(summary.index)
    if allowed is not None:
        names &= set(allowed)
    shared = sorted(names)
    source = DL4TSC if network != "inception" else INCEPTIONTIME
    rows = [
        _datasets_row(
            "shared with the published runs",
            shared,
            len(ours),
            f"have published {network} runs ({source})",
            f"no datasets with published {network} runs",
            note,
        )
    ]
    if not shared:
        return _table(rows)
    frame = pd.DataFrame(
        {
            "dataset": shared,
            "ours": ours.loc[shared].to_numpy(dtype=float),
            "published": summary.loc[shared, "mean"].to_numpy(dtype=float),
        }
    )
    within = []
    for item, (_, published) in zip(frame.itertuples(), summary.loc[shared].iterrows()):
        sd = 0.0 if np.isnan(published["std"]) else float(published["std"])
        close = abs(item.ours - item.published) <= max(SPREAD_SDS * sd, SPREAD_POINTS)
        within.append(close)
        rows.append(
            _row(
                "scratch",
                "test accuracy",
                dataset=item.dataset,
                ours=item.ours,
                published=item.published,
                value=item.ours - item.published,
                note=f"published {item.published:.4f} +- {sd:.4f} over {published['runs']} runs; "
                + ("within" if close else "outside")
                + " mean +- 2 sd or 2 points",
            )
        )
    rows += _accuracy_rows(
        "scratch",
        frame,
        0,
        "mean of |ours - published mean| over datasets",
        "median of |ours - published mean| over datasets",
    )
    rows.append(
        _row(
            "scratch",
            "within the published spread",
            value=float(np.mean(within)),
            n=int(np.sum(within)),
            n_missing=len(within) - int(np.sum(within)),
            note="datasets within the published mean +- 2 sd or 2 points (n), outside (n_missing)",
        )
    )
    return _table(rows)


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    for column in ("n", "n_missing"):
        table[column] = table[column].astype("Int64")
    for column in ("ours", "published", "value"):
        table[column] = table[column].astype(float)
    return table


def datasets_row(table: pd.DataFrame) -> pd.Series:
    """The ``datasets`` row of a comparison table (``comparison`` or ``network_comparison``):
    how many datasets it compares and a note."""
    return table[table["section"] == "datasets"].iloc[0]


def statistic(table: pd.DataFrame, section: str, name: str) -> pd.Series:
    """The one row of a comparison table with this section and statistic."""
    rows = table[
        (table["section"] == section) & (table["statistic"] == name) & table["dataset"].isna()
    ]
    if len(rows) != 1:
        raise KeyError(f"comparison table: no single row {section} / {name}")
    return rows.iloc[0]
