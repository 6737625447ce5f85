"""The jobs of rules/similarity.smk: class prototypes, the DTW distance matrix and every
target's nearest sources (Algorithm 1)."""

from __future__ import annotations

from transfer_tsc.console import Log
from transfer_tsc.workflow.jobs.registry import input_dataset, job


@job("prototypes", keep_finished=True)
def prototypes(snakemake, log: Log) -> None:
    """One medoid-initialised DBA prototype per class of a dataset's train split (Algorithm 1)."""
    from transfer_tsc.similarity.dtw import self_check, window_text
    from transfer_tsc.similarity.prototypes import class_prototypes, write_prototypes

    window = snakemake.params.window
    self_check(window)
    name = snakemake.wildcards.dataset
    dataset = input_dataset(snakemake, name)
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


@job("dtw_distance")
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


@job("dtw_neighbours")
def dtw_neighbours(snakemake, log: Log) -> None:
    """Every target's sources ranked nearest first (target, rank, source, distance)."""
    from transfer_tsc.similarity import distances as similarity

    matrix = similarity.read_matrix(snakemake.input.matrix)
    table = similarity.neighbours(matrix)
    output = snakemake.output
    similarity.write_neighbours(table, output.neighbours, output.settings, snakemake.input.settings)
    log(f"{len(matrix)} targets, {len(table)} ranked sources -> {output.neighbours}")
