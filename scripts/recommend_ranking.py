"""Rule recommend_ranking: every study dataset ranked by DTW distance to the user's dataset."""

import os

# dtaidistance's OpenMP reads this when its library loads: one thread per core the rule holds.
os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)

from pathlib import Path  # noqa: E402

from transfer_tsc import recommend  # noqa: E402
from transfer_tsc.data import load_dataset_files  # noqa: E402
from transfer_tsc.io import write_csv  # noqa: E402
from transfer_tsc.workflow import rule_script  # noqa: E402
from transfer_tsc.zoo import Reference  # noqa: E402

with rule_script(snakemake) as log:
    dataset = load_dataset_files(
        snakemake.wildcards.name,
        snakemake.input.train,
        snakemake.input.test,
        **snakemake.params.data,
    )
    references = [
        Reference(Path(path).stem, Path(path), None, None)
        for path in snakemake.input.prototypes
    ]
    ranking = recommend.recommend(dataset, references, top=0, log=log)
    write_csv(ranking, snakemake.output.ranking)
    log(f"{len(ranking)} sources ranked -> {snakemake.output.ranking}")
