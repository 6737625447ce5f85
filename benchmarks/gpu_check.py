"""GPU check in one call: the batched engine's throughput, peak GPU memory and bf16 mixed
precision on one GPU (H100/H200) with JAX, against Keras ``fit`` one model at a time.

Usage (from the repository root; docs/gpu_check.md says more)::

    # here, with internet: the wheels the GPU machine lacks and two small UCR datasets
    .venv/bin/python benchmarks/gpu_check.py --prepare .gpu_bundle
    # on the GPU machine (JAX with CUDA, numpy; no TensorFlow, no Keras, no internet)
    python3 benchmarks/gpu_check.py --wheels .gpu_bundle/wheels --data .gpu_bundle/ucr --out $OUT
    # here, the same code path on the CPU in under 3 minutes (tests/test_gpu_check.py)
    .venv/bin/python benchmarks/gpu_check.py --cpu --quick

What one run does, every step in a child process of its own (``KERAS_BACKEND=jax``,
``XLA_PYTHON_CLIENT_PREALLOCATE=false`` so the peak GPU memory is what the step used,
TensorFlow hidden from the import system, since the GPU machine has none):

1. lists what is importable (jax and its devices, keras, numpy, h5py, pandas, ...) and whether
   ``transfer_tsc``'s JAX training path imports TensorFlow;
2. trains two small real UCR datasets for 300 epochs with ``training.train_together`` (a few
   models of different seeds at once), fp32 and bf16 mixed precision, and scores each model
   on the test set with ``training.evaluate``;
3. times ``train_together`` with S = 1, 8, 32, 84 models of ``fcn.build_fcn`` on generated data
   of GunPoint, OSULeaf and StarLightCurves size, and Keras ``fit`` of one model (Adam 1e-3,
   batch 16, the paper's ReduceLROnPlateau and ModelCheckpoint callbacks), in fp32, and at one
   size (``--bf16-size``) each also in bf16: one warm-up epoch (tracing, compilation), then up
   to five timed epochs.

The run keeps to ``--budget`` seconds (420: a measurement running when the budget ends is given
at most 60 s more, so the run ends within 8 minutes), counted from its start: each speed
measurement gets the time left divided
by the measurements left; its number of timed epochs stops when its share is spent, and when
the epoch predicted from the previous S at that size would not fit, the epoch is timed on the
first whole batches of the train set only and scaled to the full epoch by the number of
batches (column ``batches``: timed / full). Once the budget is spent, the measurements left are
listed as skipped. The accuracy runs (fixed epochs) come first and are never scaled down.
"""

from __future__ import annotations

import argparse
import csv
import importlib.abc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SHARED_UCR = ROOT.parent / "shared" / "ucr" / "UCRArchive_2018"
BUNDLE = ROOT / ".gpu_bundle"
DEFAULT_OUT = ROOT / "benchmarks" / "out" / "gpu_check"
BATCH = 16
# The rest of the paper's recipe (config.schema.yaml's defaults, written out: the GPU machine
# has no YAML reader; tests/test_config_defaults.py checks they are the schema's).
PAPER_RECIPE = dict(
    batch_size=BATCH,
    batch_size_cap_tenth=False,
    learning_rate=1e-3,
    lr_factor=0.5,
    lr_patience=50,
    min_lr=1e-4,
    seed=0,
)

# Generated data of real datasets' sizes: name -> (n_train, length, classes).
SIZES = {
    "GunPoint": (50, 150, 2),
    "OSULeaf": (200, 427, 6),
    "StarLightCurves": (1000, 1024, 3),
}
QUICK_SIZES = {"tiny": (32, 32, 2), "small": (48, 64, 3)}
ENGINE_S = (1, 8, 32, 84)
QUICK_S = (1, 8)
# Real datasets for the accuracy runs: the FCN reaches ~100% on both (Wang et al. 2017).
DATASETS = ("Coffee", "GunPoint")
# --quick: the shortest series of the archive (bf16 convolutions are emulated on the CPU).
QUICK_DATASETS = ("Chinatown",)

# What --prepare downloads: Keras and the two of its needs the GPU machine's image lacks
# (it has jax, numpy, h5py, pandas, scipy, absl-py, rich, ml-dtypes, packaging and
# typing-extensions; see docs/gpu_check.md). The versions are this environment's.
WHEELS = ("keras", "namex", "optree")
DEVICE_PYTHON = "3.12"
PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
)
BUNDLE_LIMIT_MB = 40

SPEED_COLUMNS = [
    "size",
    "n_train",
    "length",
    "classes",
    "runner",
    "S",
    "precision",
    "s_per_epoch",
    "model_epochs_per_s",
    "ratio_vs_fit",
    "ratio_vs_fp32",
    "peak_gpu_mb",
    "batches_timed",
    "batches_full",
    "timed_epochs",
    "s_per_epoch_min",
    "warmup_s",
    "build_s",
    "rss_mb",
    "wall_s",
    "status",
]
ACCURACY_COLUMNS = [
    "dataset",
    "n_train",
    "n_test",
    "length",
    "classes",
    "precision",
    "models",
    "epochs",
    "accuracy_mean",
    "accuracy_min",
    "accuracy_max",
    "test_loss_mean",
    "train_loss_mean",
    "s_per_epoch",
    "train_s",
    "peak_gpu_mb",
    "rss_mb",
    "wall_s",
    "status",
]


class CheckError(Exception):
    """A problem reported as one line (``gpu_check: ...``) and exit status 2."""


# =========================================================================== child processes


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    """Makes ``import tensorflow`` fail as on the GPU machine, where it is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by gpu_check)", name=name)
        return None


class _Enough(Exception):
    """Raised from the epoch callback once a measurement has timed enough epochs."""


def _peak_gpu_mb() -> float | None:
    import jax

    stats = jax.devices()[0].memory_stats()
    if not stats or "peak_bytes_in_use" not in stats:
        return None
    return stats["peak_bytes_in_use"] / 2**20


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _policy(precision: str) -> None:
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bf16" else "float32")


def _inventory(spec: dict) -> dict:
    """What is importable, JAX's devices, and whether the JAX path imports TensorFlow."""
    import importlib
    import importlib.metadata as metadata
    import importlib.util

    def dist_version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    modules = {}
    for name, dist in (
        ("jax", "jax"),
        ("jaxlib", "jaxlib"),
        ("numpy", "numpy"),
        ("keras", "keras"),
        ("h5py", "h5py"),
        ("pandas", "pandas"),
        ("scipy", "scipy"),
        ("namex", "namex"),
        ("optree", "optree"),
        ("rich", "rich"),
        ("absl", "absl-py"),
        ("ml_dtypes", "ml-dtypes"),
    ):
        try:
            module = importlib.import_module(name)
            where = str(Path(module.__file__).parent) if getattr(module, "__file__", None) else ""
            modules[name] = {
                "ok": True,
                "version": getattr(module, "__version__", None) or dist_version(dist),
                "where": where,
            }
        except Exception as error:  # any failure to import is what this lists
            modules[name] = {
                "ok": False,
                "error": f"{type(error).__name__}: {error}".splitlines()[0],
            }
    # Not imported (slow, or hidden from the children): only whether they are there.
    for name in ("tensorflow", "torch"):
        found = importlib.util.find_spec(name) is not None
        modules[name] = {
            "ok": found,
            "version": dist_version(name) if found else None,
            "where": "",
            "note": "found, not imported" if found else "not installed",
        }
    out = {
        "python": sys.version.split()[0],
        "modules": modules,
        "devices": [],
        "package": {},
        "wheels": {},
    }
    if modules["jax"]["ok"]:
        import jax

        out["devices"] = [f"{d.platform}:{d.device_kind}" for d in jax.devices()]
        out["platform"] = jax.devices()[0].platform
        out["matmul_precision"] = str(jax.config.jax_default_matmul_precision)
    if modules["keras"]["ok"]:
        before = "tensorflow" in sys.modules
        for name in (
            "transfer_tsc.data",
            "transfer_tsc.networks.fcn",
            "transfer_tsc.training.loop",
            "transfer_tsc.training.transfer",
        ):
            try:
                importlib.import_module(name)
                out["package"][name] = (
                    "imports tensorflow"
                    if "tensorflow" in sys.modules and not before
                    else "ok, no tensorflow"
                )
            except Exception as error:
                out["package"][name] = f"{type(error).__name__}: {error}".splitlines()[0]
    for module in spec.get("wheel_modules", []):
        try:
            imported = importlib.import_module(module)
            out["wheels"][module] = f"ok ({Path(imported.__file__).parent})"
        except Exception as error:
            out["wheels"][module] = f"{type(error).__name__}: {error}".splitlines()[0]
    return out


def _generated(spec: dict):
    import numpy as np

    rng = np.random.default_rng(0)
    n, length, classes = spec["n_train"], spec["length"], spec["classes"]
    x = rng.standard_normal((n, length, 1)).astype(np.float32)
    y = np.arange(n) % classes  # every class present
    return x[: spec["samples"]], rng.permutation(y)[: spec["samples"]]


def _enough(spec: dict, stamps: list[float], started: float) -> bool:
    """After the warm-up, time up to ``max_timed`` epochs; stop earlier (after ``min_timed``)
    when one more epoch would overrun the measurement's share of the budget."""
    timed = len(stamps) - 2
    if timed < 1 or timed < spec["min_timed"]:
        return False
    if timed >= spec["max_timed"]:
        return True
    last = stamps[-1] - stamps[-2]
    return time.perf_counter() - started + last > spec["share_s"]


def _measure(spec: dict, started: float) -> dict:
    """One speed measurement: ``engine`` (train_together, S models) or ``fit`` (one model)."""
    import keras

    _policy(spec["precision"])
    from transfer_tsc.networks.fcn import build_fcn

    x, y = _generated(spec)
    classes = spec["classes"]
    keras.utils.set_random_seed(0)
    stamps: list[float] = []
    t = time.perf_counter()
    if spec["runner"] == "engine":
        from transfer_tsc.training.loop import train_together
        from transfer_tsc.training.recipe import Recipe

        models = [build_fcn(classes, seed=s) for s in range(spec["S"])]
        build_s = time.perf_counter() - t
        recipe = Recipe(
            **PAPER_RECIPE, epochs=1 + spec["max_timed"], progress_every=1, checkpoint_every=10**9
        )

        def log(_line: str) -> None:
            stamps.append(time.perf_counter())
            if _enough(spec, stamps, started):
                raise _Enough

        stamps.append(time.perf_counter())
        try:
            train_together(models, x, y, classes, recipe, log=log)
        except _Enough:
            pass
    else:
        import numpy as np

        model = build_fcn(classes, seed=0)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        build_s = time.perf_counter() - t

        class Timer(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                stamps.append(time.perf_counter())
                if _enough(spec, stamps, started):
                    self.model.stop_training = True

        with tempfile.TemporaryDirectory() as tmp:
            from fresh_process import paper_fit_callbacks  # beside this script

            callbacks = [*paper_fit_callbacks(tmp), Timer()]
            stamps.append(time.perf_counter())
            model.fit(
                x,
                np.eye(classes, dtype=np.float32)[y],
                batch_size=BATCH,
                epochs=1 + spec["max_timed"],
                shuffle=True,
                verbose=0,
                callbacks=callbacks,
            )
    seconds = [b - a for a, b in zip(stamps, stamps[1:])]
    if len(seconds) < 2:
        raise RuntimeError(f"{len(seconds)} epoch(s) recorded; need a warm-up and a timed one")
    batches_timed = -(-spec["samples"] // BATCH)
    batches_full = -(-spec["n_train"] // BATCH)
    scale = batches_full / batches_timed
    timed = seconds[1:]
    return {
        "warmup_s": seconds[0],
        "timed_epochs": len(timed),
        "s_per_epoch": statistics.median(timed) * scale,
        "s_per_epoch_min": min(timed) * scale,
        "batches_timed": batches_timed,
        "batches_full": batches_full,
        "build_s": build_s,
    }


def _accuracy(spec: dict) -> dict:
    """``models`` FCNs of different seeds trained together for ``epochs`` epochs on a real
    dataset, each scored on the test set."""
    import keras
    import numpy as np

    _policy(spec["precision"])
    from transfer_tsc.data import load_dataset
    from transfer_tsc.networks.fcn import build_fcn
    from transfer_tsc.training.loop import evaluate, train_together
    from transfer_tsc.training.recipe import Recipe

    d = load_dataset(spec["root"], spec["dataset"])
    x, y = d.network_input("train"), d.y_train
    keras.utils.set_random_seed(0)
    models = [build_fcn(d.n_classes, seed=s) for s in range(spec["models"])]
    stamps = [time.perf_counter()]
    recipe = Recipe(**PAPER_RECIPE, epochs=spec["epochs"], progress_every=1, checkpoint_every=10**9)
    results = train_together(
        models, x, y, d.n_classes, recipe, log=lambda _line: stamps.append(time.perf_counter())
    )
    x_test = d.network_input("test")
    scores = [evaluate(m, x_test, d.y_test) for m in models]
    seconds = np.diff(stamps)
    accuracies = [s["accuracy"] for s in scores]
    return {
        "n_train": len(y),
        "n_test": len(d.y_test),
        "length": d.length,
        "classes": d.n_classes,
        "accuracy_mean": float(np.mean(accuracies)),
        "accuracy_min": min(accuracies),
        "accuracy_max": max(accuracies),
        "test_loss_mean": float(np.mean([s["loss"] for s in scores])),
        "train_loss_mean": float(np.mean([r.best_loss for r in results])),
        "s_per_epoch": float(np.median(seconds[1:] if len(seconds) > 1 else seconds)),
        "train_s": float(stamps[-1] - stamps[0]),
    }


def child_main(spec_path: str) -> int:
    started = time.perf_counter()
    spec = json.loads(Path(spec_path).read_text())
    if spec["kind"] == "inventory":
        result = _inventory(spec)
    else:
        sys.meta_path.insert(0, _NoTensorFlow())
        result = _measure(spec, started) if spec["kind"] == "speed" else _accuracy(spec)
        result["peak_gpu_mb"] = _peak_gpu_mb()
        result["rss_mb"] = _rss_mb()
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


# =========================================================================== parent


def child_env(site: str | None, cpu: bool) -> dict:
    env = dict(
        os.environ,
        KERAS_BACKEND="jax",
        XLA_PYTHON_CLIENT_PREALLOCATE="false",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONUNBUFFERED="1",
    )
    if cpu:
        env["JAX_PLATFORMS"] = "cpu"
    paths = [p for p in (site, str(SRC), os.environ.get("PYTHONPATH")) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_child(spec: dict, env: dict, work: Path, timeout: float) -> dict:
    """Run ``spec`` in a fresh process; the result dict, or one with ``status`` saying why not."""
    work.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(suffix=".json", dir=work)
    os.close(handle)
    spec = {**spec, "result": path + ".out"}
    Path(path).write_text(json.dumps(spec))
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", path],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"status": f"killed after {timeout:.0f} s", "wall_s": time.perf_counter() - started}
    wall = time.perf_counter() - started
    out = Path(spec["result"])
    if done.returncode != 0 or not out.is_file():
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        return {
            "status": "failed: " + (lines[-1].strip() if lines else f"exit {done.returncode}"),
            "wall_s": wall,
        }
    return {**json.loads(out.read_text()), "status": "ok", "wall_s": wall}


def wheel_modules(wheel: Path) -> list[str]:
    """The top-level importable names a wheel installs."""
    names = set()
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            top = name.split("/")[0]
            if top.endswith((".dist-info", ".data")):
                continue
            names.add(top[:-3] if top.endswith(".py") else top)
    return sorted(n for n in names if n.isidentifier())


def install_wheels(folder: Path, site: Path) -> list[str]:
    """Install the wheels of ``folder`` offline into ``site``; the modules they hold."""
    if not folder.is_dir():
        raise CheckError(f"--wheels {folder}: no such folder (make it here with --prepare)")
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise CheckError(f"--wheels {folder}: no .whl files in it (make them here with --prepare)")
    dists: dict[str, list[str]] = {}
    for w in wheels:
        dists.setdefault(w.name.split("-")[0].lower().replace("_", "-"), []).append(w.name)
    twice = [", ".join(v) for v in dists.values() if len(v) > 1]
    if twice:
        raise CheckError(
            f"--wheels {folder}: more than one version of a package: {'; '.join(twice)}"
        )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--no-compile",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--target",
            str(site),
            *map(str, wheels),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise CheckError(
            f"--wheels {folder}: pip install failed: "
            + (lines[-1].strip() if lines else f"exit {done.returncode}")
        )
    sys.path.insert(0, str(site))
    print(
        f"installed {len(wheels)} wheels from {folder} into {site} (offline, no dependencies): "
        + ", ".join(w.name for w in wheels),
        flush=True,
    )
    return sorted({m for w in wheels for m in wheel_modules(w)})


def print_inventory(inv: dict) -> None:
    print(
        f"python {inv['python']}; JAX devices: {', '.join(inv['devices']) or 'none'}"
        + (
            f"; default matmul precision {inv['matmul_precision']}"
            if "matmul_precision" in inv
            else ""
        )
    )
    for name, m in inv["modules"].items():
        if m["ok"]:
            detail = m.get("note") or m.get("where", "")
            print(f"  {name:10s} {m['version'] or '?':14s} {detail}")
        else:
            print(f"  {name:10s} {'missing':14s} {m.get('error', m.get('note', ''))}")
    for name, state in inv["package"].items():
        print(f"  {name:24s} (KERAS_BACKEND=jax, PYTHONPATH=src): {state}")
    for name, state in inv["wheels"].items():
        print(f"  wheel module {name}: {state}")
    sys.stdout.flush()


def check_inventory(inv: dict, cpu: bool) -> None:
    missing = [
        n for n in ("jax", "numpy", "keras", "h5py", "pandas") if not inv["modules"][n]["ok"]
    ]
    if missing:
        raise CheckError(
            f"not importable: {', '.join(missing)} (Keras and its needs travel as "
            "wheels: --prepare here, --wheels there)"
        )
    broken = {k: v for k, v in inv["package"].items() if not v.startswith("ok")}
    if broken:
        raise CheckError(
            "transfer_tsc on the JAX backend: " + "; ".join(f"{k}: {v}" for k, v in broken.items())
        )
    if not cpu and inv.get("platform") != "gpu":
        raise CheckError(
            f"JAX sees no GPU (devices: {', '.join(inv['devices'])}); --cpu runs on the CPU"
        )


def plan(quick: bool, bf16_size: str, datasets: list[str]) -> tuple[list[dict], list[dict]]:
    """The accuracy runs and the speed measurements, in the order they run."""
    sizes = QUICK_SIZES if quick else SIZES
    s_values = QUICK_S if quick else ENGINE_S
    if bf16_size not in sizes:
        raise CheckError(f"--bf16-size {bf16_size}: one of {', '.join(sizes)}")
    accuracy = [
        {
            "kind": "accuracy",
            "dataset": name,
            "precision": precision,
            "models": 2 if quick else 4,
            "epochs": 3 if quick else 300,
        }
        for name in datasets
        for precision in ("fp32", "bf16")
    ]
    # Size by size, each runner and S in fp32 and, at bf16_size, right after it in bf16: the
    # pair is measured close in time, and a run short of time drops the largest rows first.
    speed = []
    for name, (n, length, classes) in sizes.items():
        for runner, S in [("fit", 1)] + [("engine", S) for S in s_values]:
            for precision in ("fp32", "bf16") if name == bf16_size else ("fp32",):
                speed.append(
                    {
                        "kind": "speed",
                        "size": name,
                        "n_train": n,
                        "length": length,
                        "classes": classes,
                        "runner": runner,
                        "S": S,
                        "precision": precision,
                    }
                )
    return accuracy, speed


def choose_samples(spec: dict, done: list[dict], allowance: float, min_timed: int) -> int:
    """All the train series, or the first whole batches when the epoch predicted from an
    earlier measurement at this size and precision (linear in S) would not fit
    ``allowance`` seconds ``1 + min_timed`` times."""
    n = spec["n_train"]
    same = [
        r
        for r in done
        if r["status"] == "ok" and r["size"] == spec["size"] and r["precision"] == spec["precision"]
    ]
    if not same:
        return n
    predicted = max(r["s_per_epoch"] * spec["S"] / r["S"] for r in same)
    fraction = allowance / ((1 + min_timed) * predicted)
    batches_full = -(-n // BATCH)
    batches = max(2, int(fraction * batches_full))
    return n if batches >= batches_full else min(n, batches * BATCH)


def run_all(args, env: dict, work: Path, started: float) -> tuple[list[dict], list[dict]]:
    deadline = started + args.budget
    accuracy_specs, speed_specs = plan(args.quick, args.bf16_size, args.datasets)
    min_timed, max_timed = (1, 2) if args.quick else (2, 5)
    total = len(accuracy_specs) + len(speed_specs)
    count = 0

    def left() -> float:
        return deadline - time.perf_counter()

    accuracy = []
    for spec in accuracy_specs:
        count += 1
        spec = {**spec, "root": str(args.data)}
        # Fixed epochs, never scaled down; a quarter of the budget at most.
        result = run_child(spec, env, work, timeout=max(60.0, args.budget / 4))
        row = {**spec, **result}
        accuracy.append(row)
        if row["status"] == "ok":
            print(
                f"[{count}/{total}] accuracy {row['dataset']:16s} {row['precision']} "
                f"{row['models']} models x {row['epochs']} epochs: test accuracy "
                f"{row['accuracy_mean']:.3f} ({row['accuracy_min']:.3f}-{row['accuracy_max']:.3f}),"
                f" {row['s_per_epoch']:.3f} s/epoch, {row['wall_s']:.1f} s",
                flush=True,
            )
        else:
            print(
                f"[{count}/{total}] accuracy {row['dataset']} {row['precision']}: {row['status']}",
                flush=True,
            )

    speed: list[dict] = []
    overhead = max((r["wall_s"] - r.get("train_s", 0.0) for r in accuracy), default=10.0)
    for i, spec in enumerate(speed_specs):
        count += 1
        share = left() / (len(speed_specs) - i)
        if left() <= 0:
            row = {**spec, "status": f"skipped: the {args.budget:.0f} s budget is spent"}
        else:
            allowance = max(share - overhead, 0.5)
            samples = choose_samples(spec, speed, allowance, min_timed)
            spec = {
                **spec,
                "samples": samples,
                "share_s": max(share, 0.0),
                "min_timed": min_timed,
                "max_timed": max_timed,
            }
            timeout = max(60.0, min(4 * share, left() + 60))
            row = {**spec, **run_child(spec, env, work, timeout)}
        if row["status"] == "ok":
            row["model_epochs_per_s"] = row["S"] / row["s_per_epoch"]
            # Start-up, model building and compilation: the wall time less the epochs' work.
            epochs_s = (
                (1 + row["timed_epochs"])
                * row["s_per_epoch"]
                * (row["batches_timed"] / row["batches_full"])
            )
            overhead = max(0.5 * overhead, row["wall_s"] - epochs_s)
        speed.append(row)
        label = f"{row['size']} {row['n_train']}x{row['length']}"
        if row["status"] == "ok":
            print(
                f"[{count}/{total}] {label:22s} {row['runner']:6s} S={row['S']:<3d} "
                f"{row['precision']}: {row['s_per_epoch']:.4f} s/epoch "
                f"({row['timed_epochs']} timed, {row['batches_timed']}/{row['batches_full']} "
                f"batches), warm-up {row['warmup_s']:.1f} s, {row['wall_s']:.1f} s",
                flush=True,
            )
        else:
            print(
                f"[{count}/{total}] {label:22s} {row['runner']:6s} S={row['S']:<3d} "
                f"{row['precision']}: {row['status']}",
                flush=True,
            )
    for row in speed:
        fit = next(
            (
                r
                for r in speed
                if r["runner"] == "fit"
                and r["status"] == "ok"
                and r["size"] == row["size"]
                and r["precision"] == row["precision"]
            ),
            None,
        )
        if row["status"] == "ok" and fit:
            row["ratio_vs_fit"] = row["model_epochs_per_s"] / fit["model_epochs_per_s"]
        fp32 = next(
            (
                r
                for r in speed
                if r["precision"] == "fp32"
                and r["status"] == "ok"
                and (r["size"], r["runner"], r["S"]) == (row["size"], row["runner"], row["S"])
            ),
            None,
        )
        if row["status"] == "ok" and row["precision"] == "bf16" and fp32:
            row["ratio_vs_fp32"] = row["model_epochs_per_s"] / fp32["model_epochs_per_s"]
    print(f"total {time.perf_counter() - started:.0f} s (budget {args.budget:.0f} s)", flush=True)
    return accuracy, speed


def _fmt(value, spec: str = ".3f", none: str = "n/a") -> str:
    if value is None or value == "":
        return none
    return format(value, spec) if isinstance(value, (int, float)) else str(value)


def print_tables(speed: list[dict], accuracy: list[dict]) -> None:
    print(
        "\n| size | runner | S | precision | s / epoch | model-epochs / s | vs fit "
        "| peak GPU MB | batches timed | bf16 vs fp32 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in speed:
        size = f"{r['size']} {r['n_train']} x {r['length']}"
        runner = "Keras fit" if r["runner"] == "fit" else "engine"
        if r["status"] != "ok":
            print(f"| {size} | {runner} | {r['S']} | {r['precision']} | {r['status']} | | | | | |")
            continue
        ratio = _fmt(r.get("ratio_vs_fit"), ".2f")
        print(
            f"| {size} | {runner} | {r['S']} | {r['precision']} | {r['s_per_epoch']:.4f} | "
            f"{r['model_epochs_per_s']:.2f} | {ratio}{'x' if ratio != 'n/a' else ''} | "
            f"{_fmt(r['peak_gpu_mb'], '.0f')} | {r['batches_timed']}/{r['batches_full']} | "
            f"{_fmt(r.get('ratio_vs_fp32'), '.2f', '')}{'x' if r.get('ratio_vs_fp32') else ''} |"
        )
    print(
        "vs fit: against Keras fit of one model at the same size and precision; bf16 vs fp32: "
        "against the fp32 row of the same size, runner and S; batches timed: timed / full, the "
        "epoch scaled to the full one when fewer; peak GPU MB: n/a where the device keeps no "
        "memory statistics (the CPU)"
    )
    print(
        "\n| dataset | n_train x length | precision | models x epochs | test accuracy mean "
        "(min-max) | s / epoch | peak GPU MB |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in accuracy:
        if r["status"] != "ok":
            print(
                f"| {r['dataset']} | | {r['precision']} | {r['models']} x {r['epochs']} | "
                f"{r['status']} | | |"
            )
            continue
        print(
            f"| {r['dataset']} | {r['n_train']} x {r['length']} | {r['precision']} | "
            f"{r['models']} x {r['epochs']} | {r['accuracy_mean']:.3f} "
            f"({r['accuracy_min']:.3f}-{r['accuracy_max']:.3f}) | {r['s_per_epoch']:.4f} | "
            f"{_fmt(r['peak_gpu_mb'], '.0f')} |"
        )
    sys.stdout.flush()


def write_csv(rows: list[dict], columns: list[str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: (
                        "n/a"
                        if k.startswith("peak_gpu") and row.get(k) is None and row["status"] == "ok"
                        else round(v, 6)
                        if isinstance(v, float)
                        else v
                    )
                    for k, v in ((k, row.get(k)) for k in columns)
                }
            )


# =========================================================================== --prepare


def prepare(bundle: Path, data_root: Path, datasets: tuple[str, ...]) -> None:
    """Download the wheels the GPU machine lacks and copy ``datasets`` into ``bundle``."""
    import importlib.metadata as metadata

    wheels = bundle / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for old in wheels.glob("*.whl"):  # one version of each package, or pip refuses them all
        old.unlink()
    requirements = []
    for name in WHEELS:
        try:
            requirements.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            requirements.append(name)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        DEVICE_PYTHON,
        "--implementation",
        "cp",
        *[arg for p in PLATFORMS for arg in ("--platform", p)],
        "-d",
        str(wheels),
        *requirements,
    ]
    print("$ " + " ".join(command), flush=True)
    if subprocess.run(command).returncode != 0:
        raise CheckError("pip download failed (it needs the internet; see its message above)")
    for w in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(w) as z:
            meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
            needs = [
                line.split(":", 1)[1].strip()
                for line in z.read(meta).decode().splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line
            ]
        print(f"  {w.name}: needs {', '.join(needs) or 'nothing'}")
    ucr = bundle / "ucr"
    for name in datasets:
        source = data_root / name
        files = sorted(
            p for p in source.glob(f"{name}_*") if "_TRAIN" in p.name or "_TEST" in p.name
        )
        if not files:
            raise CheckError(f"{source}: no {name}_TRAIN / _TEST files")
        (ucr / name).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(f, ucr / name / f.name)
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()) / 2**20
    print(
        f"{bundle}: {size:.1f} MiB (wheels: {', '.join(requirements)}; datasets: "
        f"{', '.join(datasets)})"
    )
    if size > BUNDLE_LIMIT_MB:
        raise CheckError(f"{bundle} is {size:.1f} MiB, over {BUNDLE_LIMIT_MB} MiB")


# =========================================================================== main


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--prepare",
        type=Path,
        metavar="DIR",
        help="here, with internet: download the wheels into DIR/wheels and copy "
        "the datasets into DIR/ucr, then stop",
    )
    parser.add_argument(
        "--wheels",
        type=Path,
        metavar="DIR",
        help="install DIR/*.whl offline into a temporary folder first",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="UCR archive of the accuracy datasets (default: .gpu_bundle/ucr "
        "when it holds them, else ../shared/ucr/UCRArchive_2018)",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        metavar="NAME",
        help="the accuracy runs' datasets (and what --prepare copies; default "
        f"{' '.join(DATASETS)}; {' '.join(QUICK_DATASETS)} with --quick)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the CSVs")
    parser.add_argument("--cpu", action="store_true", help="run JAX on the CPU")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, S = 1 and 8, accuracy runs of 3 epochs (CPU test)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds for the whole run (default 420; 170 with --quick)",
    )
    parser.add_argument(
        "--bf16-size",
        default=None,
        help="size of the bf16 speed rows (default StarLightCurves; tiny with --quick)",
    )
    parser.add_argument(
        "--check", action="store_true", help="only list what is importable, then stop"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.budget is None:
        args.budget = 170.0 if args.quick else 420.0
    if args.datasets is None:
        args.datasets = list(QUICK_DATASETS if args.quick and not args.prepare else DATASETS)
    if args.bf16_size is None:
        args.bf16_size = "tiny" if args.quick else "StarLightCurves"
    return args


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse(argv)
    if args.child:
        return child_main(args.child)
    try:
        if args.prepare:
            prepare(args.prepare, args.data or SHARED_UCR, tuple(args.datasets))
            return 0
        with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
            tmp = Path(tmp)
            site, modules = None, []
            if args.wheels is not None:
                site = tmp / "site"
                modules = install_wheels(args.wheels, site)
            env = child_env(str(site) if site else None, args.cpu)
            inv = run_child({"kind": "inventory", "wheel_modules": modules}, env, tmp, 300)
            if inv["status"] != "ok":
                raise CheckError(f"listing the imports failed: {inv['status']}")
            print_inventory(inv)
            if args.check:
                return 0
            check_inventory(inv, args.cpu)
            if args.data is None:  # the bundle's copy, else the shared archive beside the repo
                args.data = next(
                    (
                        root
                        for root in (BUNDLE / "ucr", SHARED_UCR)
                        if all((root / name).is_dir() for name in args.datasets)
                    ),
                    SHARED_UCR,
                )
            for name in args.datasets:
                if not (args.data / name).is_dir():
                    raise CheckError(
                        f"--data {args.data}: no dataset folder {name} "
                        "(--prepare copies it into the bundle)"
                    )
            accuracy, speed = run_all(args, env, tmp, started)
        print_tables(speed, accuracy)
        write_csv(speed, SPEED_COLUMNS, args.out / "speed.csv")
        write_csv(accuracy, ACCURACY_COLUMNS, args.out / "accuracy.csv")
        (args.out / "environment.json").write_text(
            json.dumps(
                {"inventory": inv, "budget_s": args.budget, "quick": args.quick, "cpu": args.cpu},
                indent=1,
            )
        )
        print(
            f"\nwrote {args.out / 'speed.csv'}, {args.out / 'accuracy.csv'} and "
            f"{args.out / 'environment.json'}"
        )
        return 0
    except CheckError as error:
        print(f"gpu_check: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
