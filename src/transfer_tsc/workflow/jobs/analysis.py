"""The jobs of rules/analysis.smk: the paper's tables and figures (section V) from the gathered
results, and the run's provenance."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from transfer_tsc.console import Log
from transfer_tsc.io import write_csv
from transfer_tsc.networks import PAPER_NETWORK, network
from transfer_tsc.report import analysis
from transfer_tsc.workflow.jobs.registry import job


def _write_labelled(table: pd.DataFrame, snakemake, path: str, index: bool = False) -> None:
    """Write an analysis table with the datasets named as ``params.names`` asks (2015 / 2018)."""
    labels = analysis.name_labels(snakemake.params.names)
    write_csv(analysis.relabel(table, labels), path, index=index)


# The gathered results an analysis job reads, by its rule's input names.
READERS: dict[str, Callable[[str], pd.DataFrame]] = {
    "transfer": analysis.read_transfer,
    "scratch": analysis.read_scratch,
    "neighbours": analysis.read_neighbours,
    "scores": analysis.read_scores,
}


def _gathered(snakemake, *names: str) -> list[pd.DataFrame]:
    """The job's inputs ``names`` (transfer, scratch, neighbours, scores), read and checked."""
    return [READERS[name](snakemake.input[name]) for name in names]


def _transfer_by_run(snakemake, transfer: pd.DataFrame) -> list[pd.DataFrame] | None:
    """Each run's fine-tuned accuracy matrix, laid out as the mean matrix ``transfer``, from the
    job's ``transfer_runs`` input (runs above 1); None without it (one run)."""
    path = snakemake.input.get("transfer_runs")
    return None if path is None else analysis.read_transfer_runs(path, transfer)


def _mean_over_runs(snakemake) -> str:
    """ ", mean over R runs" from the job's ``transfer_runs`` input (runs above 1), else ""."""
    path = snakemake.input.get("transfer_runs")
    if path is None:
        return ""
    runs = analysis.read_table(path, analysis.TRANSFER_RUN_COLUMNS)["run"].nunique()
    return f", mean over {runs} runs"


def _coverage(snakemake) -> analysis.Coverage:
    """Which pairs the study has run, from the job's ``transfer`` input."""
    (transfer,) = _gathered(snakemake, "transfer")
    return analysis.coverage(transfer)


# tables


@job("accuracy_variation")
def accuracy_variation(snakemake, log: Log) -> None:
    """Fig. 4's matrix: the fine-tuned accuracy's variation over training from scratch (of the
    means, with runs above 1: the gathered tables are the means)."""
    transfer, scratch = _gathered(snakemake, "transfer", "scratch")
    variation = analysis.accuracy_variation(transfer, scratch)
    _write_labelled(variation, snakemake, snakemake.output.table, index=True)
    log(f"{analysis.coverage(transfer).describe()} -> {snakemake.output.table}")


@job("aggregates")
def aggregates(snakemake, log: Log) -> None:
    """Fig. 5's table: min / median / max fine-tuned accuracy per target, and from scratch; with
    runs above 1 (inputs ``scratch_runs``, ``transfer_runs``), their std over runs."""
    transfer, scratch = _gathered(snakemake, "transfer", "scratch")
    table = analysis.aggregates(transfer, scratch)
    transfer_by_run = _transfer_by_run(snakemake, transfer)
    if transfer_by_run is not None:
        scratch_by_run = analysis.read_scratch_runs(snakemake.input.scratch_runs, scratch)
        table = analysis.aggregates_spread(table, scratch_by_run, transfer_by_run)
    _write_labelled(table, snakemake, snakemake.output.table)
    log(
        f"{len(table)} targets, {analysis.coverage(transfer).describe()} -> "
        f"{snakemake.output.table}"
    )


@job("dtw_vs_random")
def dtw_vs_random(snakemake, log: Log) -> None:
    """Fig. 6's table: the DTW-nearest source against random sources, per target; with runs
    above 1 (input ``transfer_runs``), the spread and the wins that hold in every run."""
    transfer, neighbours = _gathered(snakemake, "transfer", "neighbours")
    draws, seed = snakemake.params.draws, snakemake.params.seed
    table = analysis.dtw_vs_random(transfer, neighbours, draws=draws, seed=seed)
    transfer_by_run = _transfer_by_run(snakemake, transfer)
    if transfer_by_run is not None:
        by_run = [
            analysis.dtw_vs_random(run, neighbours, draws=draws, seed=seed)
            for run in transfer_by_run
        ]
        table = analysis.dtw_vs_random_spread(table, by_run)
    _write_labelled(table, snakemake, snakemake.output.table)
    s = analysis.dtw_summary(table)
    every = "" if transfer_by_run is None else f" ({s['wins_every_run']} in every run)"
    log(
        f"{s['n_targets']} targets: DTW wins / ties / losses {s['wins']}{every} / {s['ties']} / "
        f"{s['losses']}, Wilcoxon p = {s['wilcoxon_p']:.3g} -> {snakemake.output.table}"
    )


@job("rank_curves")
def rank_curves(snakemake, log: Log) -> None:
    """Fig. 7-9's curves: accuracy against the source's DTW rank, per target."""
    table = analysis.rank_curves(
        *_gathered(snakemake, "transfer", "neighbours", "scratch"),
        smoothing=snakemake.params.smoothing,
    )
    _write_labelled(table, snakemake, snakemake.output.table)
    log(f"{table['target'].nunique()} targets, {len(table)} ranks -> {snakemake.output.table}")


@job("selection_methods")
def selection_methods(snakemake, log: Log) -> None:
    """Source-selection methods compared (DTW, transferability scores, random, oracle); with
    runs above 1 (input ``transfer_runs``), the wins that hold in every run."""
    from transfer_tsc.report import selection

    transfer, neighbours, scores = _gathered(snakemake, "transfer", "neighbours", "scores")
    draws, seed = snakemake.params.draws, snakemake.params.seed
    summary, targets = selection.selection_methods(
        transfer, neighbours, scores, draws=draws, seed=seed
    )
    transfer_by_run = _transfer_by_run(snakemake, transfer)
    if transfer_by_run is not None:
        by_run = [
            selection.by_target(run, neighbours, scores, draws=draws, seed=seed)
            for run in transfer_by_run
        ]
        summary, targets = selection.selection_spread(summary, targets, by_run)
    _write_labelled(summary, snakemake, snakemake.output.table)
    _write_labelled(targets, snakemake, snakemake.output.targets)
    oracle = selection.method_row(summary, "oracle")
    log(
        f"{oracle['n_targets']} targets, {oracle['n_pairs']} pairs ({oracle['pairs_not_run']} not "
        f"run, {oracle['targets_left_out']} targets with < {selection.MIN_SOURCES} fine-tuned "
        f"sources left out) -> {snakemake.output.table}, {snakemake.output.targets}"
    )


@job("critical_difference_selection")
def critical_difference_selection(snakemake, log: Log) -> None:
    """The source-selection methods and training from scratch over the targets: average ranks,
    pairwise Wilcoxon-Holm, the critical-difference diagram (or why none could be drawn)."""
    from transfer_tsc.report import critical_difference, figures, selection

    labels = analysis.name_labels(snakemake.params.names)  # as selection_methods names targets
    targets = analysis.read_table(snakemake.input.targets, selection.TARGET_COLUMNS)
    (scratch,) = _gathered(snakemake, "scratch")
    table = critical_difference.selection_table(targets, analysis.relabel(scratch, labels))
    title = f"{network(snakemake.wildcards.network).title}: choosing the source, and scratch"
    result, figure, line = critical_difference.diagram(
        table, title, label=f"{snakemake.input.targets} with scratch accuracies"
    )
    write_csv(result, snakemake.output.table)
    figures.save_png_svg(figure, snakemake.output)
    log(f"{line} -> {snakemake.output.table}, {snakemake.output.png}")


# Where each network's published results come from (the figure's subtitle).
PUBLISHED_SOURCES = {
    "fcn": "Ismail Fawaz et al. 2018, github.com/hfawaz/bigdata18",
    "resnet": "Ismail Fawaz et al. 2019, github.com/hfawaz/dl-4-tsc, mean of 5 runs",
    "inception": "Ismail Fawaz et al. 2020, github.com/hfawaz/InceptionTime, mean of 5 runs",
}


def _published_note(snakemake) -> str:
    """Why a study shares no dataset with the published results, or ""."""
    if snakemake.params.demo:
        return "the demo archive's datasets are generated, not the archive's"
    return ""


@job("published_comparison")
def published_comparison(snakemake, log: Log) -> None:
    """This run's results against the paper's published ones, on the datasets both have."""
    from transfer_tsc.report import published

    ours = published.Results(*_gathered(snakemake, "scratch", "transfer", "neighbours"))
    if snakemake.wildcards.network == PAPER_NETWORK:  # the paper's: scratch, transfer, DTW
        table = published.comparison(
            ours,
            published.load(),
            allowed=snakemake.params.shared,
            draws=snakemake.params.draws,
            seed=snakemake.params.seed,
            note=_published_note(snakemake),
        )
    else:  # ResNet, Inception: their published runs from scratch
        table = published.network_comparison(
            ours.scratch,
            snakemake.wildcards.network,
            allowed=[] if snakemake.params.demo else None,
            note=_published_note(snakemake),
        )
    _write_labelled(table, snakemake, snakemake.output.table)
    shared = published.datasets_row(table)
    log(f"{shared['n']} datasets shared: {shared['note']} -> {snakemake.output.table}")


@job("run_info")
def run_info(snakemake, log: Log) -> None:
    """The run's provenance: settings, coverage and software versions."""
    table = analysis.run_info(
        snakemake.params.config, _coverage(snakemake), analysis.software_versions()
    )
    write_csv(table, snakemake.output.table)
    log(f"{len(table)} rows -> {snakemake.output.table}")


# figures: each written as the rule's outputs png and svg (figures.save_png_svg)


@job("figure_accuracy_variation")
def figure_accuracy_variation(snakemake, log: Log) -> None:
    """Fig. 4: the accuracy-variation heat map."""
    from transfer_tsc.report import figures

    variation = analysis.read_variation(snakemake.input.table)
    pairs = _coverage(snakemake).describe() + _mean_over_runs(snakemake)
    figure = figures.variation_figure(variation, limit=snakemake.params.limit, pairs=pairs)
    png = figures.save_png_svg(figure, snakemake.output)
    log(f"{variation.shape[0]} x {variation.shape[1]}, {pairs} -> {png}")


@job("figure_aggregates")
def figure_aggregates(snakemake, log: Log) -> None:
    """Fig. 5: min / median / max fine-tuned accuracy against training from scratch."""
    from transfer_tsc.report import figures

    table = analysis.read_table(snakemake.input.table, analysis.AGGREGATE_COLUMNS)
    pairs = _coverage(snakemake).describe()
    png = figures.save_png_svg(figures.aggregates_figure(table, pairs), snakemake.output)
    log(f"{len(table)} targets, {pairs} -> {png}")


@job("figure_dtw_vs_random")
def figure_dtw_vs_random(snakemake, log: Log) -> None:
    """Fig. 6: the DTW-nearest source's accuracy against random sources'."""
    from transfer_tsc.report import figures

    table = analysis.read_table(snakemake.input.table, analysis.DTW_COLUMNS)
    pairs = _coverage(snakemake).describe()
    figure = figures.dtw_vs_random_figure(
        table,
        draws=snakemake.params.draws,
        pairs=pairs,
        second_nn_gain=snakemake.params.second_nn_gain,
    )
    png = figures.save_png_svg(figure, snakemake.output)
    gains = figures.second_nn_gains(table, snakemake.params.second_nn_gain)
    log(f"{pairs}; 2nd NN dots: {', '.join(gains['target']) or 'none'} -> {png}")


@job("figure_rank_curves")
def figure_rank_curves(snakemake, log: Log) -> None:
    """Fig. 7-9: accuracy against DTW rank for the chosen targets."""
    from transfer_tsc.report import figures

    curves = analysis.read_table(snakemake.input.table, analysis.RANK_CURVE_COLUMNS)
    labels = analysis.name_labels(snakemake.params.names)
    requested = [labels.get(t, t) for t in snakemake.params.targets or []]
    targets = analysis.rank_curve_targets(requested, curves)
    figure = figures.rank_curves_figure(curves, targets, smoothing=snakemake.params.smoothing)
    png = figures.save_png_svg(figure, snakemake.output)
    log(f"targets {', '.join(targets)} -> {png}")


@job("figure_selection_methods")
def figure_selection_methods(snakemake, log: Log) -> None:
    """The source-selection methods' regret and W/T/L against random."""
    from transfer_tsc.report import figures, selection

    summary = analysis.read_table(snakemake.input.table, selection.SUMMARY_COLUMNS)
    oracle = selection.method_row(summary, "oracle")
    pairs = (
        f"{int(oracle['n_targets'])} targets, {int(oracle['n_pairs'])} fine-tuned pairs "
        f"(pairs of these targets not run: {int(oracle['pairs_not_run'])})"
    )
    if "runs" in summary.columns:
        pairs += f", mean over {int(oracle['runs'])} runs"
    figure = figures.selection_methods_figure(summary, pairs=pairs)
    png = figures.save_png_svg(figure, snakemake.output)
    log(f"{pairs} -> {png}")


@job("figure_published_comparison")
def figure_published_comparison(snakemake, log: Log) -> None:
    """This run's scratch accuracies against the published ones."""
    from transfer_tsc.report import figures, published

    table = analysis.read_table(snakemake.input.table, published.COMPARISON_COLUMNS)
    figure = figures.published_comparison_figure(
        table, source=PUBLISHED_SOURCES[snakemake.wildcards.network]
    )
    png = figures.save_png_svg(figure, snakemake.output)
    log(f"{published.datasets_row(table)['n']} datasets shared with the published results -> {png}")
