from transfer_tsc import analysis
from transfer_tsc.io import write_csv
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    transfer = analysis.read_transfer(snakemake.input.transfer)
    scratch = analysis.read_scratch(snakemake.input.scratch)
    table = analysis.aggregates(transfer, scratch)
    labels = analysis.name_labels(snakemake.params.names)
    write_csv(analysis.relabel(table, labels), snakemake.output.table)
    log(f"{len(table)} targets, {analysis.coverage(transfer).describe()} -> {snakemake.output.table}")
