from transfer_tsc import analysis, study
from transfer_tsc.errors import InputError
from transfer_tsc.io import write_csv
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
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
