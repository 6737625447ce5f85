"""ResNet and Inception trained together are trained as if alone, on both engines (the FCN's
check is tests/training/test_loop.py's ``test_batched_models_train_as_if_alone``; its bounds are
the ones used here).

Per network, two models of different seeds on a tiny dataset (Chinatown's first 16 train
series, of length 24: two batches of 8 an epoch, 2 epochs), trained by ``train_together`` as the
workflow trains them (one compiled call per epoch), together and each alone from the same
weights. Their per-epoch train losses:

* on TensorFlow equal to 1e-6 (S graph branches are the same sums as one);
* on JAX, whose ``vmap`` makes the S models' convolutions one grouped convolution that sums in
  another order, within ``TRAJECTORY_ATOL`` plus a tenth of the distance the loss travelled
  since epoch 1 (test_loop's bound, which holds there on an AMD EPYC without AVX-512 and on an
  Intel machine), which the other model's losses would not meet. Measured here (AMD EPYC, 2
  cores): gaps of at most 2.5e-7 (Inception) and 6e-8 (ResNet); TensorFlow's identical.

The two interpreters run at once: about 37 s and 47 s of CPU (JAX compiles each network's
epoch for 2 models and for 1; the second model alone reuses the first's from JAX's compilation
cache), so about 50 s on an idle 2-core machine.

The runs happen in a fresh interpreter per backend (the Keras backend is fixed when Keras is
imported; JAX on the CPU): ``python tests/training/test_engines_networks.py <ucr_root> <out>``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from transfer_tsc.settings import default_recipe

BACKENDS = ["tensorflow", "jax"]
NETWORKS = ["resnet", "inception"]
DATASET, N_TRAIN, MODELS = "Chinatown", 16, 2
RECIPE = dict(epochs=2, batch_size=8, batch_size_cap_tenth=False, progress_every=100)
TENSORFLOW_ATOL = 1e-6
TRAJECTORY_FRACTION = 0.1  # test_loop's JAX trajectory bound ...
TRAJECTORY_ATOL = 2e-4  # ... plus the rounding of a first epoch's steps


# ============================================================================ the child


def _run(ucr_root: str, out: Path) -> None:
    from transfer_tsc.data import load_dataset
    from transfer_tsc.networks import network
    from transfer_tsc.training.engines import backend
    from transfer_tsc.training.loop import train_together

    if backend() == "jax":  # the second model alone reuses the first's compiled epoch
        import jax

        jax.config.update("jax_compilation_cache_dir", str(out.parent / "jax_cache"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)

    d = load_dataset(ucr_root, DATASET)
    x, y = d.network_input("train")[:N_TRAIN], d.y_train[:N_TRAIN]
    recipe = default_recipe(**RECIPE)
    report = {"backend": backend()}
    quiet = lambda _line: None  # noqa: E731
    for name in NETWORKS:
        spec = network(name)
        initial = [spec.build(d.n_classes, seed=s).get_weights() for s in range(MODELS)]

        def fresh(weights_list, spec=spec):
            models = [spec.build(d.n_classes, seed=0) for _ in weights_list]
            for model, weights in zip(models, weights_list):
                model.set_weights(weights)
            return models

        batched = train_together(fresh(initial), x, y, d.n_classes, recipe, log=quiet)
        alone = [
            train_together(fresh([w]), x, y, d.n_classes, recipe, log=quiet)[0] for w in initial
        ]
        report[name] = {
            "batched": [r.history["loss"].tolist() for r in batched],
            "alone": [r.history["loss"].tolist() for r in alone],
        }
    out.write_text(json.dumps(report))


# ============================================================================ the tests


@pytest.fixture(scope="module")
def runs(ucr_root, tmp_path_factory) -> dict[str, dict]:
    from conftest import run_on_both_backends

    done = run_on_both_backends(
        __file__, ucr_root, lambda backend: tmp_path_factory.mktemp(f"networks-{backend}")
    )
    return {backend: report for backend, (report, _) in done.items()}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NETWORKS)
def test_batched_models_train_as_if_alone(runs, backend, name):
    report = runs[backend][name]
    batched, alone = np.array(report["batched"]), np.array(report["alone"])
    assert batched.shape == alone.shape == (MODELS, RECIPE["epochs"])
    assert np.isfinite(batched).all()
    for k in range(MODELS):
        b, a = batched[k], alone[k]
        if backend == "tensorflow":
            np.testing.assert_allclose(b, a, rtol=0, atol=TENSORFLOW_ATOL)
        else:
            bound = TRAJECTORY_ATOL + TRAJECTORY_FRACTION * np.abs(a - a[0])
            gap = np.abs(b - a)
            assert (gap <= bound).all(), f"{name} model {k}: gap {gap} over bound {bound}"
        # ... which a mixed-up model would break: the other model's first epoch is farther.
        other = alone[1 - k, 0]
        assert abs(other - a[0]) > 10 * TRAJECTORY_ATOL, (other, a[0])
    # it trained: the loss moved
    assert (np.abs(alone[:, 1] - alone[:, 0]) > 0).all()


if __name__ == "__main__":
    _run(sys.argv[1], Path(sys.argv[2]))
