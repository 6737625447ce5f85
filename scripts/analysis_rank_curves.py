from transfer_tsc import analysis
from transfer_tsc.io import write_csv
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    table = analysis.rank_curves(
        analysis.read_transfer(snakemake.input.transfer),
        analysis.read_neighbours(snakemake.input.neighbours),
        analysis.read_scratch(snakemake.input.scratch),
        smoothing=snakemake.params.smoothing,
    )
    labels = analysis.name_labels(snakemake.params.names)
    write_csv(analysis.relabel(table, labels), snakemake.output.table)
    log(f"{table['target'].nunique()} targets, {len(table)} ranks -> {snakemake.output.table}")
