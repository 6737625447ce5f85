"""The jobs of rules/pretrain.smk and rules/finetune.smk: training from scratch, fine-tuning, the
sources a budget selects and the gathered accuracy tables."""

from __future__ import annotations

from transfer_tsc import study
from transfer_tsc.console import Log
from transfer_tsc.errors import InputError
from transfer_tsc.io import write_csv
from transfer_tsc.report import analysis
from transfer_tsc.training.recipe import Recipe
from transfer_tsc.workflow.jobs.registry import input_dataset, job, job_network

# rules/pretrain.smk


@job("pretrain", keep_finished=True, keras=True)
def pretrain(snakemake, log: Log, recipe: Recipe) -> None:
    """Train the job's network on one dataset from scratch (section III-A); resumable from its
    checkpoint."""
    from transfer_tsc.training.transfer import pretrain as train_from_scratch
    from transfer_tsc.training.transfer import write_outcome

    name = snakemake.wildcards.dataset
    dataset = input_dataset(snakemake, name)
    model, outcome = train_from_scratch(
        dataset, recipe, snakemake.params.checkpoint, log, job_network(snakemake)
    )
    output = snakemake.output
    write_outcome(model, outcome, output.model, output.metrics, output.history, dataset=name)
    log(f"{name}: test accuracy {outcome.test_accuracy:.4f}")


@job("scratch_accuracy")
def scratch_accuracy(snakemake, log: Log) -> None:
    """Every dataset's test accuracy trained from scratch, in one table; every metrics.csv is
    checked before the table is written (a damaged one is named)."""
    table = study.gather_scratch(snakemake.input)
    write_csv(table, snakemake.output[0])
    log(f"{len(table)} datasets -> {snakemake.output[0]}")


# rules/finetune.smk


@job("finetune", "finetune_batch", keep_finished=True, keras=True)
def finetune(snakemake, log: Log, recipe: Recipe) -> None:
    """Fine-tune one source's model (rule finetune) or a batch of them (rule finetune_batch) on
    a target (section III-B)."""
    from transfer_tsc.training.transfer import finetune as fine_tune
    from transfer_tsc.training.transfer import write_batch, write_pair

    target = input_dataset(snakemake, snakemake.wildcards.target)
    sources = dict(zip(snakemake.params.sources, snakemake.input.sources))
    outcomes = fine_tune(
        sources, target, recipe, snakemake.params.checkpoint, log, job_network(snakemake)
    )
    output = dict(snakemake.output.items())
    if snakemake.rule == "finetune_batch":
        write_batch(outcomes, target.name, output["batch"], snakemake.params.save_models)
    else:
        write_pair(outcomes, target.name, output)
    for source, (_, outcome) in outcomes.items():
        log(f"{source} -> {target.name}: test accuracy {outcome.test_accuracy:.4f}")


@job("select_sources")
def select_sources(snakemake, log: Log) -> None:
    """The (source, target) pairs a budget mode fine-tunes (config finetune.sources)."""
    mode, k = study.parse_budget(snakemake.params.sources)
    datasets = snakemake.params.datasets
    if mode == "nearest":
        neighbours = analysis.read_neighbours(snakemake.input.neighbours)
        selection = study.nearest_sources(neighbours, datasets, k)
    elif mode == "random":
        selection = study.random_sources(datasets, k, snakemake.params.seed)
    elif mode in study.SCORES:
        scores = analysis.read_table(snakemake.input.scores, ("target", "source", mode))
        selection = study.scored_sources(scores, datasets, k, mode)
    else:
        raise InputError(
            "config key finetune.sources: all selects every pair; no selection to write"
        )
    write_csv(selection, snakemake.output.selection)
    log(f"{snakemake.params.sources}: {len(selection)} pairs -> {snakemake.output.selection}")


@job("transfer_accuracy")
def transfer_accuracy(snakemake, log: Log) -> None:
    """The source x target matrix of fine-tuned test accuracies; every pair's metrics.csv is
    checked before the matrix is written (a damaged one is named)."""
    matrix = study.gather_transfer(snakemake.input, snakemake.params.datasets)
    write_csv(matrix, snakemake.output[0], index=True)
    log(f"{int(matrix.notna().sum().sum())} pairs -> {snakemake.output[0]}")
