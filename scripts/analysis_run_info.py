from transfer_tsc import analysis
from transfer_tsc.io import write_csv
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    covered = analysis.coverage(analysis.read_transfer(snakemake.input.transfer))
    table = analysis.run_info(snakemake.params.config, covered, analysis.software_versions())
    write_csv(table, snakemake.output.table)
    log(f"{len(table)} rows -> {snakemake.output.table}")
