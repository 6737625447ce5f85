"""The job of rules/across_networks.smk: the agreement of the networks' transfer gains (is the
transfer independent of the network, as section III-A claims?)."""

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
