"""The jobs of rules/recommend.smk: the study's datasets ranked for a user's dataset (and the top
ones fine-tuned on it), and the study's models and prototypes as a model zoo.

The study's files a job uses are its rule's inputs, named by kind (``prototypes``, ``models``,
``metrics``); each dataset's name is read from its path as the rules write it
(``results/prototypes/<Name>.h5``, ``results/<network>/pretrain/<Name>/model.h5`` and
``metrics.csv``, run 1's ``<Name>/run1/`` with config runs above 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from transfer_tsc import study
from transfer_tsc.console import Log
from transfer_tsc.data import Dataset, load_dataset_files
from transfer_tsc.io import write_csv
from transfer_tsc.workflow.jobs.registry import input_dataset, job
from transfer_tsc.zoo import Reference


def _references(
    prototypes: Sequence[str] = (), models: Sequence[str] = (), metrics: Sequence[str] = ()
) -> list[Reference]:
    """The datasets of a job's study files, in the order they first appear."""
    found: dict[str, dict[str, Path]] = {}
    for kind, paths in (("prototypes", prototypes), ("model", models), ("metrics", metrics)):
        for path in map(Path, paths):
            name = path.stem if kind == "prototypes" else study.pretrained_dataset(path)
            found.setdefault(name, {})[kind] = path
    return [
        Reference(name, files.get("prototypes"), files.get("model"), files.get("metrics"))
        for name, files in found.items()
    ]


@job("recommend_ranking")
def recommend_ranking(snakemake, log: Log) -> None:
    """Every study dataset ranked by DTW distance to the user's dataset."""
    from transfer_tsc.recommend import recommend

    dataset = input_dataset(snakemake, snakemake.wildcards.name)
    references = _references(prototypes=snakemake.input.prototypes)
    ranking = recommend(dataset, references, top=0, log=log)
    write_csv(ranking, snakemake.output.ranking)
    log(f"{len(ranking)} sources ranked -> {snakemake.output.ranking}")


@job("recommend", backend=True)
def recommend(snakemake, log: Log) -> None:
    """The top sources of the ranking (by DTW, or with params.score by that transferability
    score of every source's model, every score shown), fine-tuned on the user's dataset when
    asked."""
    from transfer_tsc import recommend as recommending
    from transfer_tsc.settings import job_recipe
    from transfer_tsc.training.engines import use_threads

    ranking = pd.read_csv(snakemake.input.ranking)
    score, finetune = snakemake.params.score, snakemake.params.finetune
    dataset, references = None, []
    if score != "dtw" or finetune:
        use_threads(snakemake.threads)
        dataset = input_dataset(snakemake, snakemake.wildcards.name)
        references = _references(models=snakemake.input.models)
    recipe = job_recipe(snakemake.params.recipe, snakemake.config) if finetune else None
    ranking, table = recommending.recommendation(
        dataset,
        ranking,
        references,
        score,
        snakemake.params.top,
        scores=score != "dtw",
        recipe=recipe,
        log=log,
        network_name=snakemake.wildcards.network,
    )
    write_csv(table, snakemake.output.table)
    log("\n" + recommending.format_table(table) + "\n" + recommending.picks(ranking, score))


@job("export_zoo", backend=True)
def export_zoo(snakemake, log: Log) -> None:
    """The study's pre-trained models, metrics and prototypes as a model zoo."""
    from transfer_tsc import zoo
    from transfer_tsc.zoo import describer as zoo_describer

    config = snakemake.params.config
    files = snakemake.params.files
    study.read_all(snakemake.input.metrics, study.read_pretrain_metrics)  # no damaged one exported
    references = _references(
        snakemake.input.prototypes, snakemake.input.models, snakemake.input.metrics
    )

    def load(name: str) -> Dataset:
        return load_dataset_files(name, files[name]["train"], files[name]["test"], **config["data"])

    manifest = zoo.export_zoo(
        references,
        snakemake.output.zoo,
        config,
        zoo_describer(load),
        network=snakemake.wildcards.network,
    )
    log(
        f"{len(manifest['datasets'])} datasets, {len(manifest['files'])} files -> "
        f"{snakemake.output.zoo}"
    )


@job("zoo_archive")
def zoo_archive(snakemake, log: Log) -> None:
    """The verified zoo folder as one .tar.gz."""
    from transfer_tsc import zoo

    manifest = zoo.pack(snakemake.input.zoo, snakemake.output.archive)
    log(f"{len(manifest['files'])} files verified -> {snakemake.output.archive}")
