"""Rule transferability_scores: the targets' score tables in one."""

import pandas as pd

from transfer_tsc.io import write_csv
from transfer_tsc.transferability import TABLE_COLUMNS
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    tables = [pd.read_csv(path) for path in snakemake.input]
    table = pd.concat(tables, ignore_index=True)[list(TABLE_COLUMNS)]
    write_csv(table, snakemake.output.table)
    log(f"{len(table)} pairs of {len(tables)} targets -> {snakemake.output.table}")
