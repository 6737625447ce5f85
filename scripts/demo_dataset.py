from transfer_tsc.demo import write_demo_dataset
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    write_demo_dataset(snakemake.params.root, snakemake.wildcards.dataset, snakemake.params.seed)
    log(f"wrote {snakemake.output.train} and {snakemake.output.test}")
