"""Models of different shuffle seeds trained together (``train_together(..., seeds=...)``, issue
25's runs): each model is trained as if alone with its seed, on both engines.

Two FCNs of different initial weights and seeds ``SEEDS`` on a tiny dataset (Chinatown's 20
train series of length 24: two batches of 8 and a last one of 4 an epoch, 4 epochs), trained
together (each model on its own batches: the engines' ``epoch_each``) and each alone with its
seed (the shared-batch path of one model). Bounds, as tests/training/test_loop.py's
batched-equals-alone test and tests/training/test_engines.py's weight rule:

* TensorFlow: histories within ``TENSORFLOW_ATOL`` (S graph branches are the same sums as one),
  the same best epochs; the fused epoch and the step-by-step loop bit-identical.
* JAX: ``vmap`` makes the models' convolutions one grouped convolution, summing in another
  order, so per-epoch losses within ``TRAJECTORY_ATOL`` plus a tenth of the distance the loss
  travelled since epoch 1, and the same learning rates; the scan epoch against the written-out
  one within test_engines' ``2e-4 * 3**(e - 1)``; the step-by-step loop within 1e-5 over the
  first two epochs and the trajectory bound after.
* weights, both engines, per array: ``||w_together - w_alone|| <= WEIGHT_FRACTION *
  ||w_alone - w_initial||`` (the convolution biases, rounding alone under a batch norm, within
  twice Adam's largest step per step taken).

Also: ``seeds=None`` is ``seeds=[recipe.seed] * S`` bit for bit (histories and weights); the
models trained with ``SEEDS`` differ from the same models trained with the recipe's seed by
far more than the bounds (so the comparisons above can fail); a run interrupted after its
checkpoint and resumed with the same seeds equals the uninterrupted run (1e-6), the checkpoint
records the seeds, and resuming with other seeds (or none) is refused in one line naming the
file; an old checkpoint without seeds counts as the recipe's seed for every model; seeds of
the wrong length or type are refused before anything trains.

Measured here (AMD EPYC, 2 cores): TensorFlow together and alone identical (histories and
weights); JAX losses within 7e-8 of alone and of the scan epoch, weights within 4.2e-6 of their
travel; the resumed runs identical; the recipe's seed ends 0.1-0.27 in loss from ``SEEDS``. The
two interpreters run at once: about 31 s and 35 s of CPU (TensorFlow traces a graph per run;
JAX compiles five epochs and two steps, the repeats from its compilation cache), so about 40 s
on an idle 2-core machine.

The runs happen in a fresh interpreter per backend (the Keras backend is fixed when Keras is
imported; JAX on the CPU): ``python tests/training/test_runs_together.py <ucr_root> <out>``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from transfer_tsc.settings import default_recipe

BACKENDS = ["tensorflow", "jax"]
DATASET = "Chinatown"
# The recipe's seed is 0; the models' seeds differ from it and from each other.
SEEDS = [5, 11]
# lr_patience 1 with a large min_delta: the rates halve after epoch 3 (after the checkpoint of
# epoch 2), so the resumed run's schedule comes from the checkpoint.
RECIPE = dict(
    epochs=4,
    batch_size=16,
    batch_size_cap_tenth=False,
    seed=0,
    lr_patience=1,
    lr_min_delta=0.2,
    progress_every=1,
    checkpoint_every=2,
)
STEPS = 4 * 2  # epochs x steps an epoch
TENSORFLOW_ATOL = 1e-6
TRAJECTORY_FRACTION = 0.1  # test_loop's JAX trajectory bound ...
TRAJECTORY_ATOL = 2e-4  # ... plus the rounding of a first epoch's steps
LOSS_ATOL, AMPLIFICATION = 2e-4, 3.0  # test_engines' scan against written-out bound
WEIGHT_FRACTION = 0.1
RESUME_ATOL = 1e-6


class Interrupt(Exception):
    pass


# ============================================================================ the child


def _child(ucr_root: str, out: Path) -> None:
    from transfer_tsc.data import load_dataset
    from transfer_tsc.errors import InputError
    from transfer_tsc.networks.fcn import build_fcn
    from transfer_tsc.training.engines import backend
    from transfer_tsc.training.loop import train_together

    jax = backend() == "jax"
    if jax:  # alone and resumed runs reuse the compiled epochs
        import jax as jax_module

        jax_module.config.update("jax_compilation_cache_dir", str(out.parent / "jax_cache"))
        jax_module.config.update("jax_persistent_cache_min_compile_time_secs", 0)

    d = load_dataset(ucr_root, DATASET)
    x, y = d.network_input("train"), d.y_train
    recipe = default_recipe(**RECIPE)
    initial = [build_fcn(d.n_classes, seed=s).get_weights() for s in range(len(SEEDS))]
    arrays = {f"initial/{k}/{i}": w for k, ws in enumerate(initial) for i, w in enumerate(ws)}
    seconds: dict[str, float] = {}
    report: dict = {"backend": backend(), "runs": {}, "seconds": seconds}
    report["names"] = [w.path for w in build_fcn(d.n_classes, seed=0).weights]  # "conv1/bias"
    quiet = lambda _line: None  # noqa: E731

    def fresh(weights_list):
        models = [build_fcn(d.n_classes, seed=0) for _ in weights_list]
        for model, weights in zip(models, weights_list):
            model.set_weights(weights)
        return models

    def run(name, weights_list=initial, names=None, log=quiet, **options):
        models = fresh(weights_list)
        started = time.perf_counter()
        try:
            results = train_together(models, x, y, d.n_classes, recipe, log=log, **options)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        for k, (model, result) in zip(names or range(len(models)), zip(models, results)):
            report["runs"].setdefault(name, {})[str(k)] = {
                "history": result.history[["loss", "accuracy", "lr"]].to_numpy().tolist(),
                "best_epoch": result.best_epoch,
            }
            for i, w in enumerate(model.get_weights()):
                arrays[f"{name}/{k}/{i}"] = w

    run("together", seeds=SEEDS)
    for k, (weights, seed) in enumerate(zip(initial, SEEDS)):
        run("alone", [weights], names=[k], seeds=[seed])
    run("stepwise", seeds=SEEDS, fused=False)
    if jax:
        run("scan", seeds=SEEDS, epoch_loop="scan")
    run("none")
    run("recipe_seed", seeds=[recipe.seed] * len(SEEDS))

    checkpoint = out.parent / "checkpoint.h5"

    def crash_at_epoch_3(line: str) -> None:
        if "epoch 3/" in line:
            raise Interrupt

    try:
        run("interrupted", seeds=SEEDS, checkpoint=checkpoint, log=crash_at_epoch_3)
    except Interrupt:
        pass
    report["checkpoint_path"] = str(checkpoint)
    with h5py.File(checkpoint, "r") as f:
        report["checkpoint"] = {"epoch": int(f.attrs["epoch"]), "seeds": f.attrs["seeds"].tolist()}
    report["refused"] = {}
    for name, seeds in (("swapped", SEEDS[::-1]), ("none", None)):
        try:
            run(f"refused_{name}", seeds=seeds, checkpoint=checkpoint)
        except InputError as error:
            report["refused"][name] = str(error)
    report["kept_after_refusal"] = checkpoint.exists()
    run("resumed", seeds=SEEDS, checkpoint=checkpoint)
    report["checkpoint_removed"] = not checkpoint.exists()
    np.savez(out.with_suffix(".npz"), **arrays)
    out.write_text(json.dumps(report))


# ============================================================================ fixtures


@pytest.fixture(scope="module")
def runs(ucr_root, tmp_path_factory) -> dict[str, tuple[dict, dict]]:
    from conftest import run_on_both_backends

    done = run_on_both_backends(
        __file__, ucr_root, lambda backend: tmp_path_factory.mktemp(f"runs-{backend}")
    )
    reports = {}
    for backend, (report, out) in done.items():
        with np.load(out.with_suffix(".npz")) as arrays:
            reports[backend] = (report, dict(arrays))
    return reports


def _history(report: dict, run: str, k: int) -> np.ndarray:
    return np.array(report["runs"][run][str(k)]["history"])


def _weights(arrays: dict, run: str, k: int) -> list[np.ndarray]:
    n = sum(key.startswith(f"initial/{k}/") for key in arrays)
    return [arrays[f"{run}/{k}/{i}"] for i in range(n)]


def _trajectory_bound(reference: np.ndarray) -> np.ndarray:
    """Per epoch: TRAJECTORY_ATOL plus a tenth of the distance the loss travelled."""
    return TRAJECTORY_ATOL + TRAJECTORY_FRACTION * np.abs(reference - reference[0])


# ============================================================================ together = alone


@pytest.mark.parametrize("backend", BACKENDS)
def test_models_of_different_seeds_train_together_as_alone(runs, backend):
    report, _ = runs[backend]
    for k in range(len(SEEDS)):
        together, alone = _history(report, "together", k), _history(report, "alone", k)
        assert together.shape == alone.shape == (RECIPE["epochs"], 3)
        assert np.isfinite(together).all()
        if backend == "tensorflow":
            np.testing.assert_allclose(together, alone, rtol=0, atol=TENSORFLOW_ATOL)
        else:
            gap = np.abs(together[:, 0] - alone[:, 0])
            bound = _trajectory_bound(alone[:, 0])
            assert (gap <= bound).all(), f"model {k}: gap {gap} over bound {bound}"
            np.testing.assert_array_equal(together[:, 2], alone[:, 2])  # the same schedule
        runs_k = report["runs"]
        assert runs_k["together"][str(k)]["best_epoch"] == runs_k["alone"][str(k)]["best_epoch"]
    # The rates changed during the run: each model's schedule reached its steps.
    assert len({row[2] for k in range(len(SEEDS)) for row in _history(report, "together", k)}) > 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_models_of_different_seeds_end_at_their_weights_alone(runs, backend):
    report, arrays = runs[backend]
    recipe = default_recipe(**RECIPE)
    largest_step = recipe.learning_rate * (1 - recipe.beta_1) / np.sqrt(1 - recipe.beta_2)
    names = report["names"]
    from_recipe_seed = []
    for k in range(len(SEEDS)):
        initial = _weights(arrays, "initial", k)
        together, alone = _weights(arrays, "together", k), _weights(arrays, "alone", k)
        none = _weights(arrays, "none", k)
        assert len(names) == len(initial)
        for name, w0, t, a, n in zip(names, initial, together, alone, none):
            assert t.shape == a.shape == w0.shape
            if name.startswith("conv") and name.endswith("/bias"):
                # A batch norm follows: the exact gradient is 0, the computed one rounding.
                assert np.abs(t - a).max() <= 2 * largest_step * STEPS, (k, name)
                continue
            travelled = np.linalg.norm(a - w0)
            assert travelled > 0, (k, name)
            assert np.linalg.norm(t - a) <= WEIGHT_FRACTION * travelled, (k, name)
            from_recipe_seed.append(np.linalg.norm(n - a) / travelled)
    # ... which other batches would break: the same model shuffled with the recipe's seed ends
    # farther from its weights alone than the bound, in some array.
    assert max(from_recipe_seed) > WEIGHT_FRACTION, max(from_recipe_seed)


@pytest.mark.parametrize("backend", BACKENDS)
def test_different_seeds_give_different_histories(runs, backend):
    """The models of ``SEEDS`` against the same models (same initial weights) trained with the
    recipe's seed: their losses differ, in some epoch by ten times the bound above (so a model
    given another model's batches, or the shared ones, would fail the comparison with alone)."""
    report, _ = runs[backend]
    for k in range(len(SEEDS)):
        together, none = _history(report, "together", k), _history(report, "none", k)
        bound = _trajectory_bound(_history(report, "alone", k)[:, 0])
        gap = np.abs(together[:, 0] - none[:, 0])
        assert (gap > 10 * bound).any(), (k, gap, bound)


@pytest.mark.parametrize("backend", BACKENDS)
def test_step_by_step_and_scan_epochs_give_the_fused_epochs_losses(runs, backend):
    report, _ = runs[backend]
    for k in range(len(SEEDS)):
        fused, stepwise = _history(report, "together", k), _history(report, "stepwise", k)
        if backend == "tensorflow":
            np.testing.assert_array_equal(fused, stepwise)
            continue
        np.testing.assert_allclose(fused[:2, 0], stepwise[:2, 0], rtol=0, atol=1e-5)
        assert (np.abs(fused[:, 0] - stepwise[:, 0]) <= _trajectory_bound(stepwise[:, 0])).all()
        scan = _history(report, "scan", k)
        for epoch, (s, u) in enumerate(zip(scan, fused), start=1):
            assert abs(s[0] - u[0]) <= LOSS_ATOL * AMPLIFICATION ** (epoch - 1), (k, epoch)
            assert s[2] == u[2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_seeds_is_the_recipes_seed_for_every_model_bit_for_bit(runs, backend):
    report, arrays = runs[backend]
    for k in range(len(SEEDS)):
        np.testing.assert_array_equal(
            _history(report, "none", k), _history(report, "recipe_seed", k)
        )
        for a, b in zip(_weights(arrays, "none", k), _weights(arrays, "recipe_seed", k)):
            np.testing.assert_array_equal(a, b)


# ============================================================================ checkpoints


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_of_several_seeds_resumes_from_its_checkpoint(runs, backend):
    report, arrays = runs[backend]
    assert report["checkpoint"] == {"epoch": 2, "seeds": SEEDS}
    assert report["checkpoint_removed"]
    for k in range(len(SEEDS)):
        np.testing.assert_allclose(
            _history(report, "resumed", k),
            _history(report, "together", k),
            rtol=0,
            atol=RESUME_ATOL,
        )
        for r, t in zip(_weights(arrays, "resumed", k), _weights(arrays, "together", k)):
            np.testing.assert_allclose(r, t, rtol=0, atol=RESUME_ATOL * max(1.0, np.abs(t).max()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_resuming_with_other_seeds_is_refused(runs, backend):
    report, _ = runs[backend]
    refused = report["refused"]
    assert set(refused) == {"swapped", "none"}
    for message, seeds in ((refused["swapped"], SEEDS[::-1]), (refused["none"], [0, 0])):
        assert "\n" not in message and message.startswith(f"{report['checkpoint_path']}: ")
        assert f"written with shuffle seeds {SEEDS}, not {seeds}" in message, message
    assert report["kept_after_refusal"]  # refused, not deleted: the same seeds still resume


class _StubEngine:
    """The engine interface's state side, on lists (the checkpoint layer needs no Keras)."""

    def __init__(self, n_models: int):
        self.state = [
            {"weights": [np.full(3, k, np.float32)], "optimizer": [np.int64(k)], "best": None}
            for k in range(n_models)
        ]

    def weights(self, k):
        return self.state[k]["weights"]

    def set_weights(self, k, weights):
        self.state[k]["weights"] = weights

    def optimizer_values(self, k):
        return self.state[k]["optimizer"]

    def set_optimizer_values(self, k, values):
        self.state[k]["optimizer"] = values

    def best_weights(self, k):
        return self.state[k]["best"]

    def set_best_weights(self, k, weights):
        self.state[k]["best"] = weights

    def set_learning_rate(self, k, lr):
        pass


def test_a_checkpoint_without_seeds_is_the_recipes_seed_for_every_model(tmp_path):
    """A checkpoint written before seeds were recorded resumes a run of the recipe's seed, and
    only such a run."""
    from transfer_tsc.errors import InputError
    from transfer_tsc.training.checkpoints import ModelRun, restore_checkpoint, save_checkpoint
    from transfer_tsc.training.recipe import PlateauSchedule

    recipe = default_recipe(**RECIPE)

    def fresh_runs():
        return [ModelRun(PlateauSchedule(recipe.learning_rate)) for _ in SEEDS]

    path = tmp_path / "old.h5"
    save_checkpoint(path, 2, 1.5, _StubEngine(2), fresh_runs(), recipe, SEEDS)
    with h5py.File(path, "r") as f:
        assert f.attrs["seeds"].tolist() == SEEDS
    assert restore_checkpoint(path, _StubEngine(2), fresh_runs(), recipe, SEEDS) == (2, 1.5)
    with h5py.File(path, "a") as f:
        del f.attrs["seeds"]
    engine = _StubEngine(2)
    assert restore_checkpoint(path, engine, fresh_runs(), recipe) == (2, 1.5)
    assert restore_checkpoint(path, engine, fresh_runs(), recipe, [0, 0]) == (2, 1.5)
    assert engine.weights(1)[0].tolist() == [1.0, 1.0, 1.0]  # model 1's state, restored
    with pytest.raises(InputError, match=r"old\.h5: .*shuffle seeds \[0, 0\], not \[5, 11\]"):
        restore_checkpoint(path, _StubEngine(2), fresh_runs(), recipe, SEEDS)
    # None when saving is the recipe's seed for every model, too.
    save_checkpoint(path, 2, 1.5, _StubEngine(2), fresh_runs(), recipe)
    with h5py.File(path, "r") as f:
        assert f.attrs["seeds"].tolist() == [0, 0]


# ============================================================================ the seeds


@pytest.mark.parametrize(
    "seeds, message",
    [
        ([5], "1 given for 2 models; one per model"),
        ([5, 11, 12], "3 given for 2 models"),
        ([], "0 given for 2 models"),
        ([5, 1.0], "1.0 is not an integer"),
        ([5, "11"], "'11' is not an integer"),
        ([True, 11], "True is not an integer"),
        ([5, -1], "-1 is negative"),
        ("ab", "a sequence of integers"),
        (7, "a sequence of integers"),
    ],
)
def test_bad_seeds_are_refused_before_training(seeds, message):
    from transfer_tsc.training.loop import train_together

    x = np.zeros((4, 8, 1), np.float32)
    y = np.array([0, 1, 0, 1])
    # The models are never touched: the seeds are checked first.
    with pytest.raises(ValueError, match=f"^seeds: .*{message}"):
        train_together([None, None], x, y, 2, default_recipe(**RECIPE), seeds=seeds)


def test_numpy_seeds_are_accepted():
    from transfer_tsc.training.loop import _model_seeds

    recipe = default_recipe(**RECIPE)
    assert _model_seeds(np.array([5, 11]), 2, recipe) == SEEDS
    assert _model_seeds(None, 3, recipe) == [0, 0, 0]


@pytest.mark.parametrize("n", [24, 20])  # batch 8 divides 24; 20 leaves a last batch of 4
def test_per_model_batches_are_each_models_own_epoch_batches(n):
    from transfer_tsc.training.loop import epoch_batches, epoch_batches_each, epoch_order

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6, 1)).astype(np.float32)
    targets = np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]
    orders = np.stack([epoch_order(seed, 4, n) for seed in SEEDS])
    xs, ys, x_last, y_last = epoch_batches_each(x, targets, orders, 8)
    assert xs.shape == (n // 8, len(SEEDS), 8, 6, 1) and ys.shape == (n // 8, len(SEEDS), 8, 3)
    for s, order in enumerate(orders):
        own = epoch_batches(x, targets, order, 8)
        np.testing.assert_array_equal(xs[:, s], own[0])
        np.testing.assert_array_equal(ys[:, s], own[1])
        if own[2] is None:
            assert x_last is None and y_last is None
        else:
            np.testing.assert_array_equal(x_last[s], own[2])
            np.testing.assert_array_equal(y_last[s], own[3])
    assert not np.array_equal(xs[:, 0], xs[:, 1])  # the two seeds' batches differ


if __name__ == "__main__":
    _child(sys.argv[1], Path(sys.argv[2]))
