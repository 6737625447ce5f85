from transfer_tsc.workflow import select_backend

select_backend(snakemake.config)  # KERAS_BACKEND, before Keras is imported

from transfer_tsc.data import load_dataset_files
from transfer_tsc.engines import backend, use_threads
from transfer_tsc.recipe import Recipe
from transfer_tsc.transfer import finetune, write_batch, write_pair
from transfer_tsc.workflow import rule_script

with rule_script(snakemake, keep_finished=True) as log:
    log(f"Keras backend: {backend()}")
    use_threads(snakemake.threads)
    target = load_dataset_files(
        snakemake.wildcards.target,
        snakemake.input.train,
        snakemake.input.test,
        **snakemake.params.data,
    )
    sources = dict(zip(snakemake.params.sources, snakemake.input.sources))
    recipe = Recipe(**snakemake.params.recipe)
    outcomes = finetune(sources, target, recipe, snakemake.params.checkpoint, log)
    output = dict(snakemake.output.items())
    if "batch" in output:  # finetune_batch: the batch's folder
        write_batch(outcomes, target.name, output["batch"], snakemake.params.save_models)
    else:  # finetune: the one pair's files
        write_pair(outcomes, target.name, output)
    for source, (_, outcome) in outcomes.items():
        log(f"{source} -> {target.name}: test accuracy {outcome.test_accuracy:.4f}")
