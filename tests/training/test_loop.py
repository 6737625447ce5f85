"""The training loop and its engines (``transfer_tsc.training.loop``, ``engines``): models trained
together are trained exactly as if alone, on each supported Keras backend; one compiled call per
epoch gives the step-by-step path's losses; the learning-rate schedule is Keras'
ReduceLROnPlateau; the model kept is the one
of the lowest train loss; the batch-size cap.

"Exactly as if alone" is checked where it is exact on any processor:

* one Adam step from the same weights: each model's gradient (read from Adam's first moment,
  ``m = (1 - beta_1) g`` after one step from zero) agrees with the model's gradient alone to
  float rounding, and each model's update is Adam's formula applied to its own gradient;
* the bookkeeping: each model's learning rates are Keras' plateau rule replayed on its own
  losses, and its best epoch is the argmin of its own losses;
* the trajectory over a few epochs: bit-identical on TensorFlow (S graph branches are the same
  sums as one); under ``jax.vmap`` the S models' convolutions are one grouped convolution that
  sums in another order, and training amplifies that rounding about 3x per epoch (measured on
  an AMD EPYC without AVX-512: 4e-4, 1.2e-3, 4.7e-3 in epochs 2-4; 0 to 1e-4 on this project's
  Intel machine), so there each batched model must stay within a tenth of the distance its loss
  has travelled from the alone model, which models mixed up would not.

The runs happen in a fresh interpreter per backend (the Keras backend is fixed when Keras is
imported): ``python tests/training/test_loop.py <ucr_root> <out>``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from transfer_tsc.settings import default_recipe
from transfer_tsc.training.recipe import PlateauSchedule

BACKENDS = ["tensorflow", "jax"]
# 48 of GunPoint's 50 train series: three whole batches of 16. (A last batch of 2 series
# normalises by the variance of two values, which magnifies rounding differences.)
N_TRAIN = 48
# lr_patience 1 with a large min_delta: the models' schedules halve at different epochs.
RECIPE = dict(epochs=4, lr_patience=1, lr_min_delta=0.02, progress_every=1, checkpoint_every=2)
# Float32 rounding of one step's sums (48 x 150 terms per weight), with a wide margin.
GRADIENT_RTOL = 1e-4
# JAX trajectory: within this fraction of the distance the loss travelled since epoch 1 ...
TRAJECTORY_FRACTION = 0.1
# ... plus this, the rounding of the first epoch's three steps.
TRAJECTORY_ATOL = 2e-4


class Interrupt(Exception):
    pass


def _one_step(x, y, n_classes, initial) -> dict:
    """One Adam step of the models together and of each alone, from the same weights."""
    from transfer_tsc.networks.fcn import build_fcn
    from transfer_tsc.training.engines import adam, make_engine
    from transfer_tsc.training.loop import one_hot

    recipe = default_recipe(**RECIPE)
    targets = one_hot(y, n_classes)

    def fresh(weights_list):
        models = [build_fcn(n_classes, seed=0) for _ in weights_list]
        for model, weights in zip(models, weights_list):
            model.set_weights(weights)
        return models

    template = fresh(initial[:1])[0]
    names = [w.path for w in template.weights]
    trainable = {v.path for v in template.trainable_variables}
    optimizer = adam(recipe)
    optimizer.build(template.trainable_variables)
    slots = [v.name for v in optimizer.variables]

    def run(weights_list):
        engine = make_engine(fresh(weights_list), recipe, jit_compile=False)
        losses, _ = engine.step(x, targets)
        return np.asarray(losses, dtype=np.float64), [
            {"weights": engine.weights(k), "optimizer": engine.optimizer_values(k)}
            for k in range(len(weights_list))
        ]

    together_losses, together = run(initial)
    alone_losses, alone = [], []
    for weights in initial:
        losses, (state,) = run([weights])
        alone_losses.append(float(losses[0]))
        alone.append(state)
    return {
        "names": names,
        "trainable": trainable,
        "slots": slots,
        "initial": initial,
        "together_losses": together_losses,
        "alone_losses": np.array(alone_losses),
        "together": together,
        "alone": alone,
        "recipe": recipe,
    }


def _equivalence_run(ucr_root: str, out: Path) -> dict:
    """Train 3 FCNs batched (fused and step by step), each alone, and batched with a crash and a
    resume; one step of each; report all."""
    from transfer_tsc.data import load_dataset
    from transfer_tsc.networks.fcn import build_fcn
    from transfer_tsc.training.loop import evaluate, train_together

    d = load_dataset(ucr_root, "GunPoint")
    x, y = d.network_input("train")[:N_TRAIN], d.y_train[:N_TRAIN]
    x_test = d.network_input("test")
    recipe = default_recipe(**RECIPE)
    initial = [build_fcn(d.n_classes, seed=s).get_weights() for s in range(3)]

    def fresh():
        models = [build_fcn(d.n_classes, seed=0) for _ in initial]
        for model, weights in zip(models, initial):
            model.set_weights(weights)
        return models

    def record(models, results):
        return [
            {
                "history": r.history[["loss", "accuracy", "lr"]].to_numpy().tolist(),
                "best_epoch": r.best_epoch,
                "best_loss": r.best_loss,
                "test_accuracy": evaluate(m, x_test, d.y_test)["accuracy"],
            }
            for m, r in zip(models, results)
        ]

    quiet = lambda _line: None  # noqa: E731
    models = fresh()
    batched = record(models, train_together(models, x, y, d.n_classes, recipe, log=quiet))
    models = fresh()
    stepwise = record(
        models, train_together(models, x, y, d.n_classes, recipe, log=quiet, fused=False)
    )
    alone = []
    for model in fresh():
        alone += record([model], train_together([model], x, y, d.n_classes, recipe, log=quiet))

    checkpoint = Path(os.environ.get("TMPDIR", "/tmp")) / f"ckpt-{os.getpid()}.h5"

    def crash_at_epoch_3(line: str) -> None:
        if "epoch 3/" in line:
            raise Interrupt

    try:
        train_together(fresh(), x, y, d.n_classes, recipe, checkpoint, log=crash_at_epoch_3)
    except Interrupt:
        pass
    saved = checkpoint.exists()
    models = fresh()
    resumed = record(
        models, train_together(models, x, y, d.n_classes, recipe, checkpoint, log=quiet)
    )

    step = _one_step(x[:16], y[:16], d.n_classes, initial)
    arrays = {}
    for who in ("together", "alone"):
        for k, state in enumerate(step[who]):
            for part in ("weights", "optimizer"):
                for i, a in enumerate(state[part]):
                    arrays[f"{who}/{k}/{part}/{i}"] = np.asarray(a)
    for k, weights in enumerate(initial):
        for i, a in enumerate(weights):
            arrays[f"initial/{k}/{i}"] = a
    np.savez(out.with_suffix(".npz"), **arrays)
    return {
        "batched": batched,
        "stepwise": stepwise,
        "alone": alone,
        "resumed": resumed,
        "checkpoint_saved": saved,
        "checkpoint_removed": not checkpoint.exists(),
        "one_step": {
            "names": step["names"],
            "trainable": sorted(step["trainable"]),
            "slots": step["slots"],
            "models": len(initial),
            "together_losses": step["together_losses"].tolist(),
            "alone_losses": step["alone_losses"].tolist(),
        },
    }


@pytest.fixture(scope="module", params=BACKENDS)
def equivalence(request, ucr_root, tmp_path_factory):
    backend = request.param
    out = tmp_path_factory.mktemp(backend) / "runs.json"
    env = dict(os.environ, KERAS_BACKEND=backend, TMPDIR=str(out.parent))
    done = subprocess.run(
        [sys.executable, __file__, str(ucr_root), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    runs = json.loads(out.read_text())
    with np.load(out.with_suffix(".npz")) as arrays:
        runs["arrays"] = dict(arrays)
    return backend, runs


def test_one_step_together_is_each_models_own_step(equivalence):
    """Each model's gradient, batch-norm statistics and loss of one step together equal its
    step alone to float rounding; each update is Adam's formula on the model's own gradient."""
    _, runs = equivalence
    step, arrays = runs["one_step"], runs["arrays"]
    recipe = default_recipe(**RECIPE)
    np.testing.assert_allclose(step["together_losses"], step["alone_losses"], rtol=1e-5)
    slot = {name: i for i, name in enumerate(step["slots"])}
    t = 1  # Adam's step count after one step
    scale = recipe.learning_rate * math.sqrt(1 - recipe.beta_2**t) / (1 - recipe.beta_1**t)
    checked = 0
    momentum = {name: slot[name.replace("/", "_") + "_momentum"] for name in step["trainable"]}
    for k in range(step["models"]):
        # Rounding is relative to the model's largest gradient (a convolution's bias feeds a
        # batch norm, so its exact gradient is 0 and the computed one is rounding alone).
        largest = max(np.abs(arrays[f"alone/{k}/optimizer/{i}"]).max() for i in momentum.values())
        largest /= 1 - recipe.beta_1
        for i, name in enumerate(step["names"]):
            before = arrays[f"initial/{k}/{i}"]
            together = arrays[f"together/{k}/weights/{i}"]
            alone = arrays[f"alone/{k}/weights/{i}"]
            if name not in step["trainable"]:  # batch-norm moving statistics
                np.testing.assert_allclose(
                    together, alone, rtol=0, atol=1e-5 * np.abs(alone).max() + 1e-7
                )
                continue
            key = name.replace("/", "_")
            m = arrays[f"together/{k}/optimizer/{slot[key + '_momentum']}"]
            v = arrays[f"together/{k}/optimizer/{slot[key + '_velocity']}"]
            gradient = m / (1 - recipe.beta_1)
            gradient_alone = arrays[f"alone/{k}/optimizer/{slot[key + '_momentum']}"] / (
                1 - recipe.beta_1
            )
            np.testing.assert_allclose(
                gradient,
                gradient_alone,
                rtol=0,
                atol=GRADIENT_RTOL * largest,
                err_msg=f"model {k} {name}",
            )
            np.testing.assert_allclose(v, (1 - recipe.beta_2) * gradient**2, rtol=1e-5, atol=1e-12)
            m, v = m.astype(np.float64), v.astype(np.float64)
            expected = before - scale * m / (np.sqrt(v) + recipe.epsilon)
            # float32 rounding of the weight and of Adam's few operations on the update (where
            # |g| is near Adam's epsilon the update is most sensitive: lr / epsilon-hat)
            atol = 1e-6 * np.abs(before).max() + 1e-5 * recipe.learning_rate
            np.testing.assert_allclose(
                together, expected, rtol=0, atol=atol, err_msg=f"model {k} {name}"
            )
            checked += 1
    assert checked == step["models"] * len(step["trainable"])
    # The test means something: the models' gradients differ from each other.
    first = step["names"].index(step["trainable"][0])
    assert not np.allclose(
        arrays[f"together/0/weights/{first}"], arrays[f"together/1/weights/{first}"]
    )


def test_each_models_schedule_and_best_epoch_follow_its_own_losses(equivalence):
    _, runs = equivalence
    recipe = default_recipe(**RECIPE)
    for run in runs["batched"] + runs["alone"] + runs["stepwise"]:
        history = np.array(run["history"])
        schedule = PlateauSchedule(recipe.learning_rate)
        replayed = []
        for loss in history[:, 0]:
            replayed.append(schedule.lr)  # the rate the epoch trained with
            schedule.update(float(loss), recipe)
        np.testing.assert_array_equal(history[:, 2], replayed)
        assert run["best_epoch"] == int(np.argmin(history[:, 0])) + 1
        assert run["best_loss"] == history[:, 0].min()
    # The test means something: the three schedules are not all the same.
    lrs = {tuple(np.array(r["history"])[:, 2]) for r in runs["batched"]}
    assert len(lrs) > 1, lrs


def test_batched_models_train_as_if_alone(equivalence):
    backend, runs = equivalence
    losses_alone = np.array([np.array(r["history"])[:, 0] for r in runs["alone"]])
    for k, (batched, alone) in enumerate(zip(runs["batched"], runs["alone"])):
        b, a = np.array(batched["history"]), np.array(alone["history"])
        assert b.shape == a.shape == (RECIPE["epochs"], 3)
        if backend == "tensorflow":
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
            assert batched["best_epoch"] == alone["best_epoch"]
            assert batched["test_accuracy"] == alone["test_accuracy"]
            continue
        bound = TRAJECTORY_ATOL + TRAJECTORY_FRACTION * np.abs(a[:, 0] - a[0, 0])
        gap = np.abs(b[:, 0] - a[:, 0])
        assert (gap <= bound).all(), f"model {k}: gap {gap} over bound {bound}"
        # ... which a mixed-up model would break: the other models' first epochs are farther.
        others = np.delete(losses_alone[:, 0], k)
        assert (np.abs(others - a[0, 0]) > 10 * bound[0]).all(), (others, a[0, 0], bound[0])


def test_one_call_per_epoch_gives_the_step_by_step_losses(equivalence):
    """The fused epoch (a loop inside one compiled call) against one compiled call per batch:
    bit-identical on TensorFlow; on JAX (XLA may fuse across the unrolled steps) within 1e-5
    over the first two epochs and the trajectory bound after."""
    backend, runs = equivalence
    for fused, stepwise in zip(runs["batched"], runs["stepwise"]):
        f, s = np.array(fused["history"]), np.array(stepwise["history"])
        if backend == "tensorflow":
            np.testing.assert_array_equal(f, s)
            assert fused["test_accuracy"] == stepwise["test_accuracy"]
            continue
        np.testing.assert_allclose(f[:2, 0], s[:2, 0], rtol=0, atol=1e-5)
        bound = TRAJECTORY_ATOL + TRAJECTORY_FRACTION * np.abs(s[:, 0] - s[0, 0])
        assert (np.abs(f[:, 0] - s[:, 0]) <= bound).all()


def test_resume_from_checkpoint_continues_the_same_run(equivalence):
    backend, runs = equivalence
    assert runs["checkpoint_saved"] and runs["checkpoint_removed"]
    for resumed, batched in zip(runs["resumed"], runs["batched"]):
        np.testing.assert_allclose(
            np.array(resumed["history"]), np.array(batched["history"]), rtol=0, atol=1e-6
        )
        assert resumed["test_accuracy"] == batched["test_accuracy"]


def test_both_engines_implement_the_engine_interface():
    """Every method of ``engines.Engine``, with its parameters, on each engine (and no other
    public method)."""
    import inspect

    from transfer_tsc.training.engines import Engine, JaxEngine, TensorFlowEngine

    methods = {name for name in vars(Engine) if not name.startswith("_")}
    assert len(methods) == 13, methods
    for engine in (TensorFlowEngine, JaxEngine):
        public = {name for name in vars(engine) if not name.startswith("_")}
        assert public == methods, (engine.__name__, public ^ methods)
        for name in methods:
            ours = list(inspect.signature(getattr(engine, name)).parameters)
            assert ours == list(inspect.signature(getattr(Engine, name)).parameters), name


# ----------------------------------------------------------------------------- the schedule


def test_plateau_schedule_hand_computed():
    """patience 2, factor 0.5, min_delta 0.1, min_lr 2.5e-4, by hand from Keras' rules."""
    recipe = default_recipe(lr_patience=2, lr_factor=0.5, lr_min_delta=0.1, min_lr=2.5e-4)
    schedule = PlateauSchedule(1e-3)
    losses = [1.0, 0.95, 0.92, 0.85, 0.80, 0.79, 0.78, 0.77, 0.5]
    # 1.0 improves on inf; 0.95, 0.92 are not below 1.0 - 0.1: halve after the 2nd;
    # 0.85 improves; 0.80, 0.79 do not (0.75): halve to the floor 2.5e-4; 0.78, 0.77 wait at
    # the floor without change; 0.5 improves.
    expected_lr = [1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 2.5e-4]
    expected_wait = [0, 1, 0, 0, 1, 0, 1, 2, 0]
    got = []
    for loss in losses:
        schedule.update(loss, recipe)
        got.append((schedule.lr, schedule.wait))
    assert got == list(zip(expected_lr, expected_wait))
    assert schedule.best == 0.5


def test_plateau_schedule_matches_keras_reduce_lr_on_plateau():
    import keras

    from transfer_tsc.networks.fcn import build_fcn

    recipe = default_recipe(lr_patience=5, lr_factor=0.5, lr_min_delta=1e-3, min_lr=1e-4)
    rng = np.random.default_rng(0)
    # A noisy decreasing train loss with long plateaus: 300 epochs.
    losses = 1.0 / (1.0 + np.cumsum(rng.random(300) < 0.1)) + rng.normal(0, 2e-4, 300)

    model = build_fcn(2, seed=0)
    model.compile(
        optimizer=keras.optimizers.Adam(recipe.learning_rate), loss="categorical_crossentropy"
    )
    callback = keras.callbacks.ReduceLROnPlateau(
        monitor="loss",
        factor=recipe.lr_factor,
        patience=recipe.lr_patience,
        min_delta=recipe.lr_min_delta,
        min_lr=recipe.min_lr,
        cooldown=0,
    )
    callback.set_model(model)
    callback.on_train_begin()
    schedule = PlateauSchedule(recipe.learning_rate)
    ours, theirs = [], []
    for epoch, loss in enumerate(losses):
        callback.on_epoch_end(epoch, {"loss": float(loss)})
        theirs.append(float(model.optimizer.learning_rate))
        ours.append(schedule.update(float(loss), recipe))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert len(set(np.round(theirs, 8))) >= 3  # the sequence reaches several rates


# ----------------------------------------------------------------------- best weights, batch


@pytest.fixture(scope="module")
def gunpoint(ucr_root):
    from transfer_tsc.data import load_dataset

    d = load_dataset(ucr_root, "GunPoint")
    return d.network_input("train")[:N_TRAIN], d.y_train[:N_TRAIN], d.n_classes


def test_model_kept_is_the_lowest_train_loss(gunpoint):
    """Train 6 epochs at a high learning rate (a bumpy loss); the weights kept equal those of
    the same run stopped at its best epoch."""
    from transfer_tsc.networks.fcn import build_fcn
    from transfer_tsc.training.loop import train_together

    x, y, n_classes = gunpoint
    recipe = default_recipe(epochs=6, learning_rate=0.05, progress_every=100)
    initial = build_fcn(n_classes, seed=3).get_weights()
    model = build_fcn(n_classes, seed=3)
    (result,) = train_together([model], x, y, n_classes, recipe, log=lambda _l: None)
    losses = result.history["loss"].to_numpy()
    best = int(np.argmin(losses)) + 1
    assert result.best_epoch == best and result.best_loss == losses.min()
    assert best < recipe.epochs, f"loss fell every epoch ({losses}); the test needs a bump"

    again = build_fcn(n_classes, seed=3)
    again.set_weights(initial)
    stopped = dataclasses.replace(recipe, epochs=best)
    train_together([again], x, y, n_classes, stopped, log=lambda _l: None)
    for kept, at_best in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(kept, at_best)


def test_batch_size_cap():
    assert default_recipe().batch_size_for(50) == 16
    assert default_recipe().batch_size_for(5) == 16
    capped = default_recipe(batch_size_cap_tenth=True)
    assert capped.batch_size_for(1000) == 16
    assert capped.batch_size_for(50) == 5
    assert capped.batch_size_for(9) == 1


def test_capped_batch_is_what_the_engine_steps(gunpoint, tmp_path):
    """With the cap, one epoch on 48 series is ceil(48 / 4) = 12 Adam steps (the step count in
    the checkpoint's optimizer state), against 3 without it."""
    from transfer_tsc.networks.fcn import build_fcn
    from transfer_tsc.training.loop import train_together

    x, y, n_classes = gunpoint
    steps = {}
    for cap in (False, True):
        recipe = default_recipe(
            epochs=2, batch_size_cap_tenth=cap, progress_every=1, checkpoint_every=1
        )
        path = tmp_path / f"cap{cap}.h5"

        def stop_at_2(line: str) -> None:
            if "epoch 2/" in line:
                raise Interrupt

        with pytest.raises(Interrupt):
            train_together([build_fcn(n_classes, seed=0)], x, y, n_classes, recipe, path, stop_at_2)
        with h5py.File(path, "r") as f:
            assert f.attrs["epoch"] == 1
            steps[cap] = int(f["model0/optimizer/0"][()])  # Keras Adam's "iteration"
    assert steps == {False: math.ceil(N_TRAIN / 16), True: math.ceil(N_TRAIN / 4)}


def test_a_diverging_training_stops_naming_the_dataset_and_epoch(ucr_root):
    """Series of 1e38 overflow the first convolution: the loss is NaN in epoch 1 and
    pre-training stops with one line naming the dataset, instead of finishing with a
    meaningless accuracy."""
    from transfer_tsc.data import load_dataset
    from transfer_tsc.training.loop import TrainingDiverged
    from transfer_tsc.training.transfer import pretrain

    d = load_dataset(ucr_root, "Chinatown")
    huge = dataclasses.replace(d, x_train=d.x_train * np.float32(1e38))
    with pytest.raises(
        TrainingDiverged, match=r"\[pretrain Chinatown\] epoch 1: train loss is nan"
    ):
        pretrain(huge, default_recipe(epochs=3, progress_every=100), log=lambda _line: None)


# ------------------------------------------------------------------------- the config choice


@pytest.mark.workflow
def test_workflow_trains_on_the_configured_backend(tmp_path, ucr_root):
    """``training.backend: jax`` reaches the rule scripts: pre-training and a fine-tuning batch
    of two sources run on JAX and write the usual per-pair files."""
    from conftest import SHORT_TRAINING, run_snakemake

    config = {
        "ucr_root": str(ucr_root),
        "datasets": ["Chinatown", "Coffee", "GunPoint"],
        **SHORT_TRAINING,
        "training": {**SHORT_TRAINING["training"], "backend": "jax"},
        "finetune": {**SHORT_TRAINING["finetune"], "group_size": 2},
    }
    from transfer_tsc.study import batch_id

    targets = [f"results/fcn/finetune/{s}/GunPoint/metrics.csv" for s in ("Chinatown", "Coffee")]
    # The batch folder too: pair files asked for alone would each train alone (rules/common.smk).
    batch = f"results/fcn/finetune_batches/GunPoint/{batch_id(['Chinatown', 'Coffee'])}"
    run_snakemake(tmp_path, config, *targets, batch)
    for target in targets:
        assert (tmp_path / target).is_file()
    logs = list((tmp_path / "logs").rglob("*.log"))
    training_logs = [p for p in logs if p.parent.name in ("pretrain", "GunPoint")]
    assert len(training_logs) == 3, logs  # two pre-trains, one batch of two sources
    for path in training_logs:
        assert "Keras backend: jax" in path.read_text(), path


def test_unknown_backend_is_refused():
    from transfer_tsc.errors import InputError
    from transfer_tsc.workflow.runner import select_backend

    with pytest.raises(InputError, match="training.backend"):
        select_backend({"training": {"backend": "torch"}})


if __name__ == "__main__":
    root, out = sys.argv[1], Path(sys.argv[2])
    out.write_text(json.dumps(_equivalence_run(root, out)))
