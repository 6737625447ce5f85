"""Rule transferability: every transferability score of every pre-trained source for one
target, from one forward pass of the target's train split (never its test split)."""

from transfer_tsc.workflow import select_backend

select_backend(snakemake.config)  # KERAS_BACKEND, before Keras is imported

from transfer_tsc.data import load_dataset_files
from transfer_tsc.io import write_csv
from transfer_tsc.engines import use_threads
from transfer_tsc.transfer import score_sources
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    use_threads(snakemake.threads)
    name = snakemake.wildcards.target
    target = load_dataset_files(name, snakemake.input.train, None, **snakemake.params.data)
    models = dict(zip(snakemake.params.sources, snakemake.input.models))
    table = score_sources(target, models, log)
    write_csv(table, snakemake.output.table)
    log(
        f"{name}: {len(table)} sources scored in {table['seconds'].sum():.1f} s "
        f"({table['seconds'].mean():.2f} s a pair) -> {snakemake.output.table}"
    )
