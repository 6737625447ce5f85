from transfer_tsc.workflow import select_backend

select_backend(snakemake.config)  # KERAS_BACKEND, before Keras is imported

from transfer_tsc.data import load_dataset_files
from transfer_tsc.engines import backend, use_threads
from transfer_tsc.recipe import Recipe
from transfer_tsc.transfer import pretrain, write_outcome
from transfer_tsc.workflow import rule_script

with rule_script(snakemake, keep_finished=True) as log:
    log(f"Keras backend: {backend()}")
    use_threads(snakemake.threads)
    name = snakemake.wildcards.dataset
    dataset = load_dataset_files(
        name, snakemake.input.train, snakemake.input.test, **snakemake.params.data
    )
    recipe = Recipe(**snakemake.params.recipe)
    model, outcome = pretrain(dataset, recipe, snakemake.params.checkpoint, log)
    write_outcome(
        model,
        outcome,
        snakemake.output.model,
        snakemake.output.metrics,
        snakemake.output.history,
        dataset=name,
    )
    log(f"{name}: test accuracy {outcome.test_accuracy:.4f}")
