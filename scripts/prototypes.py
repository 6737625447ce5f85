"""Rule prototypes: one medoid-initialised DBA prototype per class of a dataset's train split."""

import os

# dtaidistance's OpenMP reads this when its library loads: one thread per core the rule holds.
os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)

from transfer_tsc import dtw, prototypes  # noqa: E402
from transfer_tsc.data import load_dataset_files  # noqa: E402
from transfer_tsc.workflow import rule_script  # noqa: E402

with rule_script(snakemake, keep_finished=True) as log:
    window = snakemake.params.window
    dtw.self_check(window)
    name = snakemake.wildcards.dataset
    dataset = load_dataset_files(
        name, snakemake.input.train, snakemake.input.test, **snakemake.params.data
    )
    log(
        f"{name}: {len(dataset.y_train)} train series, {dataset.n_classes} classes, "
        f"window {dtw.window_text(window)}, {snakemake.params.iterations} DBA iterations, "
        f"{snakemake.threads} threads"
    )
    result = prototypes.class_prototypes(
        name,
        dataset.series("train"),
        dataset.y_train,
        dataset.classes,
        window=window,
        iterations=snakemake.params.iterations,
        log=log,
    )
    prototypes.write_prototypes(
        snakemake.output[0],
        result,
        **snakemake.params.data,
    )
    log(f"{name}: {len(result.prototypes)} prototypes -> {snakemake.output[0]}")
