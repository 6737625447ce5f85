"""Rule recommend: the top sources of the ranking (by DTW, or with params.score by that
transferability score of every source's model, every score shown), fine-tuned on the user's
dataset when asked."""

from pathlib import Path

import pandas as pd

from transfer_tsc import recommend
from transfer_tsc.data import load_dataset_files
from transfer_tsc.io import write_csv
from transfer_tsc.engines import use_threads
from transfer_tsc.recipe import Recipe
from transfer_tsc.workflow import rule_script
from transfer_tsc.zoo import Reference

with rule_script(snakemake) as log:
    ranking = pd.read_csv(snakemake.input.ranking)
    score = snakemake.params.score
    if score != "dtw" or snakemake.params.finetune:
        use_threads(snakemake.threads)
        dataset = load_dataset_files(
            snakemake.wildcards.name,
            snakemake.input.train,
            snakemake.input.test,
            **snakemake.params.data,
        )
        references = [
            Reference(Path(path).parent.name, None, Path(path), None)
            for path in snakemake.input.models
        ]
    if score != "dtw":
        ranking = recommend.add_scores(dataset, ranking, references, log)
    ranking = recommend.order_by(ranking, score)
    table = ranking.head(snakemake.params.top)
    if snakemake.params.finetune:
        recipe = Recipe(**snakemake.params.recipe)
        table = recommend.transfer_to(dataset, table, references, recipe, log)
    write_csv(table, snakemake.output.table)
    log("\n" + recommend.format_table(table) + "\n" + recommend.picks(ranking, score))
