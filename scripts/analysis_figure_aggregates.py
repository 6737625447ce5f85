from transfer_tsc import analysis, figures
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    table = analysis.read_table(snakemake.input.table, analysis.AGGREGATE_COLUMNS)
    pairs = analysis.coverage(analysis.read_transfer(snakemake.input.transfer)).describe()
    figures.save(figures.aggregates_figure(table, pairs), snakemake.output.png, snakemake.output.svg)
    log(f"{len(table)} targets, {pairs} -> {snakemake.output.png}")
