"""Rule export_zoo: the study's pre-trained models, metrics and prototypes as a model zoo."""

from transfer_tsc import zoo
from transfer_tsc.data import load_dataset_files
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    config = snakemake.params.config
    files = snakemake.params.files
    references = zoo.study_references("results", sorted(files))

    def describe(name):
        dataset = load_dataset_files(
            name, files[name]["train"], files[name]["test"], **config["data"]
        )
        return zoo.describe(dataset)

    manifest = zoo.export_zoo(references, snakemake.output.zoo, config, describe)
    log(
        f"{len(manifest['datasets'])} datasets, {len(manifest['files'])} files -> "
        f"{snakemake.output.zoo}"
    )
