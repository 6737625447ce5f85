"""Training: S FCNs trained together on one dataset, each exactly as if trained alone.

``train_together`` runs the epochs of a ``recipe.Recipe`` on an engine (``engines``): the S
models share the batches (one shuffled order per epoch, drawn from ``(seed, epoch)``), and
each model has its own Adam state, its own learning-rate schedule on its own epoch train loss,
its own best weights (the model kept is the one of the lowest train loss) and its own history.
The state is checkpointed every ``checkpoint_every`` epochs (``checkpoints``) and a run
started again resumes from it. ``predict`` and ``evaluate`` are the inference side: class
probabilities in batches sized to the series length.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transfer_tsc.errors import PipelineError
from transfer_tsc.training.checkpoints import ModelRun, restore_checkpoint, save_checkpoint
from transfer_tsc.training.engines import EpochLoop, make_engine
from transfer_tsc.training.recipe import PlateauSchedule, Recipe


class TrainingDiverged(PipelineError):
    """An epoch's train loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainResult:
    """One model's training: its history (``ModelRun.history_frame``), the best epoch and its
    train loss, the epochs run and the job's training seconds."""

    history: pd.DataFrame
    best_epoch: int
    best_loss: float
    epochs: int
    train_seconds: float


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Class codes 0..n_classes-1 as float32 one-hot rows."""
    return np.eye(n_classes, dtype=np.float32)[y]


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled sample order of one epoch (a pure function of seed and epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def epoch_batches(
    x: np.ndarray, targets: np.ndarray, order: np.ndarray, batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """One epoch's batches in ``order``: the k = n // batch whole batches stacked as
    (k, batch, ...) arrays, and the last partial batch (None when batch divides n)."""
    whole = len(order) // batch * batch
    xs = x[order[:whole]].reshape((-1, batch) + x.shape[1:])
    ys = targets[order[:whole]].reshape((-1, batch) + targets.shape[1:])
    rest = order[whole:]
    if len(rest) == 0:
        return xs, ys, None, None
    return xs, ys, x[rest], targets[rest]


# Series x time steps per inference batch: the activations (batch x length x 256 channels)
# dominate a job's memory, so long series are predicted in smaller batches.
PREDICT_STEPS = 32_768


def predict_batch_size(length: int) -> int:
    """Series per inference batch for series of ``length`` time steps: at most PREDICT_STEPS
    time steps and at most 256 series."""
    return max(1, min(256, PREDICT_STEPS // max(1, length)))


def predict(model, x: np.ndarray, batch_size: int | None = None) -> np.ndarray | list[np.ndarray]:
    """``model``'s outputs for the series ``x`` in inference mode (batch-norm running
    statistics), in batches of ``predict_batch_size``: one array (class probabilities), or a
    list of arrays for a model of several outputs."""
    if batch_size is None:
        batch_size = predict_batch_size(x.shape[1])
    parts = [model(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)]
    if isinstance(parts[0], (list, tuple)):
        return [np.concatenate([np.asarray(p[k]) for p in parts]) for k in range(len(parts[0]))]
    return np.concatenate([np.asarray(p) for p in parts])


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
    fused: bool = True,
    jit_compile: bool = False,
    epoch_loop: EpochLoop | None = None,
) -> list[TrainResult]:
    """Train ``models`` on (x, y) for ``recipe.epochs`` epochs; leave each at its best weights.

    ``x`` has shape (n, length, 1), ``y`` holds class codes 0..n_classes-1. On the JAX backend
    the models must share one architecture (as the sources fine-tuned on one target do).
    ``fused`` runs each epoch as one compiled call (all its steps in a loop on the device);
    ``False`` calls one compiled step per batch (the same arithmetic, kept for comparison).
    ``jit_compile`` has TensorFlow compile the step with XLA (JAX always does). ``epoch_loop``
    chooses the JAX engine's fused epoch, "scan" or "unrolled" (``engines.JaxEngine``; None:
    the one for JAX's backend, ``engines.default_epoch_loop``).
    """
    engine = make_engine(models, recipe, jit_compile, epoch_loop)
    runs = [ModelRun(PlateauSchedule(recipe.learning_rate)) for _ in models]
    start_epoch, elapsed = 0, 0.0
    if checkpoint is not None and Path(checkpoint).exists():
        start_epoch, elapsed = restore_checkpoint(checkpoint, engine, runs, recipe)
        log(f"{label}resumed from {checkpoint} at epoch {start_epoch}")

    x = np.asarray(x, dtype=np.float32)
    targets = one_hot(y, n_classes)
    n = len(x)
    batch = recipe.batch_size_for(n)
    started = time.perf_counter() - elapsed
    for epoch in range(start_epoch, recipe.epochs):
        order = epoch_order(recipe.seed, epoch, n)
        if fused:
            loss_sum, correct = engine.epoch(*epoch_batches(x, targets, order, batch))
        else:
            loss_sum, correct = 0.0, 0.0
            for lo in range(0, n, batch):
                idx = order[lo : lo + batch]
                losses, accuracies = engine.step(x[idx], targets[idx])
                # Device arrays: summed without waiting for the step (one transfer per epoch).
                loss_sum = loss_sum + losses * len(idx)
                correct = correct + accuracies * len(idx)
        epoch_loss = np.asarray(loss_sum, dtype=np.float64) / n
        epoch_accuracy = np.asarray(correct, dtype=np.float64) / n
        if not np.isfinite(epoch_loss).all():
            k = int(np.flatnonzero(~np.isfinite(epoch_loss))[0])
            model = f" (model {k + 1} of {len(models)})" if len(models) > 1 else ""
            raise TrainingDiverged(
                f"{label}epoch {epoch + 1}: train loss is {epoch_loss[k]}{model}; training "
                "diverged, nothing is written (check the data's scale, or lower "
                "training.learning_rate)"
            )
        improved = np.zeros(len(models), dtype=bool)
        for k, run in enumerate(runs):
            loss = float(epoch_loss[k])
            run.history.append(
                {
                    "epoch": epoch + 1,
                    "loss": loss,
                    "accuracy": float(epoch_accuracy[k]),
                    "lr": run.schedule.lr,
                }
            )
            if loss < run.best_loss:
                run.best_loss, run.best_epoch = loss, epoch + 1
                improved[k] = True
        engine.keep_best(improved)
        for k, run in enumerate(runs):
            lr = run.schedule.lr
            if run.schedule.update(run.history[-1]["loss"], recipe) != lr:
                engine.set_learning_rate(k, run.schedule.lr)
        done = epoch + 1
        if done % recipe.progress_every == 0 or done == recipe.epochs:
            losses = [r.history[-1]["loss"] for r in runs]
            log(
                f"{label}epoch {done}/{recipe.epochs}: train loss "
                + (
                    f"{losses[0]:.4f}"
                    if len(runs) == 1
                    else f"median {np.median(losses):.4f} "
                    f"(min {min(losses):.4f}, max {max(losses):.4f}) over {len(runs)} models"
                )
                + f", {time.perf_counter() - started:.1f} s"
            )
        if checkpoint is not None and done % recipe.checkpoint_every == 0 and done < recipe.epochs:
            save_checkpoint(checkpoint, done, time.perf_counter() - started, engine, runs, recipe)
    seconds = time.perf_counter() - started
    engine.finish()
    results = [
        TrainResult(run.history_frame(), run.best_epoch, run.best_loss, recipe.epochs, seconds)
        for run in runs
    ]
    if checkpoint is not None and Path(checkpoint).exists():
        Path(checkpoint).unlink()
    return results
