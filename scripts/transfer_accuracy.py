import pandas as pd

from transfer_tsc.io import write_csv
from transfer_tsc.study import transfer_matrix
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    matrix = transfer_matrix(
        (pd.read_csv(path) for path in snakemake.input), snakemake.params.datasets
    )
    write_csv(matrix, snakemake.output[0], index=True)
    log(f"{int(matrix.notna().sum().sum())} pairs -> {snakemake.output[0]}")
