"""The jobs of rules/data.smk: the embedded demo archive."""

from __future__ import annotations

from pathlib import Path

from transfer_tsc.console import Log
from transfer_tsc.workflow.jobs.registry import job


@job("demo_dataset")
def demo_dataset(snakemake, log: Log) -> None:
    """One generated dataset of the embedded demo archive."""
    from transfer_tsc.demo import write_demo_dataset

    root = Path(snakemake.output.train).parents[1]
    write_demo_dataset(root, snakemake.wildcards.dataset, snakemake.params.seed)
    log(f"wrote {snakemake.output.train} and {snakemake.output.test}")
