"""The jobs of rules/across_networks.smk: the agreement of the networks' transfer gains (is the
transfer independent of the network, as section III-A claims?) and the critical-difference
diagram of scratch against transfer from the DTW-nearest source, per network."""

from __future__ import annotations

from transfer_tsc.console import Log
from transfer_tsc.io import write_csv
from transfer_tsc.networks import network
from transfer_tsc.report import analysis
from transfer_tsc.workflow.jobs.registry import job


@job("across_networks")
def across_networks(snakemake, log: Log) -> None:
    """Per network pair and target: the rank correlations and sign agreement of the gains over
    the common sources, the DTW-nearest source's gain under each; a summary and a figure."""
    from transfer_tsc.report import across_networks as agreement

    networks = snakemake.params.networks
    gains = {
        name: agreement.gains(analysis.read_transfer(transfer), analysis.read_scratch(scratch))
        for name, scratch, transfer in zip(
            networks, snakemake.input.scratch, snakemake.input.transfer
        )
    }
    neighbours = analysis.read_neighbours(snakemake.input.neighbours)
    table = agreement.network_agreement(gains, neighbours)
    summary = agreement.agreement_summary(table)
    labels = analysis.name_labels(snakemake.params.names)
    write_csv(analysis.relabel(table, labels), snakemake.output.table)
    write_csv(summary, snakemake.output.summary)
    titles = {network(name).title: table for name, table in gains.items()}  # FCN, ResNet, ...
    agreement.agreement_figure(titles, snakemake.output.png)
    log(
        f"{len(networks)} networks, {len(summary)} pairs of networks, {len(table)} "
        f"(pair, target) rows -> {snakemake.output.table}"
    )


@job("critical_difference_networks")
def critical_difference_networks(snakemake, log: Log) -> None:
    """Each network's accuracy from scratch and with transfer from the DTW-nearest source over the
    datasets: average ranks, pairwise Wilcoxon-Holm, the critical-difference diagram (or why none
    could be drawn)."""
    from transfer_tsc.report import critical_difference, figures

    labels = analysis.name_labels(snakemake.params.names)  # as dtw_vs_random names targets
    studies = {
        network(name).title: (
            analysis.relabel(analysis.read_scratch(scratch), labels),
            analysis.read_table(dtw, analysis.DTW_COLUMNS),
        )
        for name, scratch, dtw in zip(
            snakemake.params.networks, snakemake.input.scratch, snakemake.input.dtw
        )
    }
    table = critical_difference.networks_table(studies)
    result, figure, line = critical_difference.diagram(
        table,
        f"From scratch and with transfer from the DTW-nearest source: {', '.join(studies)}",
        label="scratch and DTW-nearest transfer accuracies",
    )
    write_csv(result, snakemake.output.table)
    figures.save_png_svg(figure, snakemake.output)
    log(f"{line} -> {snakemake.output.table}, {snakemake.output.png}")
