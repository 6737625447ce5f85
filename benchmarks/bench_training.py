"""Training throughput: one FCN at a time with Keras ``fit`` against the batched engine.

Usage (from the repository root, CPU; takes 15-40 minutes on 2 shared cores)::

    .venv/bin/python benchmarks/bench_training.py [--datasets GunPoint OSULeaf ...]
        [--sizes 1 8 32 84] [--jax-sizes 1 8] [--epochs 2]

Figures, measured in one run on the same machine:

* ``fit``: one model at a time, Keras ``Model.fit`` as the paper's code trains (Adam,
  categorical cross-entropy, batch 16, ReduceLROnPlateau(monitor="loss", factor 0.5,
  patience 50, min_lr 1e-4) and ModelCheckpoint(save_best_only=True on the loss) callbacks).
* ``engine S``: ``training.train_together`` with S models stepped together (TensorFlow backend,
  and the JAX backend for the sizes in ``--jax-sizes``).
* ``aeon``: ``aeon``'s ``FCNClassifier`` fit epoch (the same network and recipe), when aeon
  can be imported (``pip install aeon``, the ``bench`` extra; aeon is no pipeline dependency).

The rate is model-epochs per second: S / (seconds per epoch). Each measurement runs in its own
process (so the peak resident memory ``ru_maxrss`` is the job's), trains one warm-up epoch
(tracing, compilation) and ``--epochs`` timed epochs, and keeps the fastest timed epoch (the
machine is shared: the fastest epoch is the one least slowed by other work). When S models on
the full train set would exceed ``--cap`` sample-time-steps x models per epoch
(default 84 x 50 x 150, GunPoint at S = 84), the epoch is timed on the first whole batches of
the train set only and scaled to the full epoch by the number of batches (the last, partial
batch counted as a whole one, so the scaled rate is a slight underestimate).

The study estimate: the cost of a model-epoch grows with train size x length, so seconds per
model-epoch per (sample x time step) are taken from each measured dataset and applied to every
dataset of the archive: fine-tuning = sum over targets of (N - 1) sources x 2000 epochs x
n_train x length x that cost; pre-training = N x 2000 epochs at the ``fit`` or S = 1 cost.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import fresh_process
from fresh_process import load_average, measure, paper_fit_callbacks, plateau_callback

ROOT = Path(__file__).resolve().parents[1]
UCR = ROOT / ".." / "shared" / "ucr" / "UCRArchive_2018"
STUDY_EPOCHS = 2000
PAPER_GPU_DAYS = 168


def inventory(root: Path) -> dict[str, tuple[int, int, int]]:
    """name -> (n_train, length, classes) of every dataset of the archive."""
    import pandas as pd

    table = root / "INVENTORY.tsv"
    if table.is_file():
        frame = pd.read_csv(table, sep="\t")
        return {
            r.name: (int(r.n_train), int(r.length_max), int(r.classes)) for r in frame.itertuples()
        }
    from transfer_tsc.data import list_datasets, load_dataset

    out = {}
    for name in list_datasets(root):
        d = load_dataset(root, name)
        out[name] = (len(d.y_train), d.length, d.n_classes)
    return out


# --------------------------------------------------------------------------- one measurement


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(spec: dict) -> dict:
    """Run one measurement in this process (Keras backend already chosen by the parent)."""
    import numpy as np

    from transfer_tsc.data import load_dataset

    d = load_dataset(spec["root"], spec["dataset"])
    x, y = d.network_input("train"), d.y_train
    batch, n = 16, len(y)
    steps_full = math.ceil(n / batch)
    samples = spec["samples"]
    x, y = x[:samples], y[:samples]
    steps_timed = math.ceil(len(y) / batch)
    epochs = spec["epochs"] + 1
    stamps: list[float] = []
    baseline = _rss_mb()

    if spec["kind"] == "engine":
        from transfer_tsc.networks.fcn import build_fcn
        from transfer_tsc.settings import default_recipe
        from transfer_tsc.training.engines import use_threads
        from transfer_tsc.training.loop import train_together

        use_threads(2)
        models = [build_fcn(d.n_classes, seed=s) for s in range(spec["S"])]
        baseline = _rss_mb()
        recipe = default_recipe(epochs=epochs, progress_every=1, checkpoint_every=10**9)
        stamps.append(time.perf_counter())
        train_together(
            models, x, y, d.n_classes, recipe, log=lambda _line: stamps.append(time.perf_counter())
        )
    elif spec["kind"] == "fit":
        import keras

        from transfer_tsc.networks.fcn import build_fcn

        model = build_fcn(d.n_classes, seed=0)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        timer = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter())
        )
        with tempfile.TemporaryDirectory() as tmp:
            callbacks = [*paper_fit_callbacks(tmp), timer]
            stamps.append(time.perf_counter())
            model.fit(
                x,
                np.eye(d.n_classes, dtype=np.float32)[y],
                batch_size=batch,
                epochs=epochs,
                shuffle=True,
                verbose=0,
                callbacks=callbacks,
            )
    elif spec["kind"] == "aeon":
        import keras
        from aeon.classification.deep_learning import FCNClassifier

        timer = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter())
        )
        rlr = plateau_callback()
        with tempfile.TemporaryDirectory() as tmp:
            clf = FCNClassifier(
                n_epochs=epochs,
                batch_size=batch,
                file_path=tmp + "/",
                callbacks=[rlr, timer],
                random_state=0,
            )
            stamps.append(time.perf_counter())
            clf.fit(x.transpose(0, 2, 1), y)
    else:
        raise ValueError(spec["kind"])

    epoch_seconds = np.diff(stamps)[1:]  # the first epoch (tracing, compiling) is not timed
    best = float(epoch_seconds.min())
    full_epoch = best * steps_full / steps_timed
    return {
        **spec,
        "steps_timed": steps_timed,
        "steps_full": steps_full,
        "epoch_seconds": [round(float(t), 4) for t in epoch_seconds],
        "full_epoch_seconds": full_epoch,
        "model_epochs_per_s": spec["S"] / full_epoch,
        "peak_rss_mb": _rss_mb(),
        "baseline_rss_mb": baseline,
    }


# --------------------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(UCR))
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        help="default: GunPoint, OSULeaf and the largest (n_train x length)",
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 8, 32, 84])
    parser.add_argument(
        "--jax-sizes",
        nargs="*",
        type=int,
        default=[1, 8],
        help="engine sizes also measured on the JAX backend (first dataset)",
    )
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every configuration this many times, interleaved; keep the fastest",
    )
    parser.add_argument("--cap", type=int, default=84 * 50 * 150)
    parser.add_argument(
        "--max-rss-mb",
        type=float,
        default=12000,
        help="skip an S whose peak memory, scaled from the previous S, exceeds this",
    )
    fresh_process.add_child_arguments(parser)
    args = parser.parse_args()
    if fresh_process.answer_child(args, _child):
        return

    root = Path(args.root)
    sizes = inventory(root)
    largest = max(sizes, key=lambda k: sizes[k][0] * sizes[k][1])
    datasets = args.datasets or ["GunPoint", "OSULeaf", largest]
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_average()} at start; "
        f"python {sys.version.split()[0]}",
        flush=True,
    )
    rows: list[dict] = []

    def run(kind: str, name: str, S: int, backend: str = "tensorflow") -> dict:
        n, length, _ = sizes[name]
        samples = n
        if S * n * length > args.cap:
            samples = min(n, 16 * max(1, args.cap // (S * length * 16)))
        spec = {
            "kind": kind,
            "dataset": name,
            "S": S,
            "epochs": args.epochs,
            "samples": samples,
            "root": str(root),
        }
        started = time.perf_counter()
        row = measure(__file__, spec, backend, args.aeon_path if kind == "aeon" else None)
        row["wall_s"] = round(time.perf_counter() - started, 1)
        row["load"] = load_average()
        rows.append(row)
        if "error" in row:
            print(
                f"  {kind:6s} {backend:10s} {name:24s} S={S:3d}: FAILED {row['error']}", flush=True
            )
        else:
            print(
                f"  {kind:6s} {backend:10s} {name:24s} S={S:3d}: {row['full_epoch_seconds']:8.3f} "
                f"s/epoch"
                f" {row['model_epochs_per_s']:7.3f} model-epochs/s  peak "
                f"{row['peak_rss_mb']:6.0f} MB"
                f"  ({row['steps_timed']}/{row['steps_full']} batches timed, load {row['load']})",
                flush=True,
            )
        return row

    for name in datasets:
        n, length, classes = sizes[name]
        for round_ in range(args.rounds):
            print(
                f"{name}: {n} train series of length {length}, {classes} classes"
                f" (round {round_ + 1} of {args.rounds})",
                flush=True,
            )
            run("fit", name, 1)
            previous = None
            for S in args.sizes:
                if previous and "error" not in previous:
                    scaled = (
                        previous["baseline_rss_mb"]
                        + (previous["peak_rss_mb"] - previous["baseline_rss_mb"])
                        * S
                        / previous["S"]
                    )
                    if scaled > args.max_rss_mb:
                        print(
                            f"  engine S={S}: skipped, peak memory scaled from S={previous['S']} "
                            f"is {scaled:.0f} MB > {args.max_rss_mb:.0f} MB",
                            flush=True,
                        )
                        continue
                previous = run("engine", name, S)
            if name == datasets[0]:
                for S in args.jax_sizes:
                    run("engine", name, S, backend="jax")
            run("aeon", name, 1)

    print(f"load average {load_average()} at end", flush=True)
    report(rows, sizes, datasets)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def fastest(rows: list[dict]) -> list[dict]:
    """Per configuration, the round with the highest rate (with every round's rate noted)."""
    best: dict[tuple, dict] = {}
    for r in rows:
        key = (r["dataset"], r["kind"], r["backend"], r["S"])
        rates = best.get(key, {}).get("rates", []) + [r.get("model_epochs_per_s")]
        if (
            key not in best
            or ("error" in best[key] and "error" not in r)
            or ("error" not in r and r["model_epochs_per_s"] > best[key]["model_epochs_per_s"])
        ):
            best[key] = dict(r)
        best[key]["rates"] = rates
    return list(best.values())


def report(rows: list[dict], sizes: dict, datasets: list[str]) -> None:
    rows = fastest(rows)
    ok = [r for r in rows if "error" not in r]
    print(
        "\n| dataset | n_train x length | runner | backend | S | s / epoch | model-epochs / s "
        "| vs Keras fit | peak RSS MB | rates of the rounds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in datasets:
        fit = next((r for r in ok if r["dataset"] == name and r["kind"] == "fit"), None)
        for r in (r for r in rows if r["dataset"] == name):
            n, length, _ = sizes[name]
            if "error" in r:
                print(
                    f"| {name} | {n} x {length} | {r['kind']} | {r['backend']} | {r['S']} | "
                    f"failed: {r['error'][:80]} | | | | |"
                )
                continue
            ratio = r["model_epochs_per_s"] / fit["model_epochs_per_s"] if fit else float("nan")
            print(
                f"| {name} | {n} x {length} | {r['kind']} | {r['backend']} | {r['S']} | "
                f"{r['full_epoch_seconds']:.3f} | {r['model_epochs_per_s']:.3f} | {ratio:.2f}x | "
                f"{r['peak_rss_mb']:.0f} | "
                + ", ".join("-" if x is None else f"{x:.3g}" for x in r["rates"])
                + " |"
            )

    # Seconds per model-epoch per (sample x time step): fit and the best TF engine size.
    def cost(kind_rows):
        return [
            r["full_epoch_seconds"] / r["S"] / (sizes[r["dataset"]][0] * sizes[r["dataset"]][1])
            for r in kind_rows
        ]

    tf_engine = [r for r in ok if r["kind"] == "engine" and r["backend"] == "tensorflow"]
    best_engine = []
    for name in datasets:
        mine = [r for r in tf_engine if r["dataset"] == name]
        if mine:
            best_engine.append(max(mine, key=lambda r: r["model_epochs_per_s"]))
    fits = [r for r in ok if r["kind"] == "fit"]
    if not best_engine or not fits:
        return
    import numpy as np

    units = np.array([n * length for n, length, _ in sizes.values()], dtype=float)
    N = len(units)
    for label, per_unit in (
        ("Keras fit, one at a time", float(np.median(cost(fits)))),
        ("batched engine, best S", float(np.median(cost(best_engine)))),
    ):
        finetune = STUDY_EPOCHS * (N - 1) * units.sum() * per_unit
        pretrain = STUDY_EPOCHS * units.sum() * per_unit
        study85 = (finetune + pretrain) * (85 * 84) / (N * (N - 1))
        print(
            f"\nstudy estimate ({label}): {per_unit * 1e6:.1f} us per model-epoch per sample-step "
            f"(n_train x length); this archive ({N} datasets): "
            f"{(finetune + pretrain) / 86400:.0f} days "
            f"on this CPU; scaled to 85 x 84 pairs of the same mean size: {study85 / 86400:.0f} "
            f"days (paper: {PAPER_GPU_DAYS} GPU-days; GPU not measured here)"
        )


if __name__ == "__main__":
    main()
