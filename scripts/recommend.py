"""Rule recommend: the top sources of the ranking, fine-tuned on the user's dataset when asked."""

from pathlib import Path

import pandas as pd

from transfer_tsc import recommend
from transfer_tsc.data import load_dataset_files
from transfer_tsc.io import write_csv
from transfer_tsc.training import Recipe, use_threads
from transfer_tsc.workflow import rule_script
from transfer_tsc.zoo import Reference

with rule_script(snakemake) as log:
    table = pd.read_csv(snakemake.input.ranking).head(snakemake.params.top)
    if snakemake.params.finetune:
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
        recipe = Recipe(**snakemake.params.recipe)
        table = recommend.transfer_to(dataset, table, references, recipe, log)
    write_csv(table, snakemake.output.table)
    log("\n" + recommend.format_table(table))
