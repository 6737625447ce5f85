"""The paper's two experiments (section IV-B): pre-training a network (the paper's FCN, or any
of ``networks.NETWORKS``) on a source dataset (its test accuracy is the "from scratch" baseline)
and fine-tuning pre-trained sources of the same network on a target.

Fine-tuning (section III-B): the source's softmax is replaced by a new Glorot-uniform softmax
for the target's classes and the whole network is re-trained on the target's train set with
the same recipe, then evaluated on the target's test set.

Scoring sources without fine-tuning (beyond the paper): one forward pass of the target's train
set through each source model, in inference mode, gives its softmax outputs over the source's
classes and its global-average-pooling features; ``transferability`` turns them into scores.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transfer_tsc.data import Dataset
from transfer_tsc.errors import InputError
from transfer_tsc.io import atomic_path, write_csv
from transfer_tsc.networks import (
    FEATURES,
    HEAD,
    NETWORKS,
    PAPER_NETWORK,
    NetworkSpec,
    network,
    with_new_head,
)
from transfer_tsc.training.loop import TrainResult, evaluate, predict, train_together
from transfer_tsc.training.recipe import Recipe
from transfer_tsc.transferability import TABLE_COLUMNS, scores

MODEL_FILE = "model.h5"
METRICS_FILE = "metrics.csv"
HISTORY_FILE = "history.csv"
NETWORK: NetworkSpec = network(PAPER_NETWORK)


@dataclass(frozen=True)
class Outcome:
    """A trained model's evaluation and training record."""

    test_accuracy: float
    test_loss: float
    train: TrainResult

    @classmethod
    def evaluated(
        cls, model, x_test: np.ndarray, y_test: np.ndarray, train: TrainResult
    ) -> Outcome:
        """The outcome of ``model``, trained as ``train`` says, on the test set (x_test, y_test)."""
        scores = evaluate(model, x_test, y_test)
        return cls(scores["accuracy"], scores["loss"], train)

    def metrics(self, **identity: str) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    **identity,
                    "test_accuracy": self.test_accuracy,
                    "test_loss": self.test_loss,
                    "train_loss": self.train.best_loss,
                    "epochs": self.train.epochs,
                    "best_epoch": self.train.best_epoch,
                    "train_seconds": round(self.train.train_seconds, 3),
                }
            ]
        )


# The UCR archive's shortest series (SmoothSubspace, 2018): the published ResNet and Inception
# results include it, though their receptive fields (40 and 235 time steps) are longer.
SHORTEST_UCR_LENGTH = 15


def min_length(spec: NetworkSpec) -> int:
    """The shortest series the network ``spec`` trains on: its receptive field, or the archive's
    shortest series where the field is longer (every network pads 'same')."""
    return min(spec.receptive_field, SHORTEST_UCR_LENGTH)


def check_trainable(dataset: Dataset, spec: NetworkSpec = NETWORK) -> None:
    """Refuse series shorter than ``min_length(spec)``."""
    if dataset.length >= min_length(spec):
        return
    if min_length(spec) == spec.receptive_field:
        raise InputError(
            f"dataset '{dataset.name}': series of length {dataset.length} are shorter than the "
            f"{spec.title}'s receptive field ({spec.receptive_field} time steps)"
        )
    raise InputError(
        f"dataset '{dataset.name}': series of length {dataset.length} are shorter than "
        f"{min_length(spec)} time steps, the shortest the {spec.title} trains on (the UCR "
        "archive's shortest series)"
    )


def save_model(model, path: str | os.PathLike) -> None:
    """Save a Keras model as HDF5, atomically. HDF5 is the project's format (the paper's code
    and its released models use it), so Keras' "HDF5 file format is considered legacy" notice,
    logged through absl on every save, is held back."""
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        with atomic_path(path) as tmp:
            model.save(tmp)
    finally:
        absl.setLevel(level)


def load_model(path: str | os.PathLike, spec: NetworkSpec | None = NETWORK):
    """Load a saved network of ``spec`` (None: of any registered network), or raise InputError
    naming the file: also when the model lacks the contract's feature and head layers
    (``networks.FEATURES``, ``networks.HEAD``), is not one of the registered networks (the
    builders name a model after its spec), or is another network than ``spec`` (a ResNet
    source for an FCN study)."""
    import keras

    if not Path(path).is_file():
        raise InputError(f"{path}: model file not found")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # h5py, Keras and TF raise many kinds here
        reason = " ".join(str(error).split())
        raise InputError(
            f"{path}: not a readable Keras model (corrupt or truncated?): {reason}"
        ) from None
    names = {layer.name for layer in model.layers}
    if not {FEATURES, HEAD} <= names:
        raise InputError(
            f"{path}: a Keras model but not one of this package's networks (no '{FEATURES}' and "
            f"'{HEAD}' layers)"
        )
    if model.name not in NETWORKS:
        raise InputError(
            f"{path}: a Keras model named {model.name!r}, not one of the registered networks "
            f"({', '.join(NETWORKS)})"
        )
    if spec is not None and model.name != spec.name:
        raise InputError(
            f"{path}: a {NETWORKS[model.name].title} model, but this study's network is the "
            f"{spec.title} ({spec.name}); a source must be of the target's network"
        )
    return model


def _seed_everything(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


def _train_and_evaluate(
    models: list,
    dataset: Dataset,
    recipe: Recipe,
    checkpoint: str | Path | None,
    log: Callable[[str], None],
    label: str,
) -> list[Outcome]:
    """Train ``models`` together on ``dataset``'s train set (``train_together``), then evaluate
    each on its test set; one outcome per model, in order."""
    results = train_together(
        models,
        dataset.network_input("train"),
        dataset.y_train,
        dataset.n_classes,
        recipe,
        checkpoint=checkpoint,
        log=log,
        label=label,
    )
    x_test = dataset.network_input("test")
    return [
        Outcome.evaluated(model, x_test, dataset.y_test, result)
        for model, result in zip(models, results)
    ]


def pretrain(
    dataset: Dataset,
    recipe: Recipe,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
    spec: NetworkSpec = NETWORK,
) -> tuple[object, Outcome]:
    """Train the network ``spec`` from scratch on the train set, evaluate it on the test set."""
    check_trainable(dataset, spec)
    _seed_everything(recipe.seed)
    model = spec.build(dataset.n_classes, seed=recipe.seed)
    (outcome,) = _train_and_evaluate(
        [model], dataset, recipe, checkpoint, log, f"[pretrain {dataset.name}] "
    )
    return model, outcome


def finetune(
    source_models: dict[str, str | os.PathLike],
    target: Dataset,
    recipe: Recipe,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
    spec: NetworkSpec = NETWORK,
) -> dict[str, tuple[object, Outcome]]:
    """Fine-tune every source model (each a ``spec`` network) on ``target`` together; one
    outcome per source name.

    Every source gets a new head drawn from the same seed, so a pair's result does not depend
    on which other sources share its batch.
    """
    check_trainable(target, spec)
    _seed_everything(recipe.seed)
    models = {}
    for name, path in source_models.items():
        models[name] = with_new_head(load_model(path, spec), target.n_classes, seed=recipe.seed)
    outcomes = _train_and_evaluate(
        list(models.values()),
        target,
        recipe,
        checkpoint,
        log,
        f"[finetune {'+'.join(models) if len(models) <= 3 else f'{len(models)} sources'} -> "
        f"{target.name}] ",
    )
    return {name: (model, outcome) for (name, model), outcome in zip(models.items(), outcomes)}


def write_outcome(
    model,
    outcome: Outcome,
    model_path: str | None,
    metrics_path: str,
    history_path: str,
    **identity: str,
) -> None:
    """Write a model's HDF5 (when a path is given), metrics and history files."""
    if model_path:
        save_model(model, model_path)
    write_csv(outcome.train.history, history_path)
    write_csv(outcome.metrics(**identity), metrics_path)


def write_pair(
    outcomes: dict[str, tuple[object, Outcome]],
    target: str,
    outputs,
) -> None:
    """Write the one fine-tuned pair of ``outcomes`` to ``outputs`` (``metrics``, ``history`` and,
    when named, ``model``), each file atomically."""
    ((source, (model, outcome)),) = outcomes.items()
    write_outcome(
        model,
        outcome,
        outputs.get("model"),
        outputs["metrics"],
        outputs["history"],
        source=source,
        target=target,
    )


def write_batch(
    outcomes: dict[str, tuple[object, Outcome]],
    target: str,
    folder: str | os.PathLike,
    save_models: bool,
) -> None:
    """Write a fine-tuning batch as ``folder/<source>/{metrics,history}.csv`` (and model.h5),
    assembled under a temporary name and renamed into place whole."""
    import shutil
    import tempfile

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for source, (model, outcome) in outcomes.items():
            write_outcome(
                model,
                outcome,
                str(staging / source / MODEL_FILE) if save_models else None,
                str(staging / source / METRICS_FILE),
                str(staging / source / HISTORY_FILE),
                source=source,
                target=target,
            )
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def source_outputs(model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The source model's head outputs (n x its classes) and feature-layer outputs (n x the
    spec's ``features``, 128 for the FCN) for the series ``x`` (n, length, 1), in float64, by
    ``loop.predict`` (inference mode, batches sized to the length)."""
    import keras

    both = keras.Model(
        model.inputs[0], [model.get_layer(HEAD).output, model.get_layer(FEATURES).output]
    )
    probabilities, features = predict(both, x)
    return probabilities.astype(np.float64), features.astype(np.float64)


def score_sources(
    target: Dataset,
    models: Mapping[str, str | os.PathLike],
    log: Callable[[str], None] = print,
    spec: NetworkSpec = NETWORK,
) -> pd.DataFrame:
    """Every transferability score of each source model (name -> model file) for ``target``,
    from its train split only: ``transferability.TABLE_COLUMNS``, one row per source; ``seconds`` is
    the pair's forward pass and scores."""
    x, y = target.network_input("train"), target.y_train
    rows = []
    for source, path in models.items():
        model = load_model(path, spec)
        start = time.perf_counter()
        probabilities, features = source_outputs(model, x)
        values = scores(probabilities, features, y)
        seconds = time.perf_counter() - start
        rows.append({"target": target.name, "source": source, **values, "seconds": seconds})
        log(
            f"{source} -> {target.name}: "
            + ", ".join(f"{k} {v:.4g}" for k, v in values.items())
            + f" ({seconds:.2f} s)"
        )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
