"""Rule dtw_distance: the dataset x dataset matrix (min squared DTW over prototype pairs),
computing only the pairs its cache does not hold."""

import os

os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)

from transfer_tsc import dtw, similarity  # noqa: E402
from transfer_tsc.workflow import rule_script  # noqa: E402

with rule_script(snakemake) as log:
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
    similarity.write_matrix(
        matrix,
        snakemake.output.matrix,
        snakemake.output.settings,
        sets,
        window,
        computed=len(new),
    )
    log(f"-> {snakemake.output.matrix}")
