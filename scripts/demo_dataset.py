from pathlib import Path

from transfer_tsc.demo import write_demo_dataset
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    root = Path(snakemake.output.train).parents[1]
    write_demo_dataset(root, snakemake.wildcards.dataset, snakemake.params.seed)
    log(f"wrote {snakemake.output.train} and {snakemake.output.test}")
