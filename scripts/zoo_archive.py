"""Rule zoo_archive: the verified zoo folder as one .tar.gz."""

from transfer_tsc import zoo
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    manifest = zoo.pack(snakemake.input.zoo, snakemake.output.archive)
    log(f"{len(manifest['files'])} files verified -> {snakemake.output.archive}")
