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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transfer_tsc.data import Dataset
from transfer_tsc.errors import InputError
from transfer_tsc.io import atomic_folder, atomic_path, write_csv
from transfer_tsc.networks import (
    FEATURES,
    HEAD,
    NETWORKS,
    PAPER_NETWORK,
    NetworkSpec,
    network,
    with_new_head,
)
from transfer_tsc.study import PROBABILITIES_FILE, TRUE_CLASS
from transfer_tsc.training.loop import TrainResult, evaluate, predict, train_together
from transfer_tsc.training.recipe import Recipe
from transfer_tsc.transferability import TABLE_COLUMNS, scores

MODEL_FILE = "model.h5"
METRICS_FILE = "metrics.csv"
HISTORY_FILE = "history.csv"


def run_folder(folder: str | os.PathLike, run: int, runs: int) -> str:
    """The folder of run ``run`` (1-based) of ``runs``: ``folder`` itself for a single run (the
    paths of a study without repeated runs), else ``folder/run<run>``."""
    return str(folder) if runs == 1 else f"{folder}/run{run}"


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
    seeds: Sequence[int],
) -> list[Outcome]:
    """Train ``models`` together on ``dataset``'s train set (``train_together``, model k
    shuffling with ``seeds[k]``), then evaluate each on its test set; one outcome per model, in
    order."""
    results = train_together(
        models,
        dataset.network_input("train"),
        dataset.y_train,
        dataset.n_classes,
        recipe,
        checkpoint=checkpoint,
        log=log,
        label=label,
        seeds=seeds,
    )
    x_test = dataset.network_input("test")
    return [
        Outcome.evaluated(model, x_test, dataset.y_test, result)
        for model, result in zip(models, results)
    ]


def run_seeds(seed: int, runs: int) -> list[int]:
    """The seeds of ``runs`` repeated runs (config ``runs``): run r (1-based) has
    ``seed + r - 1`` for its initial weights, its new head and its shuffle."""
    if runs < 1:
        raise ValueError(f"runs: {runs}; at least 1")
    return [seed + r for r in range(runs)]


def pretrain_runs(
    dataset: Dataset,
    recipe: Recipe,
    seeds: Sequence[int],
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
    spec: NetworkSpec = NETWORK,
) -> list[tuple[object, Outcome]]:
    """Train one network ``spec`` per seed of ``seeds`` from scratch on the train set together
    (each with its seed's initial weights and shuffle, as if alone: ``train_together``), and
    evaluate each on the test set; one (model, outcome) per seed, in order."""
    check_trainable(dataset, spec)
    _seed_everything(seeds[0])
    models = [spec.build(dataset.n_classes, seed=seed) for seed in seeds]
    outcomes = _train_and_evaluate(
        models, dataset, recipe, checkpoint, log, f"[pretrain {dataset.name}] ", seeds
    )
    return list(zip(models, outcomes))


def pretrain(
    dataset: Dataset,
    recipe: Recipe,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
    spec: NetworkSpec = NETWORK,
) -> tuple[object, Outcome]:
    """Train the network ``spec`` from scratch on the train set, evaluate it on the test set."""
    ((model, outcome),) = pretrain_runs(dataset, recipe, [recipe.seed], checkpoint, log, spec)
    return model, outcome


def finetune_runs(
    source_models: Mapping[str, Sequence[str | os.PathLike]],
    target: Dataset,
    recipe: Recipe,
    seeds: Sequence[int],
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
    spec: NetworkSpec = NETWORK,
) -> dict[str, list[tuple[object, Outcome]]]:
    """Fine-tune every source's runs (name -> one model file per seed of ``seeds``, run r's
    from the source's pre-training run r) on ``target`` together: run r gets a new head drawn
    from ``seeds[r]`` and shuffles with it. One list of (model, outcome) per source, by run.

    A source's run gets its head from its run's seed whatever the other sources of its batch,
    so a pair's result does not depend on which other sources share its batch.
    """
    check_trainable(target, spec)
    _seed_everything(seeds[0])
    models, model_seeds = {}, []
    for name, paths in source_models.items():
        if len(paths) != len(seeds):
            raise ValueError(f"{name}: {len(paths)} models for {len(seeds)} runs")
        for run, (path, seed) in enumerate(zip(paths, seeds)):
            models[name, run] = with_new_head(load_model(path, spec), target.n_classes, seed=seed)
            model_seeds.append(seed)
    names = list(source_models)
    runs = f" x {len(seeds)} runs" if len(seeds) > 1 else ""
    outcomes = _train_and_evaluate(
        list(models.values()),
        target,
        recipe,
        checkpoint,
        log,
        f"[finetune {'+'.join(names) if len(names) <= 3 else f'{len(names)} sources'}{runs} -> "
        f"{target.name}] ",
        model_seeds,
    )
    result: dict[str, list[tuple[object, Outcome]]] = {name: [] for name in names}
    for (name, _), model, outcome in zip(models, models.values(), outcomes):
        result[name].append((model, outcome))
    return result


def finetune(
    source_models: dict[str, str | os.PathLike],
    target: Dataset,
    recipe: Recipe,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
    spec: NetworkSpec = NETWORK,
) -> dict[str, tuple[object, Outcome]]:
    """Fine-tune every source model (each a ``spec`` network) on ``target`` together; one
    outcome per source name (``finetune_runs`` of one run, the recipe's seed)."""
    runs = finetune_runs(
        {name: [path] for name, path in source_models.items()},
        target,
        recipe,
        [recipe.seed],
        checkpoint,
        log,
        spec,
    )
    return {name: outcomes[0] for name, outcomes in runs.items()}


def test_probabilities(model, dataset: Dataset) -> pd.DataFrame:
    """``model``'s class probabilities on ``dataset``'s test set (``loop.predict``): one row per
    test series, in the file's order: its true class code (``TRUE_CLASS``), then one column per
    class in class-code order, named by the class's label."""
    p = np.asarray(predict(model, dataset.network_input("test")), dtype=np.float64)
    frame = pd.DataFrame(p, columns=[str(label) for label in dataset.classes])
    frame.insert(0, TRUE_CLASS, np.asarray(dataset.y_test, dtype=int))
    return frame


def write_outcome(
    model,
    outcome: Outcome,
    model_path: str | None,
    metrics_path: str,
    history_path: str,
    probabilities: pd.DataFrame | None = None,
    probabilities_path: str | None = None,
    **identity: str,
) -> None:
    """Write a model's HDF5 (when a path is given), metrics and history files, and its test-set
    probabilities when given."""
    if model_path:
        save_model(model, model_path)
    write_csv(outcome.train.history, history_path)
    write_csv(outcome.metrics(**identity), metrics_path)
    if probabilities is not None:
        write_csv(probabilities, probabilities_path)


def write_runs(
    runs: Sequence[tuple[object, Outcome]],
    outputs: Mapping[str, Sequence[str]],
    test_set: Dataset,
    **identity: str,
) -> None:
    """Write each run of ``runs`` (its (model, outcome)) to its files: ``outputs`` maps
    ``metrics``, ``history`` and, when named, ``model`` and ``probabilities`` (its
    probabilities on ``test_set``'s test series) to one path per run; each file atomically."""
    for run, (model, outcome) in enumerate(runs):
        probabilities = outputs.get("probabilities")
        write_outcome(
            model,
            outcome,
            outputs["model"][run] if "model" in outputs else None,
            outputs["metrics"][run],
            outputs["history"][run],
            test_probabilities(model, test_set) if probabilities else None,
            probabilities[run] if probabilities else None,
            **identity,
        )


def write_batch(
    outcomes: Mapping[str, Sequence[tuple[object, Outcome]]],
    target: Dataset,
    folder: str | os.PathLike,
    save_models: bool,
    ensemble: bool = False,
) -> None:
    """Write a fine-tuning batch (source -> its runs' (model, outcome)) as
    ``folder/<source>/{metrics,history}.csv`` (and model.h5), in ``run<r>`` folders with more
    than one run (and test_probabilities.csv with ``ensemble``), assembled under a temporary
    name and renamed into place whole."""
    with atomic_folder(folder) as staging:
        for source, runs in outcomes.items():
            for run, (model, outcome) in enumerate(runs, start=1):
                files = Path(run_folder(staging / source, run, len(runs)))
                write_outcome(
                    model,
                    outcome,
                    str(files / MODEL_FILE) if save_models else None,
                    str(files / METRICS_FILE),
                    str(files / HISTORY_FILE),
                    test_probabilities(model, target) if ensemble else None,
                    str(files / PROBABILITIES_FILE),
                    source=source,
                    target=target.name,
                )


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
