from transfer_tsc import analysis
from transfer_tsc.io import write_csv
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    transfer = analysis.read_transfer(snakemake.input.transfer)
    scratch = analysis.read_scratch(snakemake.input.scratch)
    variation = analysis.accuracy_variation(transfer, scratch)
    labels = analysis.name_labels(snakemake.params.names)
    write_csv(analysis.relabel(variation, labels), snakemake.output.table, index=True)
    log(f"{analysis.coverage(transfer).describe()} -> {snakemake.output.table}")
