"""The jobs of rules/transferability.smk: every source's transferability scores for a target."""

from __future__ import annotations

from transfer_tsc import study
from transfer_tsc.console import Log
from transfer_tsc.io import write_csv
from transfer_tsc.workflow.jobs.registry import input_dataset, job, job_network


@job("transferability", backend=True)
def transferability(snakemake, log: Log) -> None:
    """Every transferability score of every pre-trained source for one target, from one forward
    pass of the target's train split (never its test split)."""
    from transfer_tsc.training.engines import use_threads
    from transfer_tsc.training.transfer import score_sources

    use_threads(snakemake.threads)
    name = snakemake.wildcards.target
    target = input_dataset(snakemake, name, test=False)
    models = dict(zip(snakemake.params.sources, snakemake.input.models))
    table = score_sources(target, models, log, job_network(snakemake))
    write_csv(table, snakemake.output.table)
    log(
        f"{name}: {len(table)} sources scored in {table['seconds'].sum():.1f} s "
        f"({table['seconds'].mean():.2f} s a pair) -> {snakemake.output.table}"
    )


@job("transferability_scores")
def transferability_scores(snakemake, log: Log) -> None:
    """The targets' score tables in one; each is checked before the table is written (a
    damaged one is named)."""
    table = study.gather_scores(list(snakemake.input))
    write_csv(table, snakemake.output.table)
    log(f"{len(table)} pairs of {len(snakemake.input)} targets -> {snakemake.output.table}")
