"""The workflow's jobs: one function per rule, named after it, from the rule's ``snakemake``
object (input, output, params, wildcards, threads) to the package's calls and the rule's files.

Every rule's ``script:`` is ``scripts/job.py``, which sets the job's environment and calls
:func:`run`; ``run`` picks the rule's function and runs it inside ``runner.rule_script`` (the
job's log, one-line errors, the memory watchdog, finished-job records). Rules that train select
the Keras backend first; modules that import Keras or matplotlib are imported inside the
functions that need them, so a table job starts without either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from transfer_tsc import study
from transfer_tsc.data import Dataset, load_dataset_files
from transfer_tsc.errors import InputError
from transfer_tsc.io import write_csv
from transfer_tsc.report import analysis
from transfer_tsc.workflow.runner import Log, rule_script, select_backend

Job = Callable[[Any, Log], None]

# The study's results folder (the rules' paths are relative to the working directory).
RESULTS = "results"


@dataclass(frozen=True)
class Rule:
    """A rule's job: its function; ``keep_finished`` for rules whose outputs a killed run keeps
    (``runner.rule_script``); ``keras`` for rules that select the Keras backend first."""

    job: Job
    keep_finished: bool = False
    keras: bool = False


RULES: dict[str, Rule] = {}


def job(*rules: str, keep_finished: bool = False, keras: bool = False) -> Callable[[Job], Job]:
    """Register the decorated function as the job of ``rules`` (default: its own name)."""

    def register(function: Job) -> Job:
        for name in rules or (function.__name__,):
            RULES[name] = Rule(function, keep_finished, keras)
        return function

    return register


def run(snakemake) -> None:
    """Run the job of rule ``snakemake.rule``."""
    try:
        rule = RULES[snakemake.rule]
    except KeyError:
        raise RuntimeError(f"rule {snakemake.rule}: no job in transfer_tsc.workflow.jobs") from None
    # KERAS_BACKEND before Keras is imported, once the job is known to run (not kept)
    setup = (lambda: select_backend(snakemake.config)) if rule.keras else None
    with rule_script(snakemake, keep_finished=rule.keep_finished, setup=setup) as log:
        rule.job(snakemake, log)


def _dataset(snakemake, name: str, test: bool = True) -> Dataset:
    """The dataset ``name`` from the job's ``train`` (and ``test``) inputs, read as
    ``params.data`` says."""
    test_file = snakemake.input.test if test else None
    return load_dataset_files(name, snakemake.input.train, test_file, **snakemake.params.data)


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


def _coverage(snakemake) -> analysis.Coverage:
    """Which pairs the study has run, from the job's ``transfer`` input."""
    (transfer,) = _gathered(snakemake, "transfer")
    return analysis.coverage(transfer)


# rules/data.smk


@job()
def demo_dataset(snakemake, log: Log) -> None:
    """One generated dataset of the embedded demo archive."""
    from transfer_tsc.demo import write_demo_dataset

    root = Path(snakemake.output.train).parents[1]
    write_demo_dataset(root, snakemake.wildcards.dataset, snakemake.params.seed)
    log(f"wrote {snakemake.output.train} and {snakemake.output.test}")


# rules/pretrain.smk and rules/finetune.smk


@job(keep_finished=True, keras=True)
def pretrain(snakemake, log: Log) -> None:
    """Train the FCN on one dataset from scratch (section III-A); resumable from its checkpoint."""
    from transfer_tsc.settings import job_recipe
    from transfer_tsc.training.engines import backend, use_threads
    from transfer_tsc.training.transfer import pretrain as train_from_scratch
    from transfer_tsc.training.transfer import write_outcome

    log(f"Keras backend: {backend()}")
    use_threads(snakemake.threads)
    name = snakemake.wildcards.dataset
    dataset = _dataset(snakemake, name)
    recipe = job_recipe(snakemake.params.recipe, snakemake.config)
    model, outcome = train_from_scratch(dataset, recipe, snakemake.params.checkpoint, log)
    output = snakemake.output
    write_outcome(model, outcome, output.model, output.metrics, output.history, dataset=name)
    log(f"{name}: test accuracy {outcome.test_accuracy:.4f}")


@job("finetune", "finetune_batch", keep_finished=True, keras=True)
def finetune(snakemake, log: Log) -> None:
    """Fine-tune one source's model (rule finetune) or a batch of them (rule finetune_batch) on
    a target (section III-B)."""
    from transfer_tsc.settings import job_recipe
    from transfer_tsc.training.engines import backend, use_threads
    from transfer_tsc.training.transfer import finetune as fine_tune
    from transfer_tsc.training.transfer import write_batch, write_pair

    log(f"Keras backend: {backend()}")
    use_threads(snakemake.threads)
    target = _dataset(snakemake, snakemake.wildcards.target)
    sources = dict(zip(snakemake.params.sources, snakemake.input.sources))
    recipe = job_recipe(snakemake.params.recipe, snakemake.config)
    outcomes = fine_tune(sources, target, recipe, snakemake.params.checkpoint, log)
    output = dict(snakemake.output.items())
    if snakemake.rule == "finetune_batch":
        write_batch(outcomes, target.name, output["batch"], snakemake.params.save_models)
    else:
        write_pair(outcomes, target.name, output)
    for source, (_, outcome) in outcomes.items():
        log(f"{source} -> {target.name}: test accuracy {outcome.test_accuracy:.4f}")


@job()
def scratch_accuracy(snakemake, log: Log) -> None:
    """Every dataset's test accuracy trained from scratch, in one table; every metrics.csv is
    checked before the table is written (a damaged one is named)."""
    table = study.gather_scratch(snakemake.input)
    write_csv(table, snakemake.output[0])
    log(f"{len(table)} datasets -> {snakemake.output[0]}")


@job()
def select_sources(snakemake, log: Log) -> None:
    """The (source, target) pairs a budget mode fine-tunes (config finetune.sources)."""
    mode, k = study.parse_budget(snakemake.params.sources)
    datasets = snakemake.params.datasets
    if mode == "nearest":
        (neighbours,) = _gathered(snakemake, "neighbours")
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


@job()
def transfer_accuracy(snakemake, log: Log) -> None:
    """The source x target matrix of fine-tuned test accuracies; every pair's metrics.csv is
    checked before the matrix is written (a damaged one is named)."""
    matrix = study.gather_transfer(snakemake.input, snakemake.params.datasets)
    write_csv(matrix, snakemake.output[0], index=True)
    log(f"{int(matrix.notna().sum().sum())} pairs -> {snakemake.output[0]}")


# rules/similarity.smk


@job(keep_finished=True)
def prototypes(snakemake, log: Log) -> None:
    """One medoid-initialised DBA prototype per class of a dataset's train split (Algorithm 1)."""
    from transfer_tsc.similarity.dtw import self_check, window_text
    from transfer_tsc.similarity.prototypes import class_prototypes, write_prototypes

    window = snakemake.params.window
    self_check(window)
    name = snakemake.wildcards.dataset
    dataset = _dataset(snakemake, name)
    log(
        f"{name}: {len(dataset.y_train)} train series, {dataset.n_classes} classes, "
        f"window {window_text(window)}, {snakemake.params.iterations} DBA iterations, "
        f"{snakemake.threads} threads"
    )
    result = class_prototypes(
        name,
        dataset.series("train"),
        dataset.y_train,
        dataset.classes,
        window=window,
        iterations=snakemake.params.iterations,
        log=log,
    )
    write_prototypes(snakemake.output[0], result, **snakemake.params.data)
    log(f"{name}: {len(result.prototypes)} prototypes -> {snakemake.output[0]}")


@job()
def dtw_distance(snakemake, log: Log) -> None:
    """The dataset x dataset matrix (minimum squared DTW over prototype pairs), computing only
    the pairs its cache does not hold."""
    from transfer_tsc.similarity import distances as similarity
    from transfer_tsc.similarity import dtw

    window = snakemake.params.window
    dtw.self_check(window)
    sets = similarity.load_prototype_sets(snakemake.input, window)
    cache = snakemake.params.cache
    known, note = similarity.read_pair_cache(cache)
    if note:
        log(note)
    matrix, new = similarity.dataset_matrix(sets, window, known, log=log)
    total = len(matrix) * (len(matrix) - 1) // 2
    log(f"{len(matrix)} datasets, {total} pairs: {len(new)} computed, {total - len(new)} cached")
    similarity.write_pair_cache(cache, {**known, **new}, sets, window)
    output = snakemake.output
    similarity.write_matrix(matrix, output.matrix, output.settings, sets, window, computed=len(new))
    log(f"-> {output.matrix}")


@job()
def dtw_neighbours(snakemake, log: Log) -> None:
    """Every target's sources ranked nearest first (target, rank, source, distance)."""
    from transfer_tsc.similarity import distances as similarity

    matrix = similarity.read_matrix(snakemake.input.matrix)
    table = similarity.neighbours(matrix)
    output = snakemake.output
    similarity.write_neighbours(table, output.neighbours, output.settings, snakemake.input.settings)
    log(f"{len(matrix)} targets, {len(table)} ranked sources -> {output.neighbours}")


# rules/transferability.smk


@job(keras=True)
def transferability(snakemake, log: Log) -> None:
    """Every transferability score of every pre-trained source for one target, from one forward
    pass of the target's train split (never its test split)."""
    from transfer_tsc.training.engines import use_threads
    from transfer_tsc.training.transfer import score_sources

    use_threads(snakemake.threads)
    name = snakemake.wildcards.target
    target = _dataset(snakemake, name, test=False)
    models = dict(zip(snakemake.params.sources, snakemake.input.models))
    table = score_sources(target, models, log)
    write_csv(table, snakemake.output.table)
    log(
        f"{name}: {len(table)} sources scored in {table['seconds'].sum():.1f} s "
        f"({table['seconds'].mean():.2f} s a pair) -> {snakemake.output.table}"
    )


@job()
def transferability_scores(snakemake, log: Log) -> None:
    """The targets' score tables in one; each is checked before the table is written (a
    damaged one is named)."""
    table = study.gather_scores(list(snakemake.input))
    write_csv(table, snakemake.output.table)
    log(f"{len(table)} pairs of {len(snakemake.input)} targets -> {snakemake.output.table}")


# rules/analysis.smk: tables


@job()
def accuracy_variation(snakemake, log: Log) -> None:
    """Fig. 4's matrix: the fine-tuned accuracy's variation over training from scratch."""
    transfer, scratch = _gathered(snakemake, "transfer", "scratch")
    variation = analysis.accuracy_variation(transfer, scratch)
    _write_labelled(variation, snakemake, snakemake.output.table, index=True)
    log(f"{analysis.coverage(transfer).describe()} -> {snakemake.output.table}")


@job()
def aggregates(snakemake, log: Log) -> None:
    """Fig. 5's table: min / median / max fine-tuned accuracy per target, and from scratch."""
    transfer, scratch = _gathered(snakemake, "transfer", "scratch")
    table = analysis.aggregates(transfer, scratch)
    _write_labelled(table, snakemake, snakemake.output.table)
    log(
        f"{len(table)} targets, {analysis.coverage(transfer).describe()} -> "
        f"{snakemake.output.table}"
    )


@job()
def dtw_vs_random(snakemake, log: Log) -> None:
    """Fig. 6's table: the DTW-nearest source against random sources, per target."""
    table = analysis.dtw_vs_random(
        *_gathered(snakemake, "transfer", "neighbours"),
        draws=snakemake.params.draws,
        seed=snakemake.params.seed,
    )
    _write_labelled(table, snakemake, snakemake.output.table)
    s = analysis.dtw_summary(table)
    log(
        f"{s['n_targets']} targets: DTW wins / ties / losses {s['wins']} / {s['ties']} / "
        f"{s['losses']}, Wilcoxon p = {s['wilcoxon_p']:.3g} -> {snakemake.output.table}"
    )


@job()
def rank_curves(snakemake, log: Log) -> None:
    """Fig. 7-9's curves: accuracy against the source's DTW rank, per target."""
    table = analysis.rank_curves(
        *_gathered(snakemake, "transfer", "neighbours", "scratch"),
        smoothing=snakemake.params.smoothing,
    )
    _write_labelled(table, snakemake, snakemake.output.table)
    log(f"{table['target'].nunique()} targets, {len(table)} ranks -> {snakemake.output.table}")


@job()
def selection_methods(snakemake, log: Log) -> None:
    """Source-selection methods compared (DTW, transferability scores, random, oracle)."""
    from transfer_tsc.report import selection

    summary, targets = selection.selection_methods(
        *_gathered(snakemake, "transfer", "neighbours", "scores"),
        draws=snakemake.params.draws,
        seed=snakemake.params.seed,
    )
    _write_labelled(summary, snakemake, snakemake.output.table)
    _write_labelled(targets, snakemake, snakemake.output.targets)
    oracle = selection.method_row(summary, "oracle")
    log(
        f"{oracle['n_targets']} targets, {oracle['n_pairs']} pairs ({oracle['pairs_not_run']} not "
        f"run, {oracle['targets_left_out']} targets with < {selection.MIN_SOURCES} fine-tuned "
        f"sources left out) -> {snakemake.output.table}, {snakemake.output.targets}"
    )


@job()
def published_comparison(snakemake, log: Log) -> None:
    """This run's results against the paper's published ones, on the datasets both have."""
    from transfer_tsc.report import published

    ours = published.Results(*_gathered(snakemake, "scratch", "transfer", "neighbours"))
    table = published.comparison(
        ours,
        published.load(),
        allowed=snakemake.params.shared,
        draws=snakemake.params.draws,
        seed=snakemake.params.seed,
        note="the demo archive's datasets are generated, not the paper's"
        if snakemake.params.demo
        else "",
    )
    _write_labelled(table, snakemake, snakemake.output.table)
    shared = published.statistic(table, "datasets", "shared with the paper")
    log(
        f"{shared['n']} datasets shared with {published.SOURCE}: {shared['note']} -> "
        f"{snakemake.output.table}"
    )


@job()
def run_info(snakemake, log: Log) -> None:
    """The run's provenance: settings, coverage and software versions."""
    table = analysis.run_info(
        snakemake.params.config, _coverage(snakemake), analysis.software_versions()
    )
    write_csv(table, snakemake.output.table)
    log(f"{len(table)} rows -> {snakemake.output.table}")


# rules/analysis.smk: figures


@job()
def figure_accuracy_variation(snakemake, log: Log) -> None:
    """Fig. 4: the accuracy-variation heat map."""
    from transfer_tsc.report import figures

    variation = analysis.read_variation(snakemake.input.table)
    pairs = _coverage(snakemake).describe()
    figure = figures.variation_figure(variation, limit=snakemake.params.limit, pairs=pairs)
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    log(f"{variation.shape[0]} x {variation.shape[1]}, {pairs} -> {snakemake.output.png}")


@job()
def figure_aggregates(snakemake, log: Log) -> None:
    """Fig. 5: min / median / max fine-tuned accuracy against training from scratch."""
    from transfer_tsc.report import figures

    table = analysis.read_table(snakemake.input.table, analysis.AGGREGATE_COLUMNS)
    pairs = _coverage(snakemake).describe()
    figures.save(
        figures.aggregates_figure(table, pairs), snakemake.output.png, snakemake.output.svg
    )
    log(f"{len(table)} targets, {pairs} -> {snakemake.output.png}")


@job()
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
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    gains = figures.second_nn_gains(table, snakemake.params.second_nn_gain)
    log(f"{pairs}; 2nd NN dots: {', '.join(gains['target']) or 'none'} -> {snakemake.output.png}")


@job()
def figure_rank_curves(snakemake, log: Log) -> None:
    """Fig. 7-9: accuracy against DTW rank for the chosen targets."""
    from transfer_tsc.report import figures

    curves = analysis.read_table(snakemake.input.table, analysis.RANK_CURVE_COLUMNS)
    labels = analysis.name_labels(snakemake.params.names)
    requested = [labels.get(t, t) for t in snakemake.params.targets or []]
    targets = analysis.rank_curve_targets(requested, curves)
    figure = figures.rank_curves_figure(curves, targets, smoothing=snakemake.params.smoothing)
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    log(f"targets {', '.join(targets)} -> {snakemake.output.png}")


@job()
def figure_selection_methods(snakemake, log: Log) -> None:
    """The source-selection methods' regret and W/T/L against random."""
    from transfer_tsc.report import figures, selection

    summary = analysis.read_table(snakemake.input.table, selection.SUMMARY_COLUMNS)
    oracle = selection.method_row(summary, "oracle")
    pairs = (
        f"{int(oracle['n_targets'])} targets, {int(oracle['n_pairs'])} fine-tuned pairs "
        f"(pairs of these targets not run: {int(oracle['pairs_not_run'])})"
    )
    figure = figures.selection_methods_figure(summary, pairs=pairs)
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    log(f"{pairs} -> {snakemake.output.png}")


@job()
def figure_published_comparison(snakemake, log: Log) -> None:
    """This run's scratch accuracies against the published ones."""
    from transfer_tsc.report import figures, published

    table = analysis.read_table(snakemake.input.table, published.COMPARISON_COLUMNS)
    figure = figures.published_comparison_figure(table)
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    shared = published.statistic(table, "datasets", "shared with the paper")
    log(f"{shared['n']} datasets shared with the paper -> {snakemake.output.png}")


# rules/recommend.smk


@job()
def recommend_ranking(snakemake, log: Log) -> None:
    """Every study dataset ranked by DTW distance to the user's dataset."""
    from transfer_tsc.recommend import recommend
    from transfer_tsc.zoo import study_references

    dataset = _dataset(snakemake, snakemake.wildcards.name)
    names = [Path(path).stem for path in snakemake.input.prototypes]
    references = study_references(RESULTS, names)
    ranking = recommend(dataset, references, top=0, log=log)
    write_csv(ranking, snakemake.output.ranking)
    log(f"{len(ranking)} sources ranked -> {snakemake.output.ranking}")


@job(keras=True)
def recommend(snakemake, log: Log) -> None:
    """The top sources of the ranking (by DTW, or with params.score by that transferability
    score of every source's model, every score shown), fine-tuned on the user's dataset when
    asked."""
    from transfer_tsc import recommend as recommending
    from transfer_tsc.settings import job_recipe
    from transfer_tsc.training.engines import use_threads
    from transfer_tsc.zoo import study_references

    ranking = pd.read_csv(snakemake.input.ranking)
    score = snakemake.params.score
    if score != "dtw" or snakemake.params.finetune:
        use_threads(snakemake.threads)
        dataset = _dataset(snakemake, snakemake.wildcards.name)
        names = [Path(path).parent.name for path in snakemake.input.models]
        references = study_references(RESULTS, names)
    if score != "dtw":
        ranking = recommending.add_scores(dataset, ranking, references, log)
    ranking = recommending.order_by(ranking, score)
    table = ranking.head(snakemake.params.top)
    if snakemake.params.finetune:
        recipe = job_recipe(snakemake.params.recipe, snakemake.config)
        table = recommending.transfer_to(dataset, table, references, recipe, log)
    write_csv(table, snakemake.output.table)
    log("\n" + recommending.format_table(table) + "\n" + recommending.picks(ranking, score))


@job(keras=True)
def export_zoo(snakemake, log: Log) -> None:
    """The study's pre-trained models, metrics and prototypes as a model zoo."""
    from transfer_tsc import zoo

    config = snakemake.params.config
    files = snakemake.params.files
    study.read_all(snakemake.input.metrics, study.read_pretrain_metrics)  # no damaged one exported
    references = zoo.study_references(RESULTS, sorted(files))

    def describe(name: str) -> dict[str, object]:
        dataset = load_dataset_files(
            name, files[name]["train"], files[name]["test"], **config["data"]
        )
        return zoo.describe(dataset)

    manifest = zoo.export_zoo(references, snakemake.output.zoo, config, describe)
    log(
        f"{len(manifest['datasets'])} datasets, {len(manifest['files'])} files -> "
        f"{snakemake.output.zoo}"
    )


@job()
def zoo_archive(snakemake, log: Log) -> None:
    """The verified zoo folder as one .tar.gz."""
    from transfer_tsc import zoo

    manifest = zoo.pack(snakemake.input.zoo, snakemake.output.archive)
    log(f"{len(manifest['files'])} files verified -> {snakemake.output.archive}")
