"""A tiny model zoo for the Python API's tests, made once per session without Snakemake: the
package's own pre-training (``transfer.pretrain``, 2 epochs), prototypes
(``prototypes.class_prototypes``) and export (``zoo.export_zoo``) on three small datasets of the
shared UCR subset, laid out as a study's ``results`` folder."""

from __future__ import annotations

from pathlib import Path

import pytest

SOURCES = ["Chinatown", "Coffee", "ItalyPowerDemand"]
EPOCHS = 2


def make_study(results: Path, ucr_root: Path) -> dict:
    """Pre-trained FCNs (``EPOCHS`` epochs), their metrics and the class prototypes of
    ``SOURCES`` under ``results`` as a study writes them; the study's config."""
    from transfer_tsc import settings
    from transfer_tsc.data import load_dataset
    from transfer_tsc.similarity.prototypes import class_prototypes, write_prototypes
    from transfer_tsc.training.backend import import_keras_quietly
    from transfer_tsc.training.transfer import pretrain, write_outcome

    import_keras_quietly()
    config = settings.validate(
        {
            "ucr_root": str(ucr_root),
            "datasets": SOURCES,
            "pretrain": {"epochs": EPOCHS},
            "finetune": {"epochs": EPOCHS},
        }
    )
    recipe = settings.recipe(config, "pretrain")
    dtw = config["dtw"]
    for name in SOURCES:
        dataset = load_dataset(ucr_root, name, **config["data"])
        model, outcome = pretrain(dataset, recipe, log=lambda line: None)
        folder = results / "fcn" / "pretrain" / name
        write_outcome(
            model,
            outcome,
            str(folder / "model.h5"),
            str(folder / "metrics.csv"),
            str(folder / "history.csv"),
            dataset=name,
        )
        found = class_prototypes(
            name,
            dataset.series("train"),
            dataset.y_train,
            dataset.classes,
            window=dtw["window"],
            iterations=dtw["dba_iterations"],
        )
        write_prototypes(results / "prototypes" / f"{name}.h5", found, **config["data"])
    return config


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory, ucr_root) -> tuple[Path, dict]:
    """A study's ``results`` folder of the three sources, and its config."""
    results = tmp_path_factory.mktemp("study") / "results"
    return results, make_study(results, ucr_root)


@pytest.fixture(scope="session")
def tiny_zoo(tiny_study, tmp_path_factory, ucr_root) -> Path:
    """The tiny study exported as a checksummed zoo archive (``transfer-tsc export-zoo``)."""
    from transfer_tsc import zoo
    from transfer_tsc.data import load_dataset

    results, config = tiny_study
    references = zoo.study_references(results)
    out = tmp_path_factory.mktemp("zoo") / "zoo.tar.gz"
    describe = zoo.describer(lambda name: load_dataset(ucr_root, name, **config["data"]))
    zoo.export_zoo(references, out, config, describe)
    return out
