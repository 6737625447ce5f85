"""Training: S networks trained together on one dataset, each exactly as if trained alone.

``train_together`` runs the epochs of a ``recipe.Recipe`` on an engine (``engines``). Each
model shuffles the train set with its own seed (``seeds``; by default the recipe's for all):
models of one seed share the batches (one shuffled order per epoch, drawn from
``(seed, epoch)``, as the sources fine-tuned on one target), models of different seeds each
step on their own batches of the same size (as repeated runs of one training). Each model has
its own Adam state, its own learning-rate schedule on its own epoch train loss, its own best
weights (the model kept is the one of the lowest train loss) and its own history. The state is
checkpointed every ``checkpoint_every`` epochs (``checkpoints``, with the seeds) and a run
started again resumes from it. ``predict`` and ``evaluate`` are the inference side: class
probabilities in batches sized to the series length.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transfer_tsc.errors import PipelineError
from transfer_tsc.training.checkpoints import ModelRun, restore_checkpoint, save_checkpoint
from transfer_tsc.training.engines import Engine, EpochLoop, make_engine
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


def epoch_batches_each(
    x: np.ndarray, targets: np.ndarray, orders: np.ndarray, batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """One epoch's batches for S models, model s in ``orders[s]`` (shape (S, n)): the k whole
    batches stacked (k, S, batch, ...) (``epoch_batches`` of each model, on axis 1), and the
    last partial batches (S, n - k * batch, ...) (None when batch divides n)."""
    n_models, n = orders.shape
    whole = n // batch * batch
    steps = orders[:, :whole].reshape(n_models, -1, batch).transpose(1, 0, 2)  # (k, S, batch)
    xs, ys = x[steps], targets[steps]
    if whole == n:
        return xs, ys, None, None
    rest = orders[:, whole:]
    return xs, ys, x[rest], targets[rest]


def _model_seeds(seeds: Sequence[int] | None, n_models: int, recipe: Recipe) -> list[int]:
    """Each model's shuffle seed: ``seeds`` checked (one non-negative integer per model), or
    ``recipe.seed`` for every model when None. ValueError otherwise."""
    if seeds is None:
        return [recipe.seed] * n_models
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        raise ValueError(f"seeds: a sequence of integers, one per model, not {seeds!r}")
    if len(seeds) != n_models:
        raise ValueError(f"seeds: {len(seeds)} given for {n_models} models; one per model")
    for seed in seeds:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seeds: {seed!r} is not an integer")
        if seed < 0:
            raise ValueError(f"seeds: {seed} is negative")
    return [int(seed) for seed in seeds]


def _epoch_sums(
    engine: Engine, x: np.ndarray, targets: np.ndarray, orders: np.ndarray, batch: int, fused: bool
):
    """One epoch of ``engine`` in ``orders``: one order (n,) shared by the models, or one per
    model (S, n); per model, the sums of loss and of correct predictions (device arrays)."""
    each = orders.ndim == 2
    if fused:
        if each:
            return engine.epoch_each(*epoch_batches_each(x, targets, orders, batch))
        return engine.epoch(*epoch_batches(x, targets, orders, batch))
    step = engine.step_each if each else engine.step
    loss_sum, correct = 0.0, 0.0
    for lo in range(0, orders.shape[-1], batch):
        idx = orders[..., lo : lo + batch]
        size = idx.shape[-1]
        losses, accuracies = step(x[idx], targets[idx])
        # Device arrays: summed without waiting for the step (one transfer per epoch).
        loss_sum = loss_sum + losses * size
        correct = correct + accuracies * size
    return loss_sum, correct


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
    seeds: Sequence[int] | None = None,
) -> list[TrainResult]:
    """Train ``models`` on (x, y) for ``recipe.epochs`` epochs; leave each at its best weights.

    ``x`` has shape (n, length, 1), ``y`` holds class codes 0..n_classes-1. On the JAX backend
    the models must share one architecture (as the sources fine-tuned on one target do).
    ``seeds[k]`` is model k's shuffle seed: its epoch e visits the series in
    ``epoch_order(seeds[k], e, n)``. None gives every model ``recipe.seed``. Models of one seed
    share the batches (the engine's ``epoch``: one batch a step for all); when the seeds
    differ, each model steps on its own batches (``epoch_each``: the same batch size and number
    of steps, in its own order), and each model's training is the one it would have alone with
    its seed. ValueError unless ``seeds`` holds one non-negative integer per model. A
    checkpoint records the seeds and is resumed only with the same ones.
    ``fused`` runs each epoch as one compiled call (all its steps in a loop on the device);
    ``False`` calls one compiled step per batch (the same arithmetic, kept for comparison).
    ``jit_compile`` has TensorFlow compile the step with XLA (JAX always does). ``epoch_loop``
    chooses the JAX engine's fused epoch, "scan" or "unrolled" (``engines.JaxEngine``; None:
    the one for JAX's backend, ``engines.default_epoch_loop``).
    """
    seeds = _model_seeds(seeds, len(models), recipe)
    # One seed for all: the shared batches (the cheaper computation, and the same one).
    shared = len(set(seeds)) == 1
    engine = make_engine(models, recipe, jit_compile, epoch_loop)
    runs = [ModelRun(PlateauSchedule(recipe.learning_rate)) for _ in models]
    start_epoch, elapsed = 0, 0.0
    if checkpoint is not None and Path(checkpoint).exists():
        start_epoch, elapsed = restore_checkpoint(checkpoint, engine, runs, recipe, seeds)
        log(f"{label}resumed from {checkpoint} at epoch {start_epoch}")

    x = np.asarray(x, dtype=np.float32)
    targets = one_hot(y, n_classes)
    n = len(x)
    batch = recipe.batch_size_for(n)
    started = time.perf_counter() - elapsed
    for epoch in range(start_epoch, recipe.epochs):
        if shared:
            orders = epoch_order(seeds[0], epoch, n)
        else:
            orders = np.stack([epoch_order(seed, epoch, n) for seed in seeds])
        loss_sum, correct = _epoch_sums(engine, x, targets, orders, batch, fused)
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
            save_checkpoint(
                checkpoint, done, time.perf_counter() - started, engine, runs, recipe, seeds
            )
    seconds = time.perf_counter() - started
    engine.finish()
    results = [
        TrainResult(run.history_frame(), run.best_epoch, run.best_loss, recipe.epochs, seconds)
        for run in runs
    ]
    if checkpoint is not None and Path(checkpoint).exists():
        Path(checkpoint).unlink()
    return results
