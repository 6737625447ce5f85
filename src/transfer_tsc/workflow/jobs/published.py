"""The jobs of rules/published.smk: the paper's analyses on its own published results, with no
training (``results/published/``), and the table of the paper's claims, published and as a
study gives them.

The published results are the package's data files (``transfer_tsc/published/``, the rules'
inputs), read by ``report.published`` under the 2018 names; each job computes its table with the
same function as the study's job of rules/analysis.smk, writes it with the datasets named as
``params.names`` asks, and draws its figure from that table. A job makes several tables and
figures: each takes a second or less, a job's start (Python, pandas, matplotlib) two."""

from __future__ import annotations

import pandas as pd

from transfer_tsc.console import Log
from transfer_tsc.io import write_csv
from transfer_tsc.report import analysis
from transfer_tsc.workflow.jobs.registry import job

# The selection methods that need no model: the transferability scores do (the published
# results ship none), so the published comparison leaves them out.
PUBLISHED_METHODS = ("dtw", "random", "oracle")
# The figures' subtitle: where the results come from, and how many pairs they hold.
SOURCE = "published results of Ismail Fawaz et al. 2018 (github.com/hfawaz/bigdata18)"


def _published():
    """The paper's published results (``published.Results``, 2018 names)."""
    from transfer_tsc.report import published

    return published.load()


def _labelled(table: pd.DataFrame | pd.Series, snakemake) -> pd.DataFrame | pd.Series:
    """``table`` with the datasets named as ``params.names`` asks (2015 / 2018)."""
    return analysis.relabel(table, analysis.name_labels(snakemake.params.names))


def _pairs(transfer: pd.DataFrame) -> str:
    return f"{SOURCE}: {analysis.coverage(transfer).describe()}"


@job("published_accuracy_variation")
def published_accuracy_variation(snakemake, log: Log) -> None:
    """Fig. 4 of the published results: the accuracy variation matrix and its heat map."""
    from transfer_tsc.report import figures

    paper = _published()
    variation = _labelled(analysis.accuracy_variation(paper.transfer, paper.scratch), snakemake)
    write_csv(variation, snakemake.output.table, index=True)
    figure = figures.variation_figure(
        variation, limit=snakemake.params.limit, pairs=_pairs(paper.transfer)
    )
    png = figures.save_png_svg(figure, snakemake.output)
    log(f"{variation.shape[0]} x {variation.shape[1]} -> {snakemake.output.table}, {png}")


def _aggregates(snakemake, paper, log: Log) -> None:
    """Fig. 5: min / median / max over sources against scratch."""
    from transfer_tsc.report import figures

    table = _labelled(analysis.aggregates(paper.transfer, paper.scratch), snakemake)
    write_csv(table, snakemake.output.aggregates)
    figure = figures.aggregates_figure(table, _pairs(paper.transfer))
    figures.save(figure, snakemake.output.aggregates_png, snakemake.output.aggregates_svg)
    log(f"Fig. 5: {len(table)} targets -> {snakemake.output.aggregates_png}")


def _dtw_vs_random(snakemake, paper, log: Log) -> None:
    """Fig. 6: the published DTW-nearest source against random ones."""
    from transfer_tsc.report import figures

    p = snakemake.params
    table = analysis.dtw_vs_random(paper.transfer, paper.neighbours, draws=p.draws, seed=p.seed)
    table = _labelled(table, snakemake)
    write_csv(table, snakemake.output.dtw_vs_random)
    figure = figures.dtw_vs_random_figure(
        table, draws=p.draws, pairs=_pairs(paper.transfer), second_nn_gain=p.second_nn_gain
    )
    figures.save(figure, snakemake.output.dtw_vs_random_png, snakemake.output.dtw_vs_random_svg)
    s = analysis.dtw_summary(table)
    log(
        f"Fig. 6: {s['n_targets']} targets, DTW wins / ties / losses {s['wins']} / {s['ties']} / "
        f"{s['losses']}, Wilcoxon p = {s['wilcoxon_p']:.3g} -> {snakemake.output.dtw_vs_random}"
    )


def _rank_curves(snakemake, paper, log: Log) -> None:
    """Figs 7-9: accuracy against the published neighbour rank; the paper's ShapeletSim,
    HandOutlines and Meat drawn."""
    from transfer_tsc.report import figures

    smoothing = snakemake.params.smoothing
    curves = analysis.rank_curves(paper.transfer, paper.neighbours, paper.scratch, smoothing)
    curves = _labelled(curves, snakemake)
    write_csv(curves, snakemake.output.rank_curves)
    labels = analysis.name_labels(snakemake.params.names)
    targets = [labels.get(t, t) for t in analysis.PAPER_RANK_CURVE_TARGETS]
    figure = figures.rank_curves_figure(curves, targets, smoothing=smoothing)
    figures.save(figure, snakemake.output.rank_curves_png, snakemake.output.rank_curves_svg)
    log(f"Figs 7-9: {curves['target'].nunique()} targets, drawn {', '.join(targets)}")


def _selection_methods(snakemake, paper, log: Log) -> None:
    """The source-selection comparison: DTW, random and the oracle (the transferability scores
    need the pre-trained models, which are not published)."""
    from transfer_tsc.report import figures, selection
    from transfer_tsc.transferability import SCORES

    # No distances are published: the ranks stand in for them (the rank correlations read the
    # order of the sources only).
    neighbours = paper.neighbours.assign(distance=paper.neighbours["rank"].astype(float))
    no_scores = analysis.score_table(pd.DataFrame(columns=["target", "source", *SCORES]))
    summary, targets = selection.selection_methods(
        paper.transfer,
        neighbours,
        no_scores,
        draws=snakemake.params.draws,
        seed=snakemake.params.seed,
    )
    summary = summary[summary["method"].isin(PUBLISHED_METHODS)].reset_index(drop=True)
    targets = targets[targets["method"].isin(PUBLISHED_METHODS)].reset_index(drop=True)
    write_csv(_labelled(summary, snakemake), snakemake.output.selection_methods)
    write_csv(_labelled(targets, snakemake), snakemake.output.selection_methods_by_target)
    oracle = selection.method_row(summary, "oracle")
    pairs = f"{SOURCE}: {int(oracle['n_targets'])} targets, {int(oracle['n_pairs'])} pairs"
    figures.save(
        figures.selection_methods_figure(summary, pairs),
        snakemake.output.selection_methods_png,
        snakemake.output.selection_methods_svg,
    )
    dtw = selection.method_row(summary, "dtw")
    log(
        f"selection: dtw vs random {dtw['wins']} / {dtw['ties']} / {dtw['losses']}, mean "
        f"regret {dtw['regret']:.4f} -> {snakemake.output.selection_methods}"
    )


def _critical_difference(snakemake, log: Log) -> None:
    """The critical-difference diagram of the networks' published accuracies from scratch on the
    paper's 85 datasets (FCN, ResNet, Inception, InceptionTime)."""
    from transfer_tsc.report import critical_difference, figures, published

    out = snakemake.output
    table = _labelled(published.networks_on_paper_datasets(), snakemake)
    write_csv(table, out.networks_scratch, index=True)
    result, figure, line = critical_difference.diagram(
        table, f"Published accuracy from scratch on the paper's {len(table)} datasets"
    )
    write_csv(result, out.critical_difference)
    figures.save(figure, out.critical_difference_png, out.critical_difference_svg)
    log(f"networks: {line} -> {out.critical_difference}")


def _options(snakemake):
    """How the claims are computed: the job's params (``paper_claims.Options``)."""
    from transfer_tsc.report import paper_claims

    p = snakemake.params
    return paper_claims.Options(
        draws=p.draws, seed=p.seed, smoothing=p.smoothing, labels=analysis.name_labels(p.names)
    )


def _log_claims(table: pd.DataFrame, log: Log, path: str) -> None:
    held = (table["published_holds"] == "yes").sum()
    ran = (table["this_run"] != "").sum()
    log(
        f"{len(table)} claims: {held} hold on the published results, {ran} computed on this "
        f"run -> {path}"
    )


def _claims(snakemake, paper, log: Log) -> None:
    """The paper's claims as it states them and as its published results give them."""
    from transfer_tsc.report import paper_claims

    table = paper_claims.claims_table(paper, None, snakemake.params.note, _options(snakemake))
    write_csv(table, snakemake.output.claims)
    _log_claims(table, log, snakemake.output.claims)


@job("published_analyses")
def published_analyses(snakemake, log: Log) -> None:
    """Figs 5-9 of the published results and the source-selection comparison (how the choice
    of the source changes the fine-tuned accuracy, how the DTW-nearest source does), the
    critical-difference diagram of the networks' published accuracies from scratch, and the
    paper's claims as its published results give them."""
    paper = _published()
    for analyse in (_aggregates, _dtw_vs_random, _rank_curves, _selection_methods, _claims):
        analyse(snakemake, paper, log)
    _critical_difference(snakemake, log)


@job("paper_claims")
def paper_claims(snakemake, log: Log) -> None:
    """The paper's claims as it states them, as its published results give them and as this
    study gives them on the paper's datasets it has."""
    from transfer_tsc.report import paper_claims as claims
    from transfer_tsc.report import published

    ours = published.Results(
        analysis.read_scratch(snakemake.input.scratch),
        analysis.read_transfer(snakemake.input.transfer),
        analysis.read_neighbours(snakemake.input.neighbours),
    )
    shared = sorted(set(snakemake.params.shared) & ours.names())
    n = claims.PAPER_DATASETS
    if shared:
        run = claims.restrict(ours, shared)
        note = "" if len(shared) == n else f"this run has {len(shared)} of the paper's {n} datasets"
    else:
        run = None
        why = "the demo archive's datasets are generated" if snakemake.params.demo else ""
        note = "; ".join(filter(None, ["this run has none of the paper's datasets", why]))
    table = claims.claims_table(_published(), run, note, options=_options(snakemake))
    write_csv(table, snakemake.output.table)
    _log_claims(table, log, snakemake.output.table)
