from transfer_tsc import analysis, figures
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    variation = analysis.read_variation(snakemake.input.table)
    pairs = analysis.coverage(analysis.read_transfer(snakemake.input.transfer)).describe()
    figure = figures.variation_figure(variation, limit=snakemake.params.limit, pairs=pairs)
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    log(f"{variation.shape[0]} x {variation.shape[1]}, {pairs} -> {snakemake.output.png}")
