"""Cost of one training epoch against the machine's compute floor and against Keras ``fit``.

Usage (from the repository root; CPU; about 15 minutes on 2 cores for the FCN alone)::

    .venv/bin/python benchmarks/bench_epoch.py [--datasets MoteStrain GunPoint ...]
        [--networks fcn resnet inception] [--rounds 2] [--epochs N] [--aeon-path DIR]
        [--json benchmarks/out/bench_epoch.json] [--csv benchmarks/out/bench_epoch.csv]

For each dataset and each network of ``--networks`` (default: the FCN alone; every network of
``transfer_tsc.networks``, each built with ``network(name).build``), in one run, every
measurement in a fresh process (so no runner inherits another's compiled graphs or thread
pools), interleaved over ``--rounds`` rounds:

* ``floor``: what this machine does on the network's own arithmetic, computed per network: its
  convolutions (with their ReLUs, the ResNet's residual sums, the Inception modules' pooling
  and concatenations) forward and backward, gradients of every kernel, no bias, no batch norm,
  no optimizer, no head, compiled by TensorFlow, in a graph loop over the epoch's batches
  (``_floor_network``; for the FCN its three convolutions, as before). Measured at a large
  batch (256 series: the machine's best rate, scaled to the epoch's series) and at the batch
  the recipe uses (what that batch size allows). The faster of plain graph and XLA is kept.
* ``fit``: Keras ``Model.fit`` as the paper's code trains: Adam, categorical cross-entropy,
  ReduceLROnPlateau(monitor="loss", factor 0.5, patience 50, min_lr 1e-4) and
  ModelCheckpoint(save_best_only=True on the loss) writing the HDF5 model.
* ``fit best``: Keras ``fit`` at its best: ``jit_compile=True``, ``steps_per_execution`` = the
  epoch's batches, the same ReduceLROnPlateau, the best weights kept in memory (no file).
* ``aeon``: aeon's ``FCNClassifier``, ``ResNetClassifier`` or ``IndividualInceptionClassifier``
  (the same network and recipe), where aeon imports.
* ``engine S``: ``training.train_together`` with S models (one compiled call per epoch):
  TensorFlow as the pipeline runs it, TensorFlow with the step compiled by XLA
  (``jit_compile=True``), and the JAX backend; "a call per step" is the same engine with
  ``fused=False`` (one compiled call per batch, as before the one-call epoch).

Each runner trains one warm-up epoch (tracing, compiling) and then ``epochs`` timed epochs; the
time of an epoch is the fastest timed epoch of the fastest round (the machine may be shared:
the fastest is the one least slowed by other work); ``--epochs`` sets the timed epochs (a quick
check), otherwise they depend on the dataset's size. Rates are model-epochs per second; "vs"
columns are ratios of rates measured in this run. The batch is each network's released rule
(``dl4tsc.yaml``, its published recipe: ``min(16, n_train // 10)`` for the FCN and the ResNet,
64 for Inception, so one batch per epoch on these small train sets) for MoteStrain, ECGFiveDays
and DiatomSizeReduction, and 16 for GunPoint and OSULeaf (the issue's choice of datasets).

After the table (one row per network, dataset, runner and S; also written to ``--csv``), the
goals of issue 24 per network and dataset: the engine at S = 1 (each backend) against ``fit``
at its best (goal: not slower, ratio >= 1), and the engine at S = 1 on the faster backend (TF
or JAX) against plain ``fit`` on MoteStrain and ECGFiveDays with the released batch rule (goal:
at least 2x).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import fresh_process
from fresh_process import load_average, measure, paper_fit_callbacks, plateau_callback

from transfer_tsc.networks import NETWORKS, network

ROOT = Path(__file__).resolve().parents[1]
UCR = ROOT / ".." / "shared" / "ucr" / "UCRArchive_2018"
# dataset -> the network's released batch rule (released_batch) or batch 16
DATASETS = {
    "MoteStrain": True,
    "ECGFiveDays": True,
    "DiatomSizeReduction": True,
    "GunPoint": False,
    "OSULeaf": False,
}
FLOOR_BATCH = 256
# the aeon classifier of each network (same network and recipe)
AEON_CLASSES = {
    "fcn": "FCNClassifier",
    "resnet": "ResNetClassifier",
    "inception": "IndividualInceptionClassifier",
}
# issue 24's goal of at least 2x plain fit (engine S = 1, faster backend): these datasets, with
# the released batch rule
GOAL_2X_DATASETS = ("MoteStrain", "ECGFiveDays")
RUNNERS = [  # (kind, backend, S, label)
    ("floor_large", "tensorflow", 1, "floor, batch 256"),
    ("floor_batch", "tensorflow", 1, "floor, recipe batch"),
    ("fit", "tensorflow", 1, "Keras fit (paper's code)"),
    ("fit_best", "tensorflow", 1, "Keras fit, jit_compile + steps_per_execution"),
    ("aeon", "tensorflow", 1, "aeon FCNClassifier"),
    ("engine", "tensorflow", 1, "engine, TF"),
    ("engine_stepwise", "tensorflow", 1, "engine, TF, a call per step"),
    ("engine_xla", "tensorflow", 1, "engine, TF + XLA step"),
    ("engine", "jax", 1, "engine, JAX"),
    ("engine_stepwise", "jax", 1, "engine, JAX, a call per step"),
    ("engine", "tensorflow", 8, "engine, TF"),
    ("engine_xla", "tensorflow", 8, "engine, TF + XLA step"),
    ("engine", "jax", 8, "engine, JAX"),
]


def released_batch(net: str) -> tuple[int, bool]:
    """The batch rule of ``net``'s published recipe (dl4tsc.yaml): its batch size, and whether
    it is capped at n_train // 10."""
    import yaml

    from transfer_tsc import settings

    config = settings.validate(yaml.safe_load((ROOT / "dl4tsc.yaml").read_text()))
    recipe = settings.recipe(config, "pretrain", net)
    return recipe.batch_size, recipe.batch_size_cap_tenth


def _runner_label(label: str, kind: str, name: str) -> str:
    """A runner's label for network ``name``: aeon's runner names the network's classifier."""
    return f"aeon {AEON_CLASSES[name]}" if kind == "aeon" else label


def _timed_epochs(n: int, length: int) -> int:
    """Enough timed epochs for a stable fastest epoch, within a few seconds per runner."""
    work = n * length
    return 30 if work <= 5_000 else 10 if work <= 20_000 else 3


# --------------------------------------------------------------------------- one measurement


def _floor_network(name: str):
    """The kernels of network ``name``'s convolutions (no bias) and its forward pass on them:
    the convolutions with the network's ReLUs, residual sums, poolings and concatenations, no
    batch norm and no head (the arithmetic a floor measures)."""
    import numpy as np
    import tensorflow as tf

    from transfer_tsc import networks

    rng = np.random.default_rng(0)
    kernels = []

    def kernel(width: int, channels: int, filters: int) -> tf.Variable:
        kernels.append(
            tf.Variable(rng.normal(0, 0.05, (width, channels, filters)).astype("float32"))
        )
        return kernels[-1]

    def conv(h, w):
        return tf.nn.conv1d(h, w, stride=1, padding="SAME")

    if name == "fcn":
        from transfer_tsc.networks.fcn import CONV_BLOCKS

        channels = 1
        for filters, width in CONV_BLOCKS:
            kernel(width, channels, filters)
            channels = filters

        def forward(h):
            for w in kernels:
                h = tf.nn.relu(conv(h, w))
            return h

    elif name == "resnet":
        blocks = []  # per block: its convolutions' kernels and the shortcut's (or None)
        for block in networks.resnet_blocks():
            main, channels = [], block.channels_in
            for width in block.widths:
                main.append(kernel(width, channels, block.filters))
                channels = block.filters
            shortcut = kernel(1, block.channels_in, block.filters) if block.shortcut_conv else None
            blocks.append((main, shortcut))

        def forward(h):
            for main, shortcut in blocks:
                y = h
                for i, w in enumerate(main):
                    y = conv(y, w)
                    y = tf.nn.relu(y) if i < len(main) - 1 else y
                h = tf.nn.relu(y + (conv(h, shortcut) if shortcut is not None else h))
            return h

    elif name == "inception":
        modules = []  # per module: bottleneck (or None), wide kernels, pool conv, shortcut
        for module in networks.inception_modules():
            branch_in = module.channels_in
            bottleneck = None
            if module.bottleneck:
                bottleneck = kernel(1, module.channels_in, networks.INCEPTION_BOTTLENECK)
                branch_in = networks.INCEPTION_BOTTLENECK
            wide = [
                kernel(width, branch_in, networks.INCEPTION_FILTERS)
                for width in networks.INCEPTION_WIDTHS
            ]
            pool_conv = kernel(1, module.channels_in, networks.INCEPTION_FILTERS)
            shortcut = (
                kernel(1, module.shortcut_in, networks.INCEPTION_CHANNELS)
                if module.shortcut_in is not None
                else None
            )
            modules.append((bottleneck, wide, pool_conv, shortcut))

        def forward(h):
            stretch = h
            for bottleneck, wide, pool_conv, shortcut in modules:
                branch_in = conv(h, bottleneck) if bottleneck is not None else h
                pooled = tf.nn.max_pool1d(h, networks.INCEPTION_POOL, 1, padding="SAME")
                branches = [conv(branch_in, w) for w in wide] + [conv(pooled, pool_conv)]
                h = tf.nn.relu(tf.concat(branches, axis=-1))
                if shortcut is not None:
                    h = stretch = tf.nn.relu(h + conv(stretch, shortcut))
            return h

    else:
        raise ValueError(name)
    return kernels, forward


def _floor(x, batch: int, epochs: int, n_epoch: int, name: str = "fcn") -> list[float]:
    """Seconds of ``epochs`` passes of network ``name``'s conv stack's forward + backward over
    batches of ``batch`` series (the fastest of graph and XLA), each pass scaled to ``n_epoch``
    series."""
    import numpy as np
    import tensorflow as tf

    kernels, forward = _floor_network(name)
    k = max(1, math.ceil(n_epoch / batch)) if batch < FLOOR_BATCH else 1
    xs = np.resize(x, (k * batch,) + x.shape[1:]).reshape((k, batch) + x.shape[1:])
    scale = n_epoch / (k * batch)

    def step(xb):
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(forward(xb))
        return tape.gradient(total, kernels)

    best: list[float] | None = None
    for jit in (False, True):
        inner = tf.function(step, jit_compile=True) if jit else step

        @tf.function
        def epoch(xs):
            acc = tf.zeros([])
            for i in tf.range(tf.shape(xs)[0]):
                grads = inner(xs[i])
                acc += tf.add_n([tf.reduce_sum(g) for g in grads])  # keep every gradient alive
            return acc

        epoch(xs).numpy()  # trace, compile
        times = []
        for _ in range(epochs):
            t = time.perf_counter()
            epoch(xs).numpy()
            times.append((time.perf_counter() - t) * scale)
        if best is None or min(times) < min(best):
            best = times
    return best


def _child(spec: dict) -> dict:
    """Run one measurement in this process (Keras backend chosen by the parent)."""
    import numpy as np

    from transfer_tsc.data import load_dataset
    from transfer_tsc.settings import default_recipe

    d = load_dataset(spec["root"], spec["dataset"])
    x, y = d.network_input("train"), d.y_train
    recipe = default_recipe(batch_size=spec.get("batch_size", 16), batch_size_cap_tenth=spec["cap"])
    batch = recipe.batch_size_for(len(y))
    epochs = spec["epochs"]
    kind = spec["kind"]
    name = spec.get("network", "fcn")
    stamps: list[float] = []

    if kind.startswith("floor"):
        size = FLOOR_BATCH if kind == "floor_large" else batch
        seconds = _floor(x, size, epochs, len(y), name)
        return {**spec, "batch": size, "epoch_seconds": seconds}

    import keras

    if kind.startswith("engine"):
        from transfer_tsc.training.engines import use_threads
        from transfer_tsc.training.loop import train_together

        use_threads(2)
        models = [network(name).build(d.n_classes, seed=s) for s in range(spec["S"])]
        recipe = default_recipe(
            epochs=epochs + 1,
            batch_size=spec.get("batch_size", 16),
            batch_size_cap_tenth=spec["cap"],
            progress_every=1,
            checkpoint_every=10**9,
        )
        stamps.append(time.perf_counter())
        train_together(
            models,
            x,
            y,
            d.n_classes,
            recipe,
            jit_compile=kind == "engine_xla",
            fused=kind != "engine_stepwise",
            log=lambda _line: stamps.append(time.perf_counter()),
        )
    elif kind in ("fit", "fit_best"):
        model = network(name).build(d.n_classes, seed=0)
        steps = math.ceil(len(y) / batch)
        if kind == "fit":
            model.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss="categorical_crossentropy",
                metrics=["accuracy"],
            )
        else:
            model.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss="categorical_crossentropy",
                metrics=["accuracy"],
                jit_compile=True,
                steps_per_execution=steps,
            )
        timer = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter())
        )
        with tempfile.TemporaryDirectory() as tmp:
            if kind == "fit":
                callbacks = paper_fit_callbacks(tmp)
            else:
                callbacks = [plateau_callback(), _BestInMemory()]
            stamps.append(time.perf_counter())
            model.fit(
                x,
                np.eye(d.n_classes, dtype=np.float32)[y],
                batch_size=batch,
                epochs=epochs + 1,
                shuffle=True,
                verbose=0,
                callbacks=[*callbacks, timer],
            )
    elif kind == "aeon":
        from aeon.classification import deep_learning

        timer = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter())
        )
        with tempfile.TemporaryDirectory() as tmp:
            clf = getattr(deep_learning, AEON_CLASSES[name])(
                n_epochs=epochs + 1,
                batch_size=batch,
                file_path=tmp + "/",
                callbacks=[plateau_callback(), timer],
                random_state=0,
            )
            stamps.append(time.perf_counter())
            clf.fit(x.transpose(0, 2, 1), y)
    else:
        raise ValueError(kind)
    seconds = np.diff(stamps)[1:]  # the first epoch (tracing, compiling) is not timed
    return {**spec, "batch": batch, "epoch_seconds": [float(t) for t in seconds]}


class _BestInMemory:
    """Keras callback: the weights of the lowest train loss, kept in memory."""

    def __new__(cls):
        import keras

        class Best(keras.callbacks.Callback):
            best = math.inf

            def on_epoch_end(self, epoch, logs=None):
                if logs["loss"] < self.best:
                    self.best, self.weights = logs["loss"], self.model.get_weights()

        return Best()


# --------------------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(UCR))
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument(
        "--networks",
        nargs="+",
        default=["fcn"],
        choices=sorted(NETWORKS),
        help="measure every runner on each of these networks (default: fcn)",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="timed epochs per runner (default: 30, 10 or 3 by the dataset's size)",
    )
    parser.add_argument(
        "--runners",
        nargs="+",
        default=None,
        help="only the runners whose label contains one of these words",
    )
    parser.add_argument(
        "--together",
        nargs="+",
        type=int,
        default=None,
        help="only the runners that train this many models at once (S; default: all)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the measurements already in --json and measure only the rest",
    )
    parser.add_argument("--csv", default=None, help="also write the summary table here")
    parser.add_argument(
        "--report",
        default=None,
        metavar="JSON",
        help="measure nothing: the tables again from a run's --json file",
    )
    fresh_process.add_child_arguments(parser)
    args = parser.parse_args()
    if fresh_process.answer_child(args, _child):
        return

    import pandas as pd

    from transfer_tsc.settings import default_recipe

    if args.report:
        table = summary(json.loads(Path(args.report).read_text()))
        report(table)
        _write_csv(table, args.csv)
        return

    inventory = pd.read_csv(Path(args.root) / "INVENTORY.tsv", sep="\t").set_index("name")
    print(
        f"machine: {os.cpu_count()} CPUs ({_cpu()}), load average {load_average()} at start",
        flush=True,
    )
    rows = _measured(args.json) if args.resume else []
    done = {_row_key(r) for r in rows}
    for name in args.datasets:
        n, length = int(inventory.loc[name, "n_train"]), int(inventory.loc[name, "length_max"])
        released = DATASETS.get(name, False)
        for round_ in range(args.rounds):
            print(f"{name}: {n} x {length}, round {round_ + 1}/{args.rounds}", flush=True)
            for net in args.networks:
                title = network(net).title
                size, cap = released_batch(net) if released else (16, False)
                batch = default_recipe(batch_size=size, batch_size_cap_tenth=cap).batch_size_for(n)
                for kind, backend, S, label in RUNNERS:
                    label = _runner_label(label, kind, net)
                    if args.runners and not any(word in label for word in args.runners):
                        continue
                    if args.together and S not in args.together:
                        continue
                    if (net, name, label, S, round_, batch) in done:
                        continue
                    spec = {
                        "kind": kind,
                        "network": net,
                        "dataset": name,
                        "S": S,
                        "batch_size": size,
                        "cap": cap,
                        "root": args.root,
                        "epochs": args.epochs or _timed_epochs(n, length),
                    }
                    aeon_path = args.aeon_path if kind == "aeon" else None
                    row = measure(__file__, spec, backend, aeon_path)
                    row.update(label=label, n=n, length=length, load=load_average(), round=round_)
                    rows.append(row)
                    _save_rows(rows, args.json)
                    if "error" in row:
                        print(
                            f"  {title}, {label} S={S}: not measured ({row['error'][:100]})",
                            flush=True,
                        )
                    else:
                        print(
                            f"  {title}, {label} S={S}: {min(row['epoch_seconds']) * 1000:.1f} "
                            f"ms/epoch (batch {row['batch']}, load {row['load']})",
                            flush=True,
                        )
    print(f"load average {load_average()} at end", flush=True)
    table = summary(rows)
    report(table)
    _write_csv(table, args.csv)


def _row_key(row: dict) -> tuple:
    """What a measurement measured: network, dataset, runner, S, round and batch."""
    return (
        row.get("network", "fcn"),
        row["dataset"],
        row["label"],
        row["S"],
        row["round"],
        row.get("batch"),
    )


def _measured(path: str | None) -> list[dict]:
    """The measurements a previous run saved at ``path`` (none when there is no such file)."""
    if not path or not Path(path).exists():
        return []
    return json.loads(Path(path).read_text())


def _save_rows(rows: list[dict], path: str | None) -> None:
    """Every measurement so far at ``path``, replaced whole (a stop loses only the current one)."""
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(rows, indent=1))
    partial.replace(target)


def _write_csv(table: list[dict], path: str | None) -> None:
    """The summary table as CSV at ``path`` (nothing when None)."""
    if not path:
        return
    import pandas as pd

    frame = pd.DataFrame(table, columns=SUMMARY_COLUMNS)
    frame["batch"] = frame["batch"].astype("Int64")  # empty where not measured
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


# --------------------------------------------------------------------------- the report

FIT, FIT_BEST = RUNNERS[2][3], RUNNERS[3][3]
FLOOR_BATCH_LABEL, FLOOR_LARGE_LABEL = RUNNERS[1][3], RUNNERS[0][3]
# the engine's runners at S = 1 by backend (the fused epoch)
ENGINES = {"TF": "engine, TF", "TF + XLA": "engine, TF + XLA step", "JAX": "engine, JAX"}
# the backends whose faster engine the 2x goal takes
GOAL_2X_BACKENDS = ("TF", "JAX")
SUMMARY_COLUMNS = (
    "network",
    "dataset",
    "n",
    "length",
    "batch",
    "runner",
    "S",
    "ms_per_model_epoch",
    "x_floor_batch",
    "x_floor_256",
    "vs_fit",
    "vs_fit_best",
    "error",
)


def summary(rows: list[dict]) -> list[dict]:
    """One row per network, dataset, runner and S (``SUMMARY_COLUMNS``): the fastest epoch of
    its rounds in ms per model-epoch, its ratio to the network's floors (times) and the rate
    ratios to fit and fit best; NaN where not measured (``error`` says why)."""
    best: dict[tuple, dict] = {}
    for r in rows:
        key = (r.get("network", "fcn"), r["dataset"], r["label"], r["S"])
        if "error" in r:
            best.setdefault(key, r)
            continue
        r = dict(r, seconds=min(r["epoch_seconds"]) / r["S"])
        if key not in best or "error" in best[key] or r["seconds"] < best[key]["seconds"]:
            best[key] = r
    table = []
    for net, name in dict.fromkeys(k[:2] for k in best):
        mine = {k[2:]: v for k, v in best.items() if k[:2] == (net, name)}
        ok = {k: v for k, v in mine.items() if "error" not in v}

        def seconds(label):
            return ok[(label, 1)]["seconds"] if (label, 1) in ok else math.nan

        fit, fit_best = seconds(FIT), seconds(FIT_BEST)
        floor_b, floor_l = seconds(FLOOR_BATCH_LABEL), seconds(FLOOR_LARGE_LABEL)
        for (label, S), r in mine.items():
            row = {
                "network": net,
                "dataset": name,
                "n": r["n"],
                "length": r["length"],
                "batch": r.get("batch"),
                "runner": label,
                "S": S,
                "error": r.get("error", ""),
            }
            s = r.get("seconds", math.nan)
            row.update(
                ms_per_model_epoch=s * 1000,
                x_floor_batch=s / floor_b,
                x_floor_256=s / floor_l,
                vs_fit=fit / s,
                vs_fit_best=fit_best / s,
            )
            table.append(row)
    return table


def report(table: list[dict]) -> None:
    """The summary as one Markdown table, then the goals of issue 24 per network and dataset."""
    print(
        "\n| network | dataset | n x length | batch | runner | S | ms / model-epoch "
        "| x floor (batch) | x floor (256) | vs fit | vs fit best |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        head = f"| {r['network']} | {r['dataset']} | {r['n']} x {r['length']} |"
        if r["error"]:
            print(f"{head} | {r['runner']} | {r['S']} | not measured | | | | |")
            continue
        print(
            f"{head} {r['batch']} | {r['runner']} | {r['S']} | {r['ms_per_model_epoch']:.1f} | "
            f"{r['x_floor_batch']:.2f} | {r['x_floor_256']:.2f} | "
            f"{r['vs_fit']:.2f}x | {r['vs_fit_best']:.2f}x |"
        )
    goals(table)


def _batch(runners: dict[str, dict]) -> int:
    """The recipe's batch of a network and dataset's runners (not the large floor's)."""
    return next(r["batch"] for label, r in runners.items() if label != FLOOR_LARGE_LABEL)


def _ratio(value: float) -> str:
    return "not measured" if math.isnan(value) else f"{value:.2f}x"


def goals(table: list[dict]) -> None:
    """Issue 24's goals per network and dataset, for the engine at S = 1: not slower than fit
    at its best (each backend), and at least 2x plain fit on the faster of TF and JAX on
    MoteStrain and ECGFiveDays (released batch rule)."""
    measured: dict[tuple, dict[str, dict]] = {}
    for r in table:
        if r["S"] == 1 and not r["error"]:
            measured.setdefault((r["network"], r["dataset"]), {})[r["runner"]] = r

    print(
        "\nGoal: the engine at S = 1 not slower than Keras fit at its best (jit_compile + "
        "steps_per_execution): rate ratio engine / fit best >= 1"
    )
    print(f"\n| network | dataset | batch | fit best, ms | {' | '.join(ENGINES)} | met by |")
    print("|---|---|---|---|" + "---|" * len(ENGINES) + "---|")
    for (net, name), runners in measured.items():
        fit_best = runners.get(FIT_BEST)
        ratios = {
            backend: (
                fit_best["ms_per_model_epoch"] / runners[label]["ms_per_model_epoch"]
                if fit_best and label in runners
                else math.nan
            )
            for backend, label in ENGINES.items()
        }
        met = [backend for backend, ratio in ratios.items() if ratio >= 1]
        if not fit_best or all(math.isnan(v) for v in ratios.values()):
            verdict = "not measured"
        else:
            verdict = ", ".join(met) or "none"
        batch = _batch(runners)
        best_ms = f"{fit_best['ms_per_model_epoch']:.1f}" if fit_best else "not measured"
        cells = " | ".join(_ratio(v) for v in ratios.values())
        print(f"| {net} | {name} | {batch} | {best_ms} | {cells} | {verdict} |")

    print(
        "\nGoal: the engine at S = 1 on the faster backend (of "
        f"{' and '.join(GOAL_2X_BACKENDS)}) at least 2x plain Keras fit (the paper's code) on "
        f"{' and '.join(GOAL_2X_DATASETS)}, each network's released batch rule (dl4tsc.yaml)"
    )
    print("\n| network | dataset | batch | fit, ms | faster backend | engine, ms | vs fit | met |")
    print("|---|---|---|---|---|---|---|---|")
    shown = 0
    for (net, name), runners in measured.items():
        if name not in GOAL_2X_DATASETS or not DATASETS.get(name):
            continue
        shown += 1
        fit = runners.get(FIT)
        engines = {b: runners[ENGINES[b]] for b in GOAL_2X_BACKENDS if ENGINES[b] in runners}
        batch = _batch(runners)
        if not fit or not engines:
            print(f"| {net} | {name} | {batch} | | | | not measured | |")
            continue
        backend = min(engines, key=lambda b: engines[b]["ms_per_model_epoch"])
        engine_ms = engines[backend]["ms_per_model_epoch"]
        ratio = fit["ms_per_model_epoch"] / engine_ms
        print(
            f"| {net} | {name} | {batch} | {fit['ms_per_model_epoch']:.1f} | {backend} | "
            f"{engine_ms:.1f} | {ratio:.2f}x | {'yes' if ratio >= 2 else 'no'} |"
        )
    if not shown:
        print(f"| | {' and '.join(GOAL_2X_DATASETS)}: not in this run | | | | | | |")


if __name__ == "__main__":
    main()
