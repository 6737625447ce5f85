import pandas as pd

from transfer_tsc.io import write_csv
from transfer_tsc.study import scratch_table
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    table = scratch_table(pd.read_csv(path) for path in snakemake.input)
    write_csv(table, snakemake.output[0])
    log(f"{len(table)} datasets -> {snakemake.output[0]}")
