"""Training engines: S Keras models stepped together, each exactly as if trained alone.

An engine holds the S models' weights, Adam states and best weights on the device and runs
their training steps; ``training.train_together`` drives it through the ``Engine`` interface
and ``checkpoints`` saves and restores its state through the same interface. The S models
train on one dataset in one of two ways: they share the batches (``step``, ``epoch``: one
shuffled order, as the sources fine-tuned on one target), or each model steps on its own batch
of the same size (``step_each``, ``epoch_each``: the batches of the S models stacked on a model
axis, as repeated runs of different shuffle seeds). Either way an epoch is one compiled call:
its batches go to the device at once and a loop inside the compiled function runs every step
(small datasets with tiny batches otherwise spend most of their time launching steps).

The Keras backend in use (``KERAS_BACKEND``, the config key ``training.backend``) chooses the
engine: ``TensorFlowEngine`` (the reference: S graph branches) or ``JaxEngine`` (S models as
stacked arrays under ``jax.vmap``). Either way each update is Keras' Adam (Kingma & Ba 2015,
epsilon-hat form ``theta -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``) on the
model's own gradient.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import numpy as np

from transfer_tsc.training.recipe import Recipe


class Engine(Protocol):
    """What an engine does for the training loop and the checkpoints; model ``k`` is the k-th
    of the models the engine was made with."""

    def step(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        """One Adam step of every model on the batch (x, one-hot y): per model, the batch's
        mean loss and accuracy (device arrays)."""
        ...

    def epoch(
        self, xs: np.ndarray, ys: np.ndarray, x_last: np.ndarray | None, y_last: np.ndarray | None
    ) -> tuple[Any, Any]:
        """One epoch in one compiled call: the whole batches stacked (k, batch, ...), then the
        last partial batch (None: none); per model, the sums of loss and of correct
        predictions over the epoch's series (device arrays)."""
        ...

    def step_each(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        """One Adam step of each model k on its own batch (x[k], one-hot y[k]), x of shape
        (S, batch, ...): per model, the batch's mean loss and accuracy (device arrays)."""
        ...

    def epoch_each(
        self, xs: np.ndarray, ys: np.ndarray, x_last: np.ndarray | None, y_last: np.ndarray | None
    ) -> tuple[Any, Any]:
        """One epoch of each model on its own batches, in one compiled call: the whole batches
        stacked (k, S, batch, ...) (step i of model s: ``xs[i, s]``), then the last partial
        batches (S, rest, ...) (None: none); per model, the sums of loss and of correct
        predictions over the epoch's series (device arrays)."""
        ...

    def weights(self, k: int) -> list[np.ndarray]:
        """Model k's current weights, in Keras' ``get_weights`` order."""
        ...

    def set_weights(self, k: int, weights: list[np.ndarray]) -> None:
        """Replace model k's current weights."""
        ...

    def optimizer_values(self, k: int) -> list[np.ndarray]:
        """Model k's Adam state, in the order of Keras Adam's ``variables`` (iteration,
        learning rate, moments)."""
        ...

    def set_optimizer_values(self, k: int, values: list[np.ndarray]) -> None:
        """Replace model k's Adam state."""
        ...

    def set_learning_rate(self, k: int, lr: float) -> None:
        """Set the learning rate of model k's next steps."""
        ...

    def keep_best(self, improved: np.ndarray) -> None:
        """Keep the current weights as the best of each model where the boolean mask is set."""
        ...

    def best_weights(self, k: int) -> list[np.ndarray] | None:
        """Model k's best weights kept so far (None before the first)."""
        ...

    def set_best_weights(self, k: int, weights: list[np.ndarray]) -> None:
        """Replace model k's best weights."""
        ...

    def finish(self) -> None:
        """Leave each Keras model at its best weights (its current ones if none were kept)."""
        ...


def adam(recipe: Recipe):
    """A Keras Adam with the recipe's learning rate, betas and epsilon."""
    import keras

    return keras.optimizers.Adam(
        learning_rate=recipe.learning_rate,
        beta_1=recipe.beta_1,
        beta_2=recipe.beta_2,
        epsilon=recipe.epsilon,
    )


def _cross_entropy(y, p):
    """Mean categorical cross-entropy of the batch."""
    import keras

    return keras.ops.mean(keras.losses.categorical_crossentropy(y, p))


class TensorFlowEngine:
    """S Keras models and S Keras Adams stepped by one ``tf.function`` (an ``Engine``).

    The function holds S graph branches; one backward pass of the summed loss
    ``L = sum_s L_s(theta_s)`` gives each model the gradient of its own loss,
    ``dL/dtheta_s = dL_s/dtheta_s``, since no model depends on another's weights. Branch s
    reads the shared batch (``step``, ``epoch``) or its own, ``x[s]`` (``step_each``,
    ``epoch_each``): the same operations on other inputs, compiled as a second function the
    first time it is called. An epoch is one call: a graph loop over the epoch's batches. With
    ``jit_compile`` the step is compiled by XLA inside that loop (faster on tiny batches; a
    compile of its own per job).
    """

    def __init__(self, models: list, recipe: Recipe, jit_compile: bool = False):
        import tensorflow as tf

        n_classes = models[0].output_shape[-1]
        n_models = len(models)
        self.models = models
        self.optimizers = [adam(recipe) for _ in models]
        for optimizer, model in zip(self.optimizers, models):
            optimizer.build(model.trainable_variables)
        self.best: list[list[np.ndarray] | None] = [None] * n_models
        variables = [m.trainable_variables for m in models]
        models_, optimizers = self.models, self.optimizers

        def branches_step(inputs, labels):
            # Model k on (inputs[k], labels[k]): one step of every model.
            with tf.GradientTape() as tape:
                probabilities = [m(x, training=True) for m, x in zip(models_, inputs)]
                losses = [_cross_entropy(y, p) for y, p in zip(labels, probabilities)]
                total = tf.add_n(losses)
            grads = tape.gradient(total, variables)
            for optimizer, g, v in zip(optimizers, grads, variables):
                optimizer.apply_gradients(zip(g, v))
            accuracies = [
                tf.reduce_mean(tf.cast(tf.argmax(p, -1) == tf.argmax(y, -1), tf.float32))
                for y, p in zip(labels, probabilities)
            ]
            return tf.stack(losses), tf.stack(accuracies)

        def train_step(x, y):  # the batch shared
            return branches_step([x] * n_models, [y] * n_models)

        def train_step_each(x, y):  # model k's batch x[k]
            return branches_step(tf.unstack(x, n_models), tf.unstack(y, n_models))

        if jit_compile:
            train_step = tf.function(train_step, jit_compile=True)
            train_step_each = tf.function(train_step_each, jit_compile=True)

        def epoch_functions(step):
            # The batch size is axis -3 of the series, whether shared (batch, length, 1) or
            # per model (S, batch, length, 1).
            def whole_batches(xs, ys):
                # The same sums as the step-by-step loop of train_together, in the same order.
                loss_sum = tf.zeros([n_models])
                correct = tf.zeros([n_models])
                size = tf.cast(tf.shape(xs)[-3], tf.float32)
                for i in tf.range(tf.shape(xs)[0]):
                    losses, accuracies = step(xs[i], ys[i])
                    loss_sum = loss_sum + losses * size
                    correct = correct + accuracies * size
                return loss_sum, correct

            def with_last_batch(xs, ys, x_last, y_last):
                loss_sum, correct = whole_batches(xs, ys)
                losses, accuracies = step(x_last, y_last)
                size = tf.cast(tf.shape(x_last)[-3], tf.float32)
                return loss_sum + losses * size, correct + accuracies * size

            return whole_batches, with_last_batch

        def compiled(step, x_spec, y_spec):
            whole_batches, with_last_batch = epoch_functions(step)
            stacked = [tf.TensorSpec([None, *spec.shape], tf.float32) for spec in (x_spec, y_spec)]
            return (
                tf.function(step, input_signature=[x_spec, y_spec]),
                tf.function(whole_batches, input_signature=stacked),
                tf.function(with_last_batch, input_signature=[*stacked, x_spec, y_spec]),
            )

        # Shapes left open, so the step and the epoch run the same kernels whatever the batch.
        series = tf.TensorSpec([None, None, 1], tf.float32)
        labels = tf.TensorSpec([None, n_classes], tf.float32)
        self._step, self._whole, self._with_last = compiled(train_step, series, labels)
        # One batch per model, on a leading model axis; traced on first use (tf.function
        # traces when called), so a job that shares its batches never builds this graph.
        self._step_each, self._whole_each, self._with_last_each = compiled(
            train_step_each,
            tf.TensorSpec([n_models, *series.shape], tf.float32),
            tf.TensorSpec([n_models, *labels.shape], tf.float32),
        )

    def step(self, x: np.ndarray, y: np.ndarray):
        return self._step(x, y)

    def epoch(self, xs, ys, x_last, y_last):
        if x_last is None:
            return self._whole(xs, ys)
        return self._with_last(xs, ys, x_last, y_last)

    def step_each(self, x: np.ndarray, y: np.ndarray):
        return self._step_each(x, y)

    def epoch_each(self, xs, ys, x_last, y_last):
        if x_last is None:
            return self._whole_each(xs, ys)
        return self._with_last_each(xs, ys, x_last, y_last)

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


class JaxEngine:
    """S models of one architecture as stacked arrays, stepped by ``jit(vmap(step))`` (an
    ``Engine``).

    ``step`` is one model's training step written with Keras' stateless API on a template
    model (the first): the forward pass ``stateless_call``, the gradient by
    ``jax.value_and_grad``, the update by one Keras Adam's ``stateless_apply``. ``vmap`` maps it
    over the leading (model) axis of the weights, batch-norm statistics and Adam states, with
    the batch shared (``step``, ``epoch``: ``in_axes`` None for the batch) or mapped too, one
    batch per model (``step_each``, ``epoch_each``: a second compiled variant, the batches'
    model axis mapped as the weights'). Each model's learning rate is its Adam state's
    ``learning_rate`` entry, so each model's schedule reaches its own update. The epoch is
    ``jax.lax.scan`` over the batches inside the ``jit(vmap(...))``, one call per epoch
    (``epoch_loop="scan"``); on XLA's CPU backend, where loops run slowly, the steps are
    written out instead, CPU_UNROLL per call (``"unrolled"``). ``epoch_loop`` None takes the
    backend's (``default_epoch_loop``); either runs on any backend, so the GPU's scan is tested
    on the CPU. The best weights are kept stacked on the device, replaced per model by a
    ``where`` on the improved mask, so nothing leaves the device during training.
    """

    def __init__(self, models: list, recipe: Recipe, epoch_loop: EpochLoop | None = None):
        # Checked before JAX is imported: a wrong value fails at once.
        if epoch_loop is None:
            epoch_loop = default_epoch_loop()
        if epoch_loop not in EPOCH_LOOPS:
            raise ValueError(f"epoch_loop {epoch_loop!r}: one of {', '.join(EPOCH_LOOPS)}")
        self.epoch_loop = epoch_loop

        import jax
        import jax.numpy as jnp

        template = models[0]
        shapes = [tuple(w.shape) for w in template.weights]
        for model in models[1:]:
            if [tuple(w.shape) for w in model.weights] != shapes:
                raise ValueError("models trained together must have the same architecture")
        self.models = models
        self.optimizer = adam(recipe)
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

        self.trainable = stack(
            [[np.asarray(v.value) for v in m.trainable_variables] for m in models]
        )
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
        self._step_each = jax.jit(jax.vmap(one_step), donate_argnums=(0, 1, 2))

        def batches(trainable, non_trainable, opt_state, loss_sum, correct, xs, ys, x_last, y_last):
            # The same sums as the step-by-step loop of train_together, in the same order.
            def body(carry, batch):
                trainable, non_trainable, opt_state, loss_sum, correct = carry
                x, y = batch
                trainable, non_trainable, opt_state, loss, accuracy = one_step(
                    trainable, non_trainable, opt_state, x, y
                )
                size = x.shape[0]
                return (
                    trainable,
                    non_trainable,
                    opt_state,
                    loss_sum + loss * size,
                    correct + accuracy * size,
                ), None

            carry = (trainable, non_trainable, opt_state, loss_sum, correct)
            if epoch_loop == "unrolled":  # even a one-trip while loop is slow on XLA's CPU
                for i in range(xs.shape[0]):
                    carry, _ = body(carry, (xs[i], ys[i]))
            else:
                carry, _ = jax.lax.scan(body, carry, (xs, ys))
            if x_last is not None:
                carry, _ = body(carry, (x_last, y_last))
            return carry

        self._batches = jax.jit(
            jax.vmap(batches, in_axes=(0, 0, 0, 0, 0, None, None, None, None)),
            donate_argnums=(0, 1, 2, 3, 4),
        )
        # One batch per model: the whole batches (k, S, batch, ...) mapped on their axis 1 (the
        # scan runs over axis 0, so no transpose), the last ones (S, rest, ...) on axis 0.
        self._batches_each = jax.jit(
            jax.vmap(batches, in_axes=(0, 0, 0, 0, 0, 1, 1, 0, 0)),
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
        return self._epoch(self._batches, xs, ys, x_last, y_last)

    def step_each(self, x: np.ndarray, y: np.ndarray):
        self.trainable, self.non_trainable, self.opt_state, loss, accuracy = self._step_each(
            self.trainable, self.non_trainable, self.opt_state, x, y
        )
        return loss, accuracy

    def epoch_each(self, xs, ys, x_last, y_last):
        return self._epoch(self._batches_each, xs, ys, x_last, y_last)

    def _epoch(self, batches, xs, ys, x_last, y_last):
        """The epoch's whole batches (stacked on axis 0) in calls of ``batches`` (one, or
        CPU_UNROLL steps each when unrolled), the last partial batch in the last call."""
        import jax.numpy as jnp

        loss_sum = jnp.zeros(len(self.models), jnp.float32)
        correct = jnp.zeros(len(self.models), jnp.float32)
        chunk = CPU_UNROLL if self.epoch_loop == "unrolled" else max(1, len(xs))
        starts = list(range(0, len(xs), chunk)) or [0]
        for start in starts:
            last = start == starts[-1]
            (self.trainable, self.non_trainable, self.opt_state, loss_sum, correct) = batches(
                self.trainable,
                self.non_trainable,
                self.opt_state,
                loss_sum,
                correct,
                xs[start : start + chunk],
                ys[start : start + chunk],
                x_last if last else None,
                y_last if last else None,
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


# Steps per compiled call of the "unrolled" epoch loop (see JaxEngine): compile time grows
# with the unrolled length.
CPU_UNROLL = 32
EpochLoop = Literal["scan", "unrolled"]
EPOCH_LOOPS: tuple[EpochLoop, ...] = ("scan", "unrolled")


def default_epoch_loop() -> EpochLoop:
    """The JAX engine's epoch loop for JAX's default backend: "unrolled" on the CPU, where XLA
    runs a convolution inside a while loop tens of times slower than outside one, "scan" (one
    compiled call per epoch) on a GPU or TPU."""
    import jax

    return "unrolled" if jax.default_backend() == "cpu" else "scan"


def backend() -> str:
    """The Keras backend in use ("tensorflow" or "jax")."""
    import keras

    return keras.backend.backend()


def make_engine(
    models: list, recipe: Recipe, jit_compile: bool, epoch_loop: EpochLoop | None = None
) -> Engine:
    """The engine of the Keras backend in use for ``models`` (``jit_compile``: TensorFlow's;
    ``epoch_loop``: JAX's, None for its backend's)."""
    if backend() == "jax":
        return JaxEngine(models, recipe, epoch_loop)
    return TensorFlowEngine(models, recipe, jit_compile)


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
