"""The code only a GPU runs, run on the CPU (issue 22), so the first GPU run meets tested code.

* ``engines.JaxEngine``'s epoch loop: JAX's backend chooses it (``default_epoch_loop``: the
  steps written out on the CPU, ``jax.lax.scan`` elsewhere); ``epoch_loop="scan"`` forces the
  GPU's loop here. On a real dataset it gives the written-out epoch's per-epoch losses, learning
  rates and best epochs, and its weights, within the bounds below; it resumes from a checkpoint
  as an uninterrupted run; its lowered program holds a loop and the written-out one none.
* bf16 mixed precision (``benchmarks/gpu_check.py``'s policy): the scan epoch runs under it,
  every convolution of the lowered epoch (forward and backward) is bf16 while the loss sums
  stay float32, and the losses stay near float32's.
* The GPU memory settings (``gpu_check.child_env``): the options JAX's CUDA plugin reads at
  start-up from that environment turn preallocation off; the peak-memory reading, the GPU
  check of the import list and the CSV's measured peak, on stand-in devices.

Bounds (per epoch e = 1, 2, ...):

* losses, scan vs written out: ``LOSS_ATOL * 3**(e - 1)`` (2e-4, 6e-4, 1.8e-3, 5.4e-3). The
  two loops run the same operations, but XLA may fuse, and so sum, them in another order inside
  a loop body than in straight-line code: a reordering of the kind of a grouped convolution's
  against separate ones, whose first-epoch rounding tests/training/test_loop.py bounds by 2e-4;
  training amplifies rounding about 3x an epoch (README; there 4e-4, 1.2e-3, 4.7e-3 in epochs
  2-4 on an AMD EPYC, within this bound). Learning rates and best epochs: equal.
* weights, scan vs written out, per array: ``||w_scan - w_unrolled|| <= WEIGHT_FRACTION *
  ||w_unrolled - w_initial||``, test_training's trajectory rule (a tenth of the distance
  travelled: a loop that drops, repeats or reorders a batch moves the weights by a large part
  of an epoch's travel). Not elementwise: where a gradient is near Adam's epsilon, the
  normalised step ``m / (sqrt(v) + eps)`` turns rounding into a step of up to lr, so single
  weights may differ by ~lr while the loss does not move. The convolution biases are rounding
  alone (a batch normalisation follows each, so its exact gradient is 0); they are held to
  twice Adam's largest step, ``lr (1 - beta_1) / sqrt(1 - beta_2)`` (Kingma & Ba 2015, 2.1),
  per step taken.
* resume: the same compiled computation on the values the checkpoint restores: histories
  within 1e-6 (as test_training's resume test), weights within 1e-6 of their array's largest
  value (at least 1).
* bf16 vs float32: ``BF16_RTOL * loss + BF16_ATOL``. bf16 keeps 8 significant bits (relative
  rounding up to 2^-8 = 4e-3 an operation, 2^16 times float32's); 10 % of the loss plus 0.02
  is generous for a few epochs, yet a run that does not update or diverges falls outside. The
  difference must also exceed ``BF16_VISIBLE`` somewhere, which float32 rounding would not.

Measured here (AMD EPYC, 2 cores): losses scan vs written out within 5e-8, weights within
1.2e-5 of their travel (convolution biases within 4e-5), the resumed run identical, bf16
within 6.6e-3 of float32.

The JAX runs happen in a fresh interpreter (``KERAS_BACKEND=jax``, ``JAX_PLATFORMS=cpu``):
``python tests/training/test_engines.py <ucr_root> <out.json> fp32|bf16``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from transfer_tsc.settings import default_recipe

REPO = Path(__file__).resolve().parents[2]
GPU_CHECK = REPO / "benchmarks" / "gpu_check.py"
# 20 train series of length 24, two classes: with batches of 8 each epoch is two scanned steps
# and a last batch of 4, all in one call.
DATASET = "Chinatown"
MODELS = 2
# lr_patience 1 with a large min_delta: the rates halve after epoch 3 (the loss falls by less
# than 0.2), after the checkpoint of epoch 2, so the resumed run's schedule comes from it.
RECIPE = dict(
    epochs=4,
    batch_size=8,
    batch_size_cap_tenth=False,
    lr_patience=1,
    lr_min_delta=0.2,
    progress_every=1,
    checkpoint_every=2,
)
STEPS_PER_EPOCH = 3
LOSS_ATOL = 2e-4
AMPLIFICATION = 3.0
WEIGHT_FRACTION = 0.1
RESUME_ATOL = 1e-6
BF16_RTOL, BF16_ATOL = 0.1, 0.02
BF16_VISIBLE = 1e-5


class Interrupt(Exception):
    pass


def load_gpu_check() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", GPU_CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ============================================================================ the child


def _convolution_types(text: str) -> list[tuple[str, ...]]:
    """The element types (operands, result) of each convolution of a StableHLO text."""
    tensor = r"tensor<(?:\d+x)*([a-z]\w*)>"  # tensor<2x8x24x1xbf16>: bf16
    pattern = rf"stablehlo\.convolution.*?: \({tensor}, {tensor}\) -> {tensor}"
    return [m.groups() for m in re.finditer(pattern, text)]


def _lowered_epoch(engine, x, targets, recipe) -> str:
    """The StableHLO of one epoch's compiled call (lowered, not run)."""
    import jax.numpy as jnp

    from transfer_tsc.training.loop import epoch_batches, epoch_order

    batches = epoch_batches(
        x, targets, epoch_order(recipe.seed, 0, len(x)), recipe.batch_size_for(len(x))
    )
    zeros = jnp.zeros(MODELS, jnp.float32)
    return engine._batches.lower(
        engine.trainable, engine.non_trainable, engine.opt_state, zeros, zeros, *batches
    ).as_text()


def _child(ucr_root: str, out: Path, precision: str) -> None:
    import jax
    import keras

    # Compiled once: the resumed run is the uninterrupted run's computation again.
    jax.config.update("jax_compilation_cache_dir", str(out.parent / "jax_cache"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)

    from transfer_tsc.data import load_dataset
    from transfer_tsc.networks.fcn import build_fcn
    from transfer_tsc.training.engines import JaxEngine, default_epoch_loop
    from transfer_tsc.training.loop import one_hot, train_together

    d = load_dataset(ucr_root, DATASET)
    x, y = d.network_input("train"), d.y_train
    recipe = default_recipe(**RECIPE)
    initial = [build_fcn(d.n_classes, seed=s).get_weights() for s in range(MODELS)]
    load_gpu_check()._policy(precision)  # the GPU check's own switch, before the models

    def fresh():
        models = [build_fcn(d.n_classes, seed=0) for _ in initial]
        for model, weights in zip(models, initial):
            model.set_weights(weights)
        return models

    arrays = {f"initial/{k}/{i}": w for k, ws in enumerate(initial) for i, w in enumerate(ws)}
    report: dict = {"default_epoch_loop": default_epoch_loop(), "runs": {}, "seconds": {}}

    def run(name, epoch_loop, checkpoint=None, log=lambda _line: None):
        models = fresh()
        started = time.perf_counter()
        try:
            results = train_together(
                models, x, y, d.n_classes, recipe, checkpoint, log=log, epoch_loop=epoch_loop
            )
        finally:
            report["seconds"][name] = time.perf_counter() - started
        report["runs"][name] = [
            {
                "history": r.history[["loss", "accuracy", "lr"]].to_numpy().tolist(),
                "best_epoch": r.best_epoch,
            }
            for r in results
        ]
        for k, model in enumerate(models):
            for i, w in enumerate(model.get_weights()):
                arrays[f"{name}/{k}/{i}"] = w

    run("scan", "scan")
    if precision == "fp32":
        run("unrolled", "unrolled")
        checkpoint = out.parent / "scan.h5"

        def crash_at_epoch_3(line: str) -> None:
            if "epoch 3/" in line:
                raise Interrupt

        try:
            run("interrupted", "scan", checkpoint, log=crash_at_epoch_3)
        except Interrupt:
            pass
        report["checkpoint_saved"] = checkpoint.exists()
        run("resumed", "scan", checkpoint)
        report["checkpoint_removed"] = not checkpoint.exists()
        report["engine_default"] = JaxEngine(fresh(), recipe).epoch_loop
    targets = one_hot(y, d.n_classes)
    report["lowered"] = {}
    for loop in ("scan", "unrolled"):
        text = _lowered_epoch(JaxEngine(fresh(), recipe, loop), x, targets, recipe)
        report["lowered"][loop] = {
            "while_loops": text.count("stablehlo.while"),
            "convolutions": _convolution_types(text),
            "outputs": re.search(
                r"func\.func public @main\(.*?\) -> \((.*?)\) \{", text, re.S
            ).group(1),
        }
    template = fresh()[0]
    report["names"] = [w.path for w in template.weights]  # get_weights order: "conv1/bias"
    report["conv_compute_dtype"] = template.get_layer("conv1").compute_dtype
    report["policy"] = keras.mixed_precision.global_policy().name
    np.savez(out.with_suffix(".npz"), **arrays)
    out.write_text(json.dumps(report))


# ============================================================================ fixtures


def _run_child(ucr_root: Path, out: Path, precision: str) -> tuple[dict, dict]:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, __file__, str(ucr_root), str(out), precision],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    with np.load(out.with_suffix(".npz")) as arrays:
        return json.loads(out.read_text()), dict(arrays)


@pytest.fixture(scope="module")
def fp32(ucr_root, tmp_path_factory):
    return _run_child(ucr_root, tmp_path_factory.mktemp("fp32") / "runs.json", "fp32")


@pytest.fixture(scope="module")
def bf16(ucr_root, tmp_path_factory):
    return _run_child(ucr_root, tmp_path_factory.mktemp("bf16") / "runs.json", "bf16")


def _history(report: dict, run: str, k: int) -> np.ndarray:
    return np.array(report["runs"][run][k]["history"])


def _weights(arrays: dict, run: str, k: int) -> list[np.ndarray]:
    n = sum(key.startswith(f"initial/{k}/") for key in arrays)
    return [arrays[f"{run}/{k}/{i}"] for i in range(n)]


def loss_bound(epoch: int) -> float:
    """Rounding between two summation orders after ``epoch`` epochs (1-based)."""
    return LOSS_ATOL * AMPLIFICATION ** (epoch - 1)


# ============================================================================ the epoch loop


def test_default_epoch_loop_follows_the_backend(monkeypatch, fp32):
    """Written out on the CPU, the scan on a GPU or TPU (JAX stand-in); unchanged default."""
    from transfer_tsc.training import engines

    report, _ = fp32
    assert report["default_epoch_loop"] == report["engine_default"] == "unrolled"
    for platform, loop in (("cpu", "unrolled"), ("gpu", "scan"), ("tpu", "scan")):
        monkeypatch.setitem(
            sys.modules, "jax", types.SimpleNamespace(default_backend=lambda p=platform: p)
        )
        assert engines.default_epoch_loop() == loop


def test_an_unknown_epoch_loop_is_refused():
    from transfer_tsc.training.engines import JaxEngine

    with pytest.raises(ValueError, match="epoch_loop 'while': one of scan, unrolled"):
        JaxEngine([], default_recipe(), "while")


def test_the_scan_epoch_is_one_loop_and_the_written_out_none(fp32):
    """What is compared below is what a GPU runs: the scan epoch lowers to a loop."""
    lowered = fp32[0]["lowered"]
    assert lowered["scan"]["while_loops"] >= 1
    assert lowered["unrolled"]["while_loops"] == 0


def test_scan_epoch_gives_the_written_out_epochs_losses(fp32):
    report, _ = fp32
    recipe = default_recipe(**RECIPE)
    for k in range(MODELS):
        scan, unrolled = _history(report, "scan", k), _history(report, "unrolled", k)
        assert scan.shape == unrolled.shape == (recipe.epochs, 3)
        for epoch, (s, u) in enumerate(zip(scan, unrolled), start=1):
            assert abs(s[0] - u[0]) <= loss_bound(epoch), (k, epoch, s[0], u[0])
            assert abs(s[1] - u[1]) <= 1 / 20 + 1e-9  # at most one of 20 series flips
            assert s[2] == u[2]  # the same learning-rate schedule
        best = [report["runs"][run][k]["best_epoch"] for run in ("scan", "unrolled")]
        assert best[0] == best[1], (k, best)
    # The rates changed during the run: each model's reaches the loop in its Adam state.
    assert len({row[2] for k in range(MODELS) for row in _history(report, "scan", k)}) > 1


def test_scan_epoch_gives_the_written_out_epochs_weights(fp32):
    report, arrays = fp32
    recipe = default_recipe(**RECIPE)
    names = report["names"]
    steps = recipe.epochs * STEPS_PER_EPOCH
    largest_step = recipe.learning_rate * (1 - recipe.beta_1) / np.sqrt(1 - recipe.beta_2)
    for k in range(MODELS):
        initial = _weights(arrays, "initial", k)
        scan, unrolled = _weights(arrays, "scan", k), _weights(arrays, "unrolled", k)
        assert len(names) == len(initial)
        for name, w0, s, u in zip(names, initial, scan, unrolled):
            assert s.shape == u.shape == w0.shape
            if name.startswith("conv") and name.endswith("/bias"):
                assert np.abs(s - u).max() <= 2 * largest_step * steps, (k, name)
                continue
            travelled = np.linalg.norm(u - w0)
            assert travelled > 0, (k, name)
            assert np.linalg.norm(s - u) <= WEIGHT_FRACTION * travelled, (k, name)


def test_scan_epoch_resumes_from_a_checkpoint(fp32):
    report, arrays = fp32
    assert report["checkpoint_saved"] and report["checkpoint_removed"]
    for k in range(MODELS):
        np.testing.assert_allclose(
            _history(report, "resumed", k), _history(report, "scan", k), rtol=0, atol=RESUME_ATOL
        )
        for r, s in zip(_weights(arrays, "resumed", k), _weights(arrays, "scan", k)):
            np.testing.assert_allclose(r, s, rtol=0, atol=RESUME_ATOL * max(1.0, np.abs(s).max()))


# ============================================================================ bf16


def test_bf16_epoch_computes_in_bf16(bf16, fp32):
    report, _ = bf16
    assert report["policy"] == "mixed_bfloat16" and report["conv_compute_dtype"] == "bfloat16"
    for loop in ("scan", "unrolled"):
        convolutions = report["lowered"][loop]["convolutions"]
        # 3 forward, and per layer the gradients of its input (not the first's) and kernel
        assert len(convolutions) >= 8, convolutions
        assert all(types_ == ["bf16", "bf16", "bf16"] for types_ in convolutions), convolutions
        # The weights, batch-norm statistics, Adam state and the loss sums stay float32.
        outputs = report["lowered"][loop]["outputs"]
        assert "f32" in outputs and "bf16" not in outputs
    fp32_convolutions = fp32[0]["lowered"]["scan"]["convolutions"]
    assert len(fp32_convolutions) == len(report["lowered"]["scan"]["convolutions"])
    assert all(types_ == ["f32", "f32", "f32"] for types_ in fp32_convolutions)


def test_bf16_scan_epoch_runs_and_stays_near_float32(bf16, fp32):
    differences = []
    for k in range(MODELS):
        low, full = _history(bf16[0], "scan", k), _history(fp32[0], "scan", k)
        assert np.isfinite(low).all()
        for epoch, (b, f) in enumerate(zip(low, full), start=1):
            assert abs(b[0] - f[0]) <= BF16_RTOL * f[0] + BF16_ATOL, (k, epoch, b[0], f[0])
            differences.append(abs(b[0] - f[0]))
        assert low[-1, 0] < low[0, 0]  # it trains
    assert max(differences) > BF16_VISIBLE  # bf16 really ran: float32 would not differ so


# ============================================================================ GPU memory settings


def test_gpu_check_children_start_jax_without_preallocation(monkeypatch):
    """The options JAX's CUDA plugin builds from the environment at start-up (jaxlib's
    ``generate_pjrt_gpu_plugin_options``), read in a child of ``child_env``'s environment."""
    gc = load_gpu_check()
    for name in ("JAX_PLATFORMS", "XLA_PYTHON_CLIENT_MEM_FRACTION", "XLA_CLIENT_MEM_FRACTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")  # overridden for the children
    env = gc.child_env(None, cpu=False)
    assert env["KERAS_BACKEND"] == "jax" and "JAX_PLATFORMS" not in env
    assert gc.child_env(None, cpu=True)["JAX_PLATFORMS"] == "cpu"
    probe = (
        "import json; from jaxlib import xla_client; "
        "print(json.dumps(xla_client.generate_pjrt_gpu_plugin_options()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    options = json.loads(done.stdout.strip().splitlines()[-1])
    assert options["preallocate"] is False
    assert "memory_fraction" not in options  # JAX's default pool (gpu_plan.MEMORY_FRACTION)


class _Device:
    def __init__(self, stats):
        self.stats = stats

    def memory_stats(self):
        return self.stats


@pytest.mark.parametrize(
    "stats, peak",
    [
        ({"peak_bytes_in_use": 3 * 2**20, "bytes_in_use": 2**20}, 3.0),  # a GPU's statistics
        (None, None),  # the CPU keeps none
        ({"bytes_in_use": 2**20}, None),
    ],
)
def test_peak_gpu_memory_is_read_from_the_device(monkeypatch, stats, peak):
    gc = load_gpu_check()
    monkeypatch.setitem(sys.modules, "jax", types.SimpleNamespace(devices=lambda: [_Device(stats)]))
    assert gc._peak_gpu_mb() == peak


def test_gpu_check_goes_on_with_a_gpu_and_stops_without_one():
    gc = load_gpu_check()
    modules = {name: {"ok": True} for name in ("jax", "numpy", "keras", "h5py", "pandas")}
    inventory = {
        "modules": modules,
        "package": {"transfer_tsc.training.loop": "ok, no tensorflow"},
        "devices": ["gpu:NVIDIA H200"],
        "platform": "gpu",
    }
    gc.check_inventory(inventory, cpu=False)
    with pytest.raises(gc.CheckError, match="JAX sees no GPU"):
        gc.check_inventory({**inventory, "devices": ["cpu:cpu"], "platform": "cpu"}, cpu=False)


def test_a_measured_peak_is_written_as_a_number(tmp_path):
    gc = load_gpu_check()
    path = tmp_path / "speed.csv"
    gc.write_csv(
        [{"size": "tiny", "status": "ok", "peak_gpu_mb": 1234.56789012}], gc.SPEED_COLUMNS, path
    )
    row = path.read_text().splitlines()[1].split(",")
    assert row[gc.SPEED_COLUMNS.index("peak_gpu_mb")] == "1234.56789"


if __name__ == "__main__":
    _child(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
