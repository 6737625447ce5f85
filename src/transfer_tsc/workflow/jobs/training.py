"""The jobs of rules/pretrain.smk and rules/finetune.smk: training from scratch, fine-tuning, the
sources a budget selects and the gathered accuracy tables."""

from __future__ import annotations

from transfer_tsc import study
from transfer_tsc.console import Log
from transfer_tsc.errors import InputError
from transfer_tsc.io import write_csv
from transfer_tsc.report import analysis
from transfer_tsc.training.recipe import Recipe
from transfer_tsc.workflow import plan
from transfer_tsc.workflow.jobs.registry import input_dataset, job, job_network

# rules/pretrain.smk


def _per_run(outputs) -> dict[str, list[str]]:
    """A training rule's named outputs as one path per run (a single run's: a plain path)."""
    return {
        name: [str(value)] if isinstance(value, str) else [str(path) for path in value]
        for name, value in outputs.items()
    }


def _every_run(first_runs, runs: int) -> list[str]:
    """Every run's file of each item whose run-1 file is in ``first_runs`` (what a rule lists as
    input where its job reads every run: the job that made run 1 made them all), item by item."""
    return [path for first in first_runs for path in plan.every_run(str(first), runs)]


def _run_label(run: int, seeds: list[int]) -> str:
    """How a log line names run ``run`` (1-based): nothing for a single run."""
    return f" (run {run}, seed {seeds[run - 1]})" if len(seeds) > 1 else ""


@job("pretrain", keep_finished=True, keras=True)
def pretrain(snakemake, log: Log, recipe: Recipe) -> None:
    """Train the job's network on one dataset from scratch (section III-A), its config ``runs``
    together (run r with seed + r - 1); resumable from its checkpoint."""
    from transfer_tsc.training.transfer import pretrain_runs, run_seeds, write_runs

    name = snakemake.wildcards.dataset
    dataset = input_dataset(snakemake, name)
    seeds = run_seeds(recipe.seed, snakemake.params.runs)
    runs = pretrain_runs(
        dataset, recipe, seeds, snakemake.params.checkpoint, log, job_network(snakemake)
    )
    write_runs(runs, _per_run(snakemake.output), dataset, dataset=name)
    for run, (_, outcome) in enumerate(runs, start=1):
        log(f"{name}{_run_label(run, seeds)}: test accuracy {outcome.test_accuracy:.4f}")


@job("scratch_accuracy")
def scratch_accuracy(snakemake, log: Log) -> None:
    """Every dataset's test accuracy trained from scratch, in one table (the mean over the
    runs; with runs above 1, the per-run and spread tables beside it); every metrics.csv is
    checked before a table is written (a damaged one is named)."""
    runs = snakemake.params.runs
    if runs == 1:
        table = study.gather_scratch(snakemake.input.metrics)
        write_csv(table, snakemake.output.table)
        log(f"{len(table)} datasets -> {snakemake.output.table}")
        return
    tables = study.gather_scratch_runs(
        snakemake.input.metrics,
        runs,
        snakemake.params.seed,
        snakemake.input.get("probabilities"),
    )
    for name in ("table", "runs", "spread"):
        write_csv(getattr(tables, name), snakemake.output[name])
    log(f"{len(tables.table)} datasets x {runs} runs -> {', '.join(snakemake.output)}")


# rules/finetune.smk


@job("finetune", "finetune_batch", keep_finished=True, keras=True)
def finetune(snakemake, log: Log, recipe: Recipe) -> None:
    """Fine-tune one source's model (rule finetune) or a batch of them (rule finetune_batch) on
    a target (section III-B), each its config ``runs`` (run r from the source's pre-training run
    r, with seed + r - 1), all together."""
    from transfer_tsc.training.transfer import finetune_runs, run_seeds, write_batch, write_runs

    target = input_dataset(snakemake, snakemake.wildcards.target)
    seeds = run_seeds(recipe.seed, snakemake.params.runs)
    sources = {
        source: [str(path) for path in snakemake.params.source_models[source]]
        for source in snakemake.params.sources
    }
    outcomes = finetune_runs(
        sources, target, recipe, seeds, snakemake.params.checkpoint, log, job_network(snakemake)
    )
    if snakemake.rule == "finetune_batch":
        write_batch(
            outcomes,
            target,
            snakemake.output.batch,
            snakemake.params.save_models,
            snakemake.params.ensemble,
        )
    else:
        ((source, runs),) = outcomes.items()
        write_runs(runs, _per_run(snakemake.output), target, source=source, target=target.name)
    for source, runs in outcomes.items():
        for run, (_, outcome) in enumerate(runs, start=1):
            log(
                f"{source} -> {target.name}{_run_label(run, seeds)}: test accuracy "
                f"{outcome.test_accuracy:.4f}"
            )


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
    """The source x target matrix of fine-tuned test accuracies (the mean over the runs; with
    runs above 1, the per-run and spread tables beside it); every pair's metrics.csv is checked
    before a table is written (a damaged one is named)."""
    runs, datasets = snakemake.params.runs, snakemake.params.datasets
    metrics = _every_run(snakemake.input.metrics, runs)
    if runs == 1:
        matrix = study.gather_transfer(metrics, datasets)
        write_csv(matrix, snakemake.output.table, index=True)
        log(f"{int(matrix.notna().sum().sum())} pairs -> {snakemake.output.table}")
        return
    tables = study.gather_transfer_runs(
        metrics,
        datasets,
        runs,
        snakemake.params.seed,
        _every_run(snakemake.input.get("probabilities", []), runs),
    )
    write_csv(tables.table, snakemake.output.table, index=True)
    for name in ("runs", "spread"):
        write_csv(getattr(tables, name), snakemake.output[name])
    log(f"{len(tables.spread)} pairs x {runs} runs -> {', '.join(snakemake.output)}")
