"""Training engine: S FCNs trained together on one dataset, each exactly as if trained alone.

The recipe is the paper's (Table I and the FCN's original code): Adam (lr 1e-3, beta 0.9 / 0.999),
categorical cross-entropy, mini-batches of 16, learning rate multiplied by 0.5 when the epoch's
train loss has not improved for 50 epochs (down to 1e-4), and the model kept is the one with
the lowest train loss.

The S models share the batches (one shuffled order per epoch, drawn from ``(seed, epoch)``) and
are stepped by one compiled function: one backward pass of the summed loss gives each model the
gradient of its own loss, since no model depends on another's weights. Each model has its own
Adam state, learning-rate schedule, best weights and history.

A checkpoint of the whole state (weights, optimizer moments, schedules, best weights, history)
is written every ``checkpoint_every`` epochs; a run started again resumes from it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .errors import InputError
from .io import atomic_path


@dataclass(frozen=True)
class Recipe:
    """Training hyper-parameters (paper Table I plus the FCN code's schedule)."""

    epochs: int = 2000
    batch_size: int = 16
    batch_size_cap_tenth: bool = False
    learning_rate: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    lr_factor: float = 0.5
    lr_patience: int = 50
    min_lr: float = 1e-4
    lr_min_delta: float = 1e-4
    seed: int = 0
    progress_every: int = 100
    checkpoint_every: int = 100

    def batch_size_for(self, n_train: int) -> int:
        """16, or min(16, n_train // 10) when the cap of the FCN's original code is on."""
        if self.batch_size_cap_tenth:
            return max(1, min(self.batch_size, n_train // 10))
        return self.batch_size


@dataclass
class PlateauSchedule:
    """Keras' ReduceLROnPlateau on the train loss (mode min, cooldown 0)."""

    lr: float
    best: float = math.inf
    wait: int = 0

    def update(self, loss: float, recipe: Recipe) -> float:
        if loss < self.best - recipe.lr_min_delta:
            self.best, self.wait = loss, 0
        else:
            self.wait += 1
            if self.wait >= recipe.lr_patience and self.lr > recipe.min_lr:
                self.lr = max(self.lr * recipe.lr_factor, recipe.min_lr)
                self.wait = 0
        return self.lr


@dataclass
class ModelRun:
    """One model's own training state."""

    schedule: PlateauSchedule
    best_loss: float = math.inf
    best_epoch: int = 0
    best_weights: list[np.ndarray] | None = None
    history: list[dict] = field(default_factory=list)

    def history_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.history, columns=["epoch", "loss", "accuracy", "lr"])


@dataclass(frozen=True)
class TrainResult:
    history: pd.DataFrame
    best_epoch: int
    best_loss: float
    epochs: int
    train_seconds: float


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=np.float32)[y]


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled sample order of one epoch (a pure function of seed and epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def _make_step(models, optimizers):
    import tensorflow as tf

    variables = [m.trainable_variables for m in models]
    loss_fn = _cross_entropy

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            probabilities = [m(x, training=True) for m in models]
            losses = [loss_fn(y, p) for p in probabilities]
            total = tf.add_n(losses)
        grads = tape.gradient(total, variables)
        for optimizer, g, v in zip(optimizers, grads, variables):
            optimizer.apply_gradients(zip(g, v))
        accuracies = [
            tf.reduce_mean(tf.cast(tf.argmax(p, -1) == tf.argmax(y, -1), tf.float32))
            for p in probabilities
        ]
        return tf.stack(losses), tf.stack(accuracies)

    return step


def _cross_entropy(y, p):
    import keras

    return keras.ops.mean(keras.losses.categorical_crossentropy(y, p))


def predict(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities in inference mode."""
    out = [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(out)


def evaluate(model, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy and mean cross-entropy of ``model`` on (x, y)."""
    p = predict(model, x)
    eps = 1e-7
    loss = float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], eps, 1.0))))
    return {"accuracy": float(np.mean(p.argmax(1) == y)), "loss": loss}


def train_together(
    models: list,
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    recipe: Recipe,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
    label: str = "",
) -> list[TrainResult]:
    """Train ``models`` on (x, y) for ``recipe.epochs`` epochs; leave each at its best weights.

    ``x`` has shape (n, length, 1), ``y`` holds class codes 0..n_classes-1.
    """
    import keras

    optimizers = [
        keras.optimizers.Adam(
            learning_rate=recipe.learning_rate,
            beta_1=recipe.beta_1,
            beta_2=recipe.beta_2,
            epsilon=recipe.epsilon,
        )
        for _ in models
    ]
    for optimizer, model in zip(optimizers, models):
        optimizer.build(model.trainable_variables)
    runs = [ModelRun(PlateauSchedule(recipe.learning_rate)) for _ in models]
    start_epoch, elapsed = 0, 0.0
    if checkpoint is not None and Path(checkpoint).exists():
        start_epoch, elapsed = _load_checkpoint(checkpoint, models, optimizers, runs, recipe)
        log(f"{label}resumed from {checkpoint} at epoch {start_epoch}")

    step = _make_step(models, optimizers)
    targets = one_hot(y, n_classes)
    n = len(x)
    batch = recipe.batch_size_for(n)
    started = time.perf_counter() - elapsed
    for epoch in range(start_epoch, recipe.epochs):
        order = epoch_order(recipe.seed, epoch, n)
        loss_sum = np.zeros(len(models))
        correct = np.zeros(len(models))
        for lo in range(0, n, batch):
            idx = order[lo : lo + batch]
            losses, accuracies = step(x[idx], targets[idx])
            loss_sum += np.asarray(losses) * len(idx)
            correct += np.asarray(accuracies) * len(idx)
        for k, (model, optimizer, run) in enumerate(zip(models, optimizers, runs)):
            loss, accuracy = loss_sum[k] / n, correct[k] / n
            run.history.append(
                {"epoch": epoch + 1, "loss": loss, "accuracy": accuracy, "lr": run.schedule.lr}
            )
            if loss < run.best_loss:
                run.best_loss, run.best_epoch = loss, epoch + 1
                run.best_weights = [w.copy() for w in model.get_weights()]
            new_lr = run.schedule.update(loss, recipe)
            if new_lr != float(optimizer.learning_rate):
                optimizer.learning_rate = new_lr
        done = epoch + 1
        if done % recipe.progress_every == 0 or done == recipe.epochs:
            losses = [r.history[-1]["loss"] for r in runs]
            log(
                f"{label}epoch {done}/{recipe.epochs}: train loss "
                + (f"{losses[0]:.4f}" if len(runs) == 1 else f"median {np.median(losses):.4f} "
                   f"(min {min(losses):.4f}, max {max(losses):.4f}) over {len(runs)} models")
                + f", {time.perf_counter() - started:.1f} s"
            )
        if checkpoint is not None and done % recipe.checkpoint_every == 0 and done < recipe.epochs:
            _save_checkpoint(checkpoint, done, time.perf_counter() - started, models, optimizers, runs, recipe)
    seconds = time.perf_counter() - started
    results = []
    for model, run in zip(models, runs):
        if run.best_weights is not None:
            model.set_weights(run.best_weights)
        results.append(
            TrainResult(run.history_frame(), run.best_epoch, run.best_loss, recipe.epochs, seconds)
        )
    if checkpoint is not None and Path(checkpoint).exists():
        Path(checkpoint).unlink()
    return results


def _save_checkpoint(path, epoch, elapsed, models, optimizers, runs, recipe) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["epoch"] = epoch
        f.attrs["elapsed"] = elapsed
        f.attrs["recipe"] = repr(sorted(asdict(recipe).items()))
        for k, (model, optimizer, run) in enumerate(zip(models, optimizers, runs)):
            g = f.create_group(f"model{k}")
            for i, w in enumerate(model.get_weights()):
                g[f"weights/{i}"] = w
            for i, v in enumerate(optimizer.variables):
                g[f"optimizer/{i}"] = np.asarray(v)
            for i, w in enumerate(run.best_weights or []):
                g[f"best/{i}"] = w
            g.attrs.update(
                lr=run.schedule.lr, plateau_best=run.schedule.best, plateau_wait=run.schedule.wait,
                best_loss=run.best_loss, best_epoch=run.best_epoch,
            )
            g["history"] = run.history_frame().to_numpy(dtype=np.float64)


def _load_checkpoint(path, models, optimizers, runs, recipe) -> tuple[int, float]:
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise InputError(f"{path}: corrupt checkpoint ({error}); delete it to start over") from None
    with f:
        if f.attrs["recipe"] != repr(sorted(asdict(recipe).items())):
            raise InputError(f"{path}: checkpoint was written with other settings; delete it to start over")
        for k, (model, optimizer, run) in enumerate(zip(models, optimizers, runs)):
            g = f[f"model{k}"]
            model.set_weights([g[f"weights/{i}"][()] for i in range(len(g["weights"]))])
            for i, v in enumerate(optimizer.variables):
                v.assign(g[f"optimizer/{i}"][()])
            if "best" in g:
                run.best_weights = [g[f"best/{i}"][()] for i in range(len(g["best"]))]
            run.schedule = PlateauSchedule(
                float(g.attrs["lr"]), float(g.attrs["plateau_best"]), int(g.attrs["plateau_wait"])
            )
            optimizer.learning_rate = run.schedule.lr
            run.best_loss, run.best_epoch = float(g.attrs["best_loss"]), int(g.attrs["best_epoch"])
            run.history = [
                {"epoch": int(r[0]), "loss": r[1], "accuracy": r[2], "lr": r[3]} for r in g["history"][()]
            ]
        return int(f.attrs["epoch"]), float(f.attrs["elapsed"])


def use_threads(n: int) -> None:
    """Let TensorFlow use ``n`` threads per operation (a job's ``threads``)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(int(n))
    tf.config.threading.set_inter_op_parallelism_threads(int(n))
