"""Training engine: S FCNs trained together on one dataset, each exactly as if trained alone.

The recipe is the paper's (Table I and the FCN's original code): Adam (lr 1e-3, beta 0.9 / 0.999),
categorical cross-entropy, mini-batches of 16, learning rate multiplied by 0.5 when the epoch's
train loss has not improved for 50 epochs (down to 1e-4), and the model kept is the one with
the lowest train loss.

The S models share the batches (one shuffled order per epoch, drawn from ``(seed, epoch)``).
An epoch is one compiled call: its shuffled batches go to the device at once and a loop inside
the compiled function runs every step; the epoch's per-model loss and accuracy sums come back
once (small datasets with tiny batches otherwise spend most of their time launching steps).

How the S models are stepped together depends on the Keras backend (``KERAS_BACKEND``, the
config key ``training.backend``):

* TensorFlow (the reference): one ``tf.function`` holds S graph branches in a graph loop over
  the epoch's batches; one backward pass of the summed loss ``L = sum_s L_s(theta_s)`` gives
  each model the gradient of its own loss, ``dL/dtheta_s = dL_s/dtheta_s``, since no model
  depends on another's weights.
* JAX: the S models' weights, batch-norm statistics and Adam states are stacked along a leading
  axis and one ``jax.jit(jax.vmap(step))`` steps them all, where ``step`` is Keras' stateless
  API (``model.stateless_call`` for the forward pass, ``jax.value_and_grad`` for the gradient,
  ``optimizer.stateless_apply`` for Keras' own Adam update). The per-model learning rate is the
  Adam state's ``learning_rate`` entry, so each model's plateau schedule reaches its own update.
  The epoch is ``jax.lax.scan`` over the batches inside the ``jit(vmap(...))``; on XLA's CPU
  backend, where loops run slowly, the steps are written out instead (CPU_UNROLL per call).

Either way each model has its own Adam state (m, v, step count; Kingma & Ba 2015 with Keras'
epsilon-hat form ``theta -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``), its own
learning-rate schedule on its own epoch train loss, its own best weights and its own history.

A checkpoint of the whole state (weights, optimizer moments, schedules, best weights, history)
is written every ``checkpoint_every`` epochs; a run started again resumes from it. The file
layout is the same for both backends.
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

from .errors import InputError, PipelineError
from .io import atomic_path


class TrainingDiverged(PipelineError):
    """An epoch's train loss became NaN or infinite."""


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
    """One model's own training record (its weights live in the engine)."""

    schedule: PlateauSchedule
    best_loss: float = math.inf
    best_epoch: int = 0
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


def backend() -> str:
    """The Keras backend in use ("tensorflow" or "jax")."""
    import keras

    return keras.backend.backend()


def _adam(recipe: Recipe):
    import keras

    return keras.optimizers.Adam(
        learning_rate=recipe.learning_rate,
        beta_1=recipe.beta_1,
        beta_2=recipe.beta_2,
        epsilon=recipe.epsilon,
    )


def _cross_entropy(y, p):
    import keras

    return keras.ops.mean(keras.losses.categorical_crossentropy(y, p))


class _TensorFlowEngine:
    """S Keras models and S Keras Adams stepped by one ``tf.function`` (graph branches).

    An epoch is one call: a graph loop over the epoch's batches. With ``jit_compile`` the step
    is compiled by XLA inside that loop (faster on tiny batches; a compile of its own per job).
    """

    def __init__(self, models: list, recipe: Recipe, jit_compile: bool = False):
        import tensorflow as tf

        n_classes = models[0].output_shape[-1]
        self.models = models
        self.optimizers = [_adam(recipe) for _ in models]
        for optimizer, model in zip(self.optimizers, models):
            optimizer.build(model.trainable_variables)
        self.best: list[list[np.ndarray] | None] = [None] * len(models)
        variables = [m.trainable_variables for m in models]
        models_, optimizers = self.models, self.optimizers

        def train_step(x, y):
            with tf.GradientTape() as tape:
                probabilities = [m(x, training=True) for m in models_]
                losses = [_cross_entropy(y, p) for p in probabilities]
                total = tf.add_n(losses)
            grads = tape.gradient(total, variables)
            for optimizer, g, v in zip(optimizers, grads, variables):
                optimizer.apply_gradients(zip(g, v))
            accuracies = [
                tf.reduce_mean(tf.cast(tf.argmax(p, -1) == tf.argmax(y, -1), tf.float32))
                for p in probabilities
            ]
            return tf.stack(losses), tf.stack(accuracies)

        if jit_compile:
            train_step = tf.function(train_step, jit_compile=True)

        def whole_batches(xs, ys):
            # The same sums as the step-by-step loop of train_together, in the same order.
            loss_sum = tf.zeros([len(models_)])
            correct = tf.zeros([len(models_)])
            size = tf.cast(tf.shape(xs)[1], tf.float32)
            for i in tf.range(tf.shape(xs)[0]):
                losses, accuracies = train_step(xs[i], ys[i])
                loss_sum = loss_sum + losses * size
                correct = correct + accuracies * size
            return loss_sum, correct

        def with_last_batch(xs, ys, x_last, y_last):
            loss_sum, correct = whole_batches(xs, ys)
            losses, accuracies = train_step(x_last, y_last)
            size = tf.cast(tf.shape(x_last)[0], tf.float32)
            return loss_sum + losses * size, correct + accuracies * size

        # Shapes left open, so the step and the epoch run the same kernels whatever the batch.
        series = tf.TensorSpec([None, None, 1], tf.float32)
        labels = tf.TensorSpec([None, n_classes], tf.float32)
        stacked = [tf.TensorSpec([None, *spec.shape], tf.float32) for spec in (series, labels)]
        self._step = tf.function(train_step, input_signature=[series, labels])
        self._whole = tf.function(whole_batches, input_signature=stacked)
        self._with_last = tf.function(with_last_batch, input_signature=[*stacked, series, labels])

    def step(self, x: np.ndarray, y: np.ndarray):
        return self._step(x, y)

    def epoch(self, xs, ys, x_last, y_last):
        if x_last is None:
            return self._whole(xs, ys)
        return self._with_last(xs, ys, x_last, y_last)

    def weights(self, k: int) -> list[np.ndarray]:
        return self.models[k].get_weights()

    def set_weights(self, k: int, weights: list[np.ndarray]) -> None:
        self.models[k].set_weights(weights)

    def optimizer_values(self, k: int) -> list[np.ndarray]:
        return [np.asarray(v) for v in self.optimizers[k].variables]

    def set_optimizer_values(self, k: int, values: list[np.ndarray]) -> None:
        for v, value in zip(self.optimizers[k].variables, values):
            v.assign(value)

    def set_learning_rate(self, k: int, lr: float) -> None:
        self.optimizers[k].learning_rate = lr

    def keep_best(self, improved: np.ndarray) -> None:
        for k in np.flatnonzero(improved):
            self.best[k] = [w.copy() for w in self.models[k].get_weights()]

    def best_weights(self, k: int) -> list[np.ndarray] | None:
        return self.best[k]

    def set_best_weights(self, k: int, weights: list[np.ndarray]) -> None:
        self.best[k] = weights

    def finish(self) -> None:
        for model, best in zip(self.models, self.best):
            if best is not None:
                model.set_weights(best)


class _JaxEngine:
    """S models of one architecture as stacked arrays, stepped by ``jit(vmap(step))``.

    ``step`` is one model's training step written with Keras' stateless API on a template
    model (the first): the forward pass ``stateless_call``, the gradient by
    ``jax.value_and_grad``, the update by one Keras Adam's ``stateless_apply``. ``vmap`` maps it
    over the leading (model) axis of the weights, batch-norm statistics and Adam states, with
    the batch shared. The best weights are kept stacked on the device, replaced per model by a
    ``where`` on the improved mask, so nothing leaves the device during training.
    """

    def __init__(self, models: list, recipe: Recipe):
        import jax
        import jax.numpy as jnp

        template = models[0]
        shapes = [tuple(w.shape) for w in template.weights]
        for model in models[1:]:
            if [tuple(w.shape) for w in model.weights] != shapes:
                raise ValueError("models trained together must have the same architecture")
        self.models = models
        self.optimizer = _adam(recipe)
        self.optimizer.build(template.trainable_variables)
        names = [v.name for v in self.optimizer.variables]
        self._lr_index = names.index("learning_rate")
        # Where each entry of model.weights (get_weights order) sits: (trainable?, index).
        trainable = {id(v): i for i, v in enumerate(template.trainable_variables)}
        non_trainable = {id(v): i for i, v in enumerate(template.non_trainable_variables)}
        self._order = [
            (True, trainable[id(v)]) if id(v) in trainable else (False, non_trainable[id(v)])
            for v in template.weights
        ]
        initial_optimizer = [np.asarray(v.value) for v in self.optimizer.variables]

        def stack(per_model):
            return [jnp.asarray(np.stack(values)) for values in zip(*per_model)]

        self.trainable = stack([[np.asarray(v.value) for v in m.trainable_variables] for m in models])
        self.non_trainable = stack(
            [[np.asarray(v.value) for v in m.non_trainable_variables] for m in models]
        )
        self.opt_state = stack([initial_optimizer for _ in models])
        self.best = None
        self.has_best = np.zeros(len(models), dtype=bool)
        optimizer = self.optimizer

        def loss_of(trainable, non_trainable, x, y):
            p, non_trainable = template.stateless_call(trainable, non_trainable, x, training=True)
            accuracy = jnp.mean(jnp.argmax(p, -1) == jnp.argmax(y, -1))
            return _cross_entropy(y, p), (non_trainable, accuracy)

        def one_step(trainable, non_trainable, opt_state, x, y):
            (loss, (non_trainable, accuracy)), grads = jax.value_and_grad(loss_of, has_aux=True)(
                trainable, non_trainable, x, y
            )
            trainable, opt_state = optimizer.stateless_apply(opt_state, grads, trainable)
            return trainable, non_trainable, opt_state, loss, accuracy

        self._step = jax.jit(
            jax.vmap(one_step, in_axes=(0, 0, 0, None, None)), donate_argnums=(0, 1, 2)
        )

        def batches(trainable, non_trainable, opt_state, loss_sum, correct, xs, ys, x_last,
                    y_last):
            # The same sums as the step-by-step loop of train_together, in the same order.
            def body(carry, batch):
                trainable, non_trainable, opt_state, loss_sum, correct = carry
                x, y = batch
                trainable, non_trainable, opt_state, loss, accuracy = one_step(
                    trainable, non_trainable, opt_state, x, y
                )
                size = x.shape[0]
                return (trainable, non_trainable, opt_state, loss_sum + loss * size,
                        correct + accuracy * size), None

            carry = (trainable, non_trainable, opt_state, loss_sum, correct)
            if self._unroll:  # written out: even a one-trip while loop is slow on XLA's CPU
                for i in range(xs.shape[0]):
                    carry, _ = body(carry, (xs[i], ys[i]))
            else:
                carry, _ = jax.lax.scan(body, carry, (xs, ys))
            if x_last is not None:
                carry, _ = body(carry, (x_last, y_last))
            return carry

        # XLA's CPU backend runs a convolution inside a while loop tens of times slower than
        # outside one, so on CPU the loop is unrolled, in calls of at most CPU_UNROLL steps
        # (compile time grows with the unrolled length); elsewhere one call runs the epoch.
        self._unroll = jax.default_backend() == "cpu"
        self._batches = jax.jit(
            jax.vmap(batches, in_axes=(0, 0, 0, 0, 0, None, None, None, None)),
            donate_argnums=(0, 1, 2, 3, 4),
        )

        def where(mask, new, old):
            return [
                jnp.where(mask.reshape((-1,) + (1,) * (n.ndim - 1)), n, o) for n, o in zip(new, old)
            ]

        self._where = jax.jit(where)

    def step(self, x: np.ndarray, y: np.ndarray):
        self.trainable, self.non_trainable, self.opt_state, loss, accuracy = self._step(
            self.trainable, self.non_trainable, self.opt_state, x, y
        )
        return loss, accuracy

    def epoch(self, xs, ys, x_last, y_last):
        import jax.numpy as jnp

        loss_sum = jnp.zeros(len(self.models), jnp.float32)
        correct = jnp.zeros(len(self.models), jnp.float32)
        chunk = CPU_UNROLL if self._unroll else max(1, len(xs))
        starts = list(range(0, len(xs), chunk)) or [0]
        for start in starts:
            last = start == starts[-1]
            (self.trainable, self.non_trainable, self.opt_state, loss_sum, correct) = (
                self._batches(
                    self.trainable, self.non_trainable, self.opt_state, loss_sum, correct,
                    xs[start : start + chunk], ys[start : start + chunk],
                    x_last if last else None, y_last if last else None,
                )
            )
        return loss_sum, correct

    def _model_weights(self, trainable, non_trainable, k: int) -> list[np.ndarray]:
        return [
            np.asarray(trainable[i][k] if is_trainable else non_trainable[i][k])
            for is_trainable, i in self._order
        ]

    def _stacked_set(self, trainable, non_trainable, k: int, weights: list[np.ndarray]):
        trainable, non_trainable = list(trainable), list(non_trainable)
        for (is_trainable, i), w in zip(self._order, weights):
            target = trainable if is_trainable else non_trainable
            target[i] = target[i].at[k].set(w)
        return trainable, non_trainable

    def weights(self, k: int) -> list[np.ndarray]:
        return self._model_weights(self.trainable, self.non_trainable, k)

    def set_weights(self, k: int, weights: list[np.ndarray]) -> None:
        self.trainable, self.non_trainable = self._stacked_set(
            self.trainable, self.non_trainable, k, weights
        )

    def optimizer_values(self, k: int) -> list[np.ndarray]:
        return [np.asarray(v[k]) for v in self.opt_state]

    def set_optimizer_values(self, k: int, values: list[np.ndarray]) -> None:
        self.opt_state = [v.at[k].set(value) for v, value in zip(self.opt_state, values)]

    def set_learning_rate(self, k: int, lr: float) -> None:
        i = self._lr_index
        self.opt_state[i] = self.opt_state[i].at[k].set(lr)

    def keep_best(self, improved: np.ndarray) -> None:
        import jax.numpy as jnp

        if not improved.any():
            return
        current = self.trainable + self.non_trainable
        if self.best is None:
            self.best = [jnp.array(a, copy=True) for a in current]
        else:
            self.best = self._where(jnp.asarray(improved), current, self.best)
        self.has_best |= improved

    def best_weights(self, k: int) -> list[np.ndarray] | None:
        if not self.has_best[k]:
            return None
        n = len(self.trainable)
        return self._model_weights(self.best[:n], self.best[n:], k)

    def set_best_weights(self, k: int, weights: list[np.ndarray]) -> None:
        import jax.numpy as jnp

        if self.best is None:
            self.best = [jnp.array(a, copy=True) for a in self.trainable + self.non_trainable]
        n = len(self.trainable)
        trainable, non_trainable = self._stacked_set(self.best[:n], self.best[n:], k, weights)
        self.best = trainable + non_trainable
        self.has_best[k] = True

    def finish(self) -> None:
        for k, model in enumerate(self.models):
            best = self.best_weights(k)
            model.set_weights(best if best is not None else self.weights(k))


# Steps per compiled call on XLA's CPU backend (see _JaxEngine).
CPU_UNROLL = 32


def _engine(models: list, recipe: Recipe, jit_compile: bool):
    if backend() == "jax":
        return _JaxEngine(models, recipe)
    return _TensorFlowEngine(models, recipe, jit_compile)


# Series x time steps per inference batch: the activations (batch x length x 256 channels)
# dominate a job's memory, so long series are predicted in smaller batches.
PREDICT_STEPS = 32_768


def predict_batch_size(length: int) -> int:
    """Series per inference batch for series of ``length`` time steps: at most PREDICT_STEPS
    time steps and at most 256 series."""
    return max(1, min(256, PREDICT_STEPS // max(1, length)))


def predict(model, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """Class probabilities in inference mode, in batches of ``predict_batch_size``."""
    if batch_size is None:
        batch_size = predict_batch_size(x.shape[1])
    out = [
        np.asarray(model(x[i : i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ]
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
    fused: bool = True,
    jit_compile: bool = False,
) -> list[TrainResult]:
    """Train ``models`` on (x, y) for ``recipe.epochs`` epochs; leave each at its best weights.

    ``x`` has shape (n, length, 1), ``y`` holds class codes 0..n_classes-1. On the JAX backend
    the models must share one architecture (as the sources fine-tuned on one target do).
    ``fused`` runs each epoch as one compiled call (all its steps in a loop on the device);
    ``False`` calls one compiled step per batch (the same arithmetic, kept for comparison).
    ``jit_compile`` has TensorFlow compile the step with XLA (JAX always does).
    """
    engine = _engine(models, recipe, jit_compile)
    runs = [ModelRun(PlateauSchedule(recipe.learning_rate)) for _ in models]
    start_epoch, elapsed = 0, 0.0
    if checkpoint is not None and Path(checkpoint).exists():
        start_epoch, elapsed = _load_checkpoint(checkpoint, engine, runs, recipe)
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
                {"epoch": epoch + 1, "loss": loss, "accuracy": float(epoch_accuracy[k]),
                 "lr": run.schedule.lr}
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
                + (f"{losses[0]:.4f}" if len(runs) == 1 else f"median {np.median(losses):.4f} "
                   f"(min {min(losses):.4f}, max {max(losses):.4f}) over {len(runs)} models")
                + f", {time.perf_counter() - started:.1f} s"
            )
        if checkpoint is not None and done % recipe.checkpoint_every == 0 and done < recipe.epochs:
            _save_checkpoint(checkpoint, done, time.perf_counter() - started, engine, runs, recipe)
    seconds = time.perf_counter() - started
    engine.finish()
    results = [
        TrainResult(run.history_frame(), run.best_epoch, run.best_loss, recipe.epochs, seconds)
        for run in runs
    ]
    if checkpoint is not None and Path(checkpoint).exists():
        Path(checkpoint).unlink()
    return results


def _save_checkpoint(path, epoch, elapsed, engine, runs, recipe) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["epoch"] = epoch
        f.attrs["elapsed"] = elapsed
        f.attrs["recipe"] = repr(sorted(asdict(recipe).items()))
        for k, run in enumerate(runs):
            g = f.create_group(f"model{k}")
            for i, w in enumerate(engine.weights(k)):
                g[f"weights/{i}"] = w
            for i, v in enumerate(engine.optimizer_values(k)):
                g[f"optimizer/{i}"] = v
            for i, w in enumerate(engine.best_weights(k) or []):
                g[f"best/{i}"] = w
            g.attrs.update(
                lr=run.schedule.lr, plateau_best=run.schedule.best, plateau_wait=run.schedule.wait,
                best_loss=run.best_loss, best_epoch=run.best_epoch,
            )
            g["history"] = run.history_frame().to_numpy(dtype=np.float64)


def _load_checkpoint(path, engine, runs, recipe) -> tuple[int, float]:
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise InputError(f"{path}: corrupt checkpoint ({error}); delete it to start over") from None
    with f:
        if f.attrs["recipe"] != repr(sorted(asdict(recipe).items())):
            raise InputError(f"{path}: checkpoint was written with other settings; delete it to start over")
        for k, run in enumerate(runs):
            g = f[f"model{k}"]
            engine.set_weights(k, [g[f"weights/{i}"][()] for i in range(len(g["weights"]))])
            engine.set_optimizer_values(
                k, [g[f"optimizer/{i}"][()] for i in range(len(g["optimizer"]))]
            )
            if "best" in g:
                engine.set_best_weights(k, [g[f"best/{i}"][()] for i in range(len(g["best"]))])
            run.schedule = PlateauSchedule(
                float(g.attrs["lr"]), float(g.attrs["plateau_best"]), int(g.attrs["plateau_wait"])
            )
            engine.set_learning_rate(k, run.schedule.lr)
            run.best_loss, run.best_epoch = float(g.attrs["best_loss"]), int(g.attrs["best_epoch"])
            run.history = [
                {"epoch": int(r[0]), "loss": r[1], "accuracy": r[2], "lr": r[3]} for r in g["history"][()]
            ]
        return int(f.attrs["epoch"]), float(f.attrs["elapsed"])


def use_threads(n: int) -> None:
    """Let TensorFlow use ``n`` threads per operation (a job's ``threads``).

    On the JAX backend this does nothing: XLA's CPU thread pool is sized when JAX starts (to
    the machine's cores), not per call.
    """
    if backend() == "jax":
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(int(n))
    tf.config.threading.set_inter_op_parallelism_threads(int(n))
