"""Published from-scratch accuracies of ResNet and Inception on five small UCR datasets, and a
small ResNet transfer study, reproduced on one GPU in one call with the batched JAX engine.

Usage (from the repository root; docs/gpu_reproduce.md says more)::

    # here, with internet: the wheels the GPU machine lacks and the datasets (gpu_check's bundle)
    .venv/bin/python benchmarks/gpu_check.py --prepare .gpu_bundle --datasets CBF \\
        DiatomSizeReduction ECGFiveDays ItalyPowerDemand MoteStrain Coffee GunPoint
    # on the GPU machine (JAX with CUDA, numpy, h5py, pandas; no TensorFlow, Keras or internet)
    python3 benchmarks/gpu_reproduce.py --wheels .gpu_bundle/wheels --data .gpu_bundle/ucr \\
        --out $OUT
    # here: the same code path on the CPU (2 datasets, 3 epochs, 2 seeds)
    .venv/bin/python benchmarks/gpu_reproduce.py --cpu --quick --out /tmp/gpu_repro_test
    # here: the Markdown tables again from a run's CSVs
    .venv/bin/python benchmarks/gpu_reproduce.py --summarise OUT
    # the plan and its optimizer steps, without training
    .venv/bin/python benchmarks/gpu_reproduce.py --plan

Three phases, each in child processes (the mechanisms of ``gpu_check.py``, imported from it:
``--wheels``, the children's environment with ``KERAS_BACKEND=jax``, TensorFlow hidden,
``PYTHONPATH=src``, and its import list first):

1. ResNet from scratch on each dataset of ``benchmarks/data/reproduce_datasets.txt``: seeds
   0-3 trained together (``training.train_together``, the JAX engine, one ``lax.scan`` per
   epoch), 1500 epochs, batch min(16, n_train // 10) as the released code (dl-4-tsc); each
   model scored on the test set (``training.evaluate``); seed 0's model is kept as a transfer
   source. Compared with the 10 runs of dl-4-tsc on the 2015 archive
   (``report.published.network_summary``).
2. Inception (one network, not the ensemble) from scratch: 1500 epochs, batch 64; compared with
   the 5 runs of InceptionTime's repository on the 2018 archive (the 2015 archive has none).
3. ResNet transfer: per target, the other datasets' seed-0 ResNets, head replaced
   (``networks.with_new_head``, as ``training.transfer.finetune``), fine-tuned together for
   1500 epochs with the same recipe; the gain over the target's seed-0 scratch accuracy.
   Targets cheapest first.

Two lanes (``--lanes 2``): phase 1 then 3 in one, phase 2 beside it in the other, which then
takes transfer targets too once phase 1 is done (each target goes to the first lane free);
``--lanes 1`` runs 1, 2, 3 one after the other. The children share a JAX compilation cache:
4 seeds, as many models as the 4 sources of a target, make a target's fine-tuning the same
compiled epoch as its scratch training.

Every finished dataset is appended at once to ``scratch.csv`` / ``transfer.csv`` in ``--out``
and its timing to ``steps.csv``, so a run cut short keeps all it finished. ``--budget`` seconds
(330) from the start: before each dataset the child predicts its time from the datasets done
(per network: a fixed part, model building, compilation, first epoch and scoring, plus seconds
per epoch, linear in the steps per epoch) and skips it when it would not end within the
budget; a child still running 30 s after the budget is killed. The tables come last, then
what was skipped.
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_check  # noqa: E402  (beside this script: its wheels, child environment, imports)

ROOT = gpu_check.ROOT
SRC = gpu_check.SRC
DATASETS_FILE = ROOT / "benchmarks" / "data" / "reproduce_datasets.txt"
DEFAULT_OUT = ROOT / "benchmarks" / "out" / "gpu_reproduce"

EPOCHS = 1500
# Models trained from scratch together, seeds 0..: 4, as many as the sources fine-tuned together
# on a target, so that the transfer phase's compiled epoch is the scratch phase's (the same
# network, classes, batch, length and number of models) and comes from the compilation cache.
# A model more costs next to nothing: the step's kernels are the same, each a little larger.
SEEDS = 4
# (batch_size, batch_size_cap_tenth) of the published runs: the ResNet of dl-4-tsc takes
# min(16, n_train // 10), the Inception network of InceptionTime 64 (at most n_train).
BATCH = {"resnet": (16, True), "inception": (64, False)}
# The published runs each network is compared with (report.published.network_summary).
PUBLISHED = {"resnet": "ucr2015", "inception": "ucr2018"}
PHASES = ("resnet", "inception", "transfer")
# Children at a time, each a lane of phases: with 2, Inception trains beside the ResNet and,
# once the ResNet sources are all trained, both lanes take transfer targets. Expected (not yet
# measured on a GPU): one child compiles on the CPU while the other trains, and the GPU, idle
# between the launches of one child's small kernels, runs the other's.
LANES = 2
QUICK = dict(datasets=2, epochs=3, seeds=2, budget=1200.0)
BUDGET = 330.0
GRACE = 30.0  # a child still running this long after the budget is killed
MIN_START = 15.0  # no child is started with less of the budget left
MARGIN = 1.1  # a dataset runs when 1.1 x its predicted time fits what is left
PRINT_EVERY = 500  # epochs between progress lines
# Guesses for the first dataset of a network on a GPU, before any is measured: fixed seconds
# (model building, compilation, first epoch, scoring), seconds per epoch and per step.
PRIORS = {"resnet": (25.0, 0.004, 0.0015), "inception": (35.0, 0.004, 0.002)}

SCRATCH_COLUMNS = [
    "network",
    "dataset",
    "n_train",
    "n_test",
    "length",
    "classes",
    "batch",
    "epochs",
    "models",
    "seed",
    "test_accuracy",
    "test_loss",
    "train_loss",
    "best_epoch",
    "seconds",
    "published_archive",
    "published_mean",
    "published_std",
    "published_runs",
]
TRANSFER_COLUMNS = [
    "source",
    "target",
    "n_train",
    "length",
    "batch",
    "epochs",
    "models",
    "test_accuracy",
    "test_loss",
    "train_loss",
    "best_epoch",
    "scratch_accuracy",
    "gain",
    "seconds",
]
STEP_COLUMNS = [
    "phase",
    "network",
    "dataset",
    "n_train",
    "length",
    "batch",
    "steps_per_epoch",
    "epochs",
    "models",
    "steps",
    "status",
    "predicted_s",
    "wall_s",
    "fixed_s",
    "train_s",
    "s_per_epoch",
    "ms_per_step",
]
CheckError = gpu_check.CheckError


# =========================================================================== the plan


def read_datasets_file(path: Path = DATASETS_FILE) -> list[str]:
    return [
        line.split("#")[0].strip()
        for line in path.read_text().splitlines()
        if line.split("#")[0].strip()
    ]


def train_shape(root: Path, name: str) -> tuple[int, int]:
    """(n_train, length) of a dataset from its TRAIN file, without the package."""
    files = sorted((root / name).glob(f"{name}_TRAIN*"))
    if not files:
        raise CheckError(f"--data {root}: no {name}/{name}_TRAIN file (--prepare copies it)")
    lines = [line for line in files[0].read_text().splitlines() if line.strip()]
    separator = "\t" if files[0].suffix == ".tsv" else ","
    return len(lines), len(lines[0].split(separator)) - 1


def batch_for(network: str, n_train: int) -> int:
    size, cap = BATCH[network]
    return max(1, min(size, n_train // 10)) if cap else size


def plan(root: Path, datasets: list[str], phases: list[str], epochs: int, seeds: int) -> list[dict]:
    """The datasets each phase trains, in the order they run, with their optimizer steps."""
    shapes = {name: train_shape(root, name) for name in datasets}
    items = []
    for phase in phases:
        network = "resnet" if phase == "transfer" else phase
        for name in datasets:
            n, length = shapes[name]
            batch = batch_for(network, n)
            per_epoch = math.ceil(n / batch)
            items.append(
                {
                    "phase": "transfer" if phase == "transfer" else "scratch",
                    "network": network,
                    "dataset": name,
                    "n_train": n,
                    "length": length,
                    "batch": batch,
                    "steps_per_epoch": per_epoch,
                    "epochs": epochs,
                    "models": len(datasets) - 1 if phase == "transfer" else seeds,
                    "steps": per_epoch * epochs,
                }
            )
    # The transfer targets cheapest first: a run short of time drops the costliest.
    scratch = [it for it in items if it["phase"] == "scratch"]
    transfer = sorted((it for it in items if it["phase"] == "transfer"), key=lambda it: it["steps"])
    return scratch + transfer


def print_plan(items: list[dict]) -> None:
    print(
        "\n| phase | network | dataset | n_train x length | batch | steps / epoch | epochs "
        "| models | optimizer steps |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for it in items:
        print(
            f"| {it['phase']} | {it['network']} | {it['dataset']} | {it['n_train']} x "
            f"{it['length']} | {it['batch']} | {it['steps_per_epoch']} | {it['epochs']} | "
            f"{it['models']} | {it['steps']} |"
        )
    totals: dict[tuple[str, str], int] = {}
    for it in items:
        group = (it["phase"], it["network"])
        totals[group] = totals.get(group, 0) + it["steps"]
    print(
        "optimizer steps (each one step of all the models trained together): "
        + "; ".join(f"{p} {n} {s}" for (p, n), s in totals.items())
        + f"; in all {sum(totals.values())}\n",
        flush=True,
    )


def key(row: dict) -> tuple[str, str, str]:
    return (row["phase"], row["network"], row["dataset"])


# =========================================================================== CSV files


def append_rows(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Append ``rows`` to the CSV ``path`` (its header first when new), flushed at once."""
    with open(path, "a", newline="") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # two lanes append to the same files
        new = f.tell() == 0
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: round(v, 6) if isinstance(v, float) else ("" if v is None else v)
                    for k, v in ((k, row.get(k)) for k in columns)
                }
            )
        f.flush()
        os.fsync(f.fileno())


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        return list(csv.DictReader(f))


def claim(work: Path, item: dict, lane: int) -> bool:
    """Take ``item`` for ``lane``: True once, for the first lane that asks."""
    folder = work / "claims"
    folder.mkdir(exist_ok=True)
    try:
        handle = os.open(folder / "_".join(key(item)), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(handle, str(lane).encode())
    os.close(handle)
    return True


def claimed_by(work: Path, item: dict) -> int | None:
    path = work / "claims" / "_".join(key(item))
    return int(path.read_text() or -1) if path.is_file() else None


def number(value) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result


# =========================================================================== prediction


def predict(item: dict, history: list[dict], use_priors: bool) -> float | None:
    """Seconds ``item`` is expected to take: the largest fixed part (model building, compile,
    first epoch, scoring) of the finished datasets of its network, plus (epochs - 1) x seconds
    per epoch, a + b x steps per epoch fitted to them (proportional to the steps when all had
    the same steps per epoch). None when none is finished and there is no prior."""
    done = [
        r
        for r in history
        if r["network"] == item["network"]
        and str(r["status"]) == "ok"
        and number(r.get("s_per_epoch")) is not None
    ]
    if not done:
        if not use_priors:
            return None
        fixed, a, b = PRIORS[item["network"]]
        return fixed + item["epochs"] * (a + b * item["steps_per_epoch"])
    fixed = max(number(r["fixed_s"]) for r in done)
    points = [(int(r["steps_per_epoch"]), number(r["s_per_epoch"])) for r in done]
    xs = [p[0] for p in points]
    a = b = None
    if len(set(xs)) > 1:
        mx, my = sum(xs) / len(xs), sum(p[1] for p in points) / len(points)
        b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
        a = my - b * mx
    if a is None or a < 0 or b < 0:
        a, b = 0.0, max(y / x for x, y in points)
    return fixed + (item["epochs"] - 1) * (a + b * item["steps_per_epoch"])


# =========================================================================== child processes


class Skip(Exception):
    """A dataset that cannot run (no transfer source); its status says why."""


class EpochClock:
    """``train_together``'s log: a time stamp per epoch, a progress line every
    ``print_every`` epochs (and after the first: compilation)."""

    def __init__(self, epochs: int, print_every: int):
        self.epochs, self.print_every, self.stamps = epochs, print_every, []

    def __call__(self, line: str) -> None:
        self.stamps.append(time.perf_counter())
        done = len(self.stamps)
        if done == 1 or done % self.print_every == 0 or done == self.epochs:
            print(f"    {line}", flush=True)


def make_recipe(item: dict):
    from transfer_tsc.training.recipe import Recipe

    size, cap = BATCH[item["network"]]
    fields = {**gpu_check.PAPER_RECIPE, "batch_size": size, "batch_size_cap_tenth": cap}
    return Recipe(**fields, epochs=item["epochs"], progress_every=1, checkpoint_every=10**9)


def published_summary(network: str, dataset: str) -> dict:
    """The published mean, std and runs of ``network`` on ``dataset`` (empty when unknown)."""
    try:
        from transfer_tsc.report.published import network_summary

        table = network_summary(network, PUBLISHED[network])
    except Exception as error:  # the comparison is optional; the training is the point
        print(f"    (published accuracies not read: {error})", flush=True)
        return {}
    row = table[table["dataset"] == dataset]
    if row.empty:
        return {}
    row = row.iloc[0]
    return {
        "published_archive": PUBLISHED[network],
        "published_mean": float(row["mean"]),
        "published_std": float(row["std"]),
        "published_runs": int(row["runs"]),
    }


def _train(models: list, dataset, item: dict, label: str, print_every: int):
    """Train ``models`` together on the dataset, score each; (results, scores, clock)."""
    from transfer_tsc.training.loop import evaluate, train_together

    recipe = make_recipe(item)
    clock = EpochClock(item["epochs"], print_every)
    clock.begin = time.perf_counter()
    # "scan", one compiled call per epoch: the GPU's default, also on the CPU (the CPU's
    # default writes the steps out, which compiles a ResNet for minutes)
    results = train_together(
        models,
        dataset.network_input("train"),
        dataset.y_train,
        dataset.n_classes,
        recipe,
        log=clock,
        label=label,
        epoch_loop="scan",
    )
    clock.trained = time.perf_counter()
    x_test = dataset.network_input("test")
    scores = [evaluate(m, x_test, dataset.y_test) for m in models]
    return results, scores, clock


def run_scratch(item: dict, spec: dict, label: str) -> tuple[float, EpochClock]:
    import keras

    from transfer_tsc.data import load_dataset
    from transfer_tsc.networks import network
    from transfer_tsc.training.transfer import check_trainable, save_model

    started = time.perf_counter()
    d = load_dataset(spec["root"], item["dataset"])
    spec_net = network(item["network"])
    check_trainable(d, spec_net)
    keras.utils.set_random_seed(gpu_check.PAPER_RECIPE["seed"])
    seeds = list(range(item["models"]))
    models = [spec_net.build(d.n_classes, seed=s) for s in seeds]
    results, scores, clock = _train(models, d, item, label, spec["print_every"])
    if item["network"] == "resnet":  # seed 0: a transfer source
        save_model(models[0], Path(spec["sources"]) / f"{item['dataset']}.h5")
    published = published_summary(item["network"], item["dataset"])
    rows = [
        {
            **item,
            **published,
            "n_test": len(d.y_test),
            "classes": d.n_classes,
            "batch": make_recipe(item).batch_size_for(len(d.y_train)),
            "seed": seed,
            "test_accuracy": score["accuracy"],
            "test_loss": score["loss"],
            "train_loss": result.best_loss,
            "best_epoch": result.best_epoch,
            "seconds": result.train_seconds,
        }
        for seed, score, result in zip(seeds, scores, results)
    ]
    append_rows(Path(spec["out"]) / "scratch.csv", SCRATCH_COLUMNS, rows)
    accuracies = [r["test_accuracy"] for r in rows]
    pub = (
        f"; published {published['published_mean']:.3f} +- {published['published_std']:.3f} "
        f"({published['published_runs']} runs, {published['published_archive']})"
        if published
        else ""
    )
    print(
        f"    test accuracy {sum(accuracies) / len(accuracies):.3f} "
        f"({min(accuracies):.3f}-{max(accuracies):.3f}) over seeds {seeds}{pub}",
        flush=True,
    )
    return started, clock


def run_transfer(item: dict, spec: dict, label: str) -> tuple[float, EpochClock]:
    import keras

    from transfer_tsc.data import load_dataset
    from transfer_tsc.networks import network, with_new_head
    from transfer_tsc.training.transfer import check_trainable, load_model

    folder = Path(spec["sources"])
    sources = {
        name: folder / f"{name}.h5"
        for name in spec["datasets"]
        if name != item["dataset"] and (folder / f"{name}.h5").is_file()
    }
    if not sources:
        raise Skip("no pre-trained source (their ResNet scratch runs did not finish)")
    started = time.perf_counter()
    d = load_dataset(spec["root"], item["dataset"])
    resnet = network("resnet")
    check_trainable(d, resnet)
    seed = gpu_check.PAPER_RECIPE["seed"]
    keras.utils.set_random_seed(seed)
    # as training.transfer.finetune: every source gets a new head drawn from the same seed
    models = [
        with_new_head(load_model(path, resnet), d.n_classes, seed=seed) for path in sources.values()
    ]
    item = {**item, "models": len(models)}
    results, scores, clock = _train(models, d, item, label, spec["print_every"])
    # seed 0's scratch accuracy: this run's, or that of the run that saved --sources
    scratch = next(
        (
            number(r["test_accuracy"])
            for path in (Path(spec["out"]), folder.parent)
            for r in read_rows(path / "scratch.csv")
            if r["network"] == "resnet" and r["dataset"] == item["dataset"] and r["seed"] == "0"
        ),
        None,
    )
    rows = [
        {
            **item,
            "source": source,
            "target": item["dataset"],
            "batch": make_recipe(item).batch_size_for(len(d.y_train)),
            "test_accuracy": score["accuracy"],
            "test_loss": score["loss"],
            "train_loss": result.best_loss,
            "best_epoch": result.best_epoch,
            "scratch_accuracy": scratch,
            "gain": None if scratch is None else score["accuracy"] - scratch,
            "seconds": result.train_seconds,
        }
        for source, score, result in zip(sources, scores, results)
    ]
    append_rows(Path(spec["out"]) / "transfer.csv", TRANSFER_COLUMNS, rows)
    print(
        "    fine-tuned test accuracy: "
        + ", ".join(f"{r['source']} {r['test_accuracy']:.3f}" for r in rows)
        + (f" (scratch, seed 0: {scratch:.3f})" if scratch is not None else ""),
        flush=True,
    )
    return started, clock


def child_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    sys.meta_path.insert(0, gpu_check._NoTensorFlow())
    import jax
    import keras

    if not spec["cpu"] and jax.default_backend() != "gpu":
        print(f"gpu_reproduce: JAX sees no GPU ({jax.devices()})", file=sys.stderr)
        return 3
    Path(spec["sources"]).mkdir(parents=True, exist_ok=True)
    history = list(spec["history"])
    steps_csv = Path(spec["out"]) / "steps.csv"
    for item in spec["items"]:
        if not claim(Path(spec["work"]), item, spec["lane"]):
            continue  # the other lane has it
        position = f"{spec['index'][json.dumps(key(item))]}/{spec['total']}"
        label = f"[{position} {item['phase']} {item['network']} {item['dataset']}] "
        left = spec["deadline"] - time.time()
        predicted = predict(item, history, use_priors=not spec["cpu"])
        row = {**item, "predicted_s": predicted}
        if predicted is not None and MARGIN * predicted > left:
            row["status"] = f"skipped: predicted {predicted:.0f} s, {max(left, 0):.0f} s left"
            print(f"{label}{row['status']}", flush=True)
            append_rows(steps_csv, STEP_COLUMNS, [row])
            continue
        print(
            f"{label}{item['n_train']} x {item['length']}, batch {item['batch']}, "
            f"{item['models']} models x {item['epochs']} epochs = {item['steps']} steps"
            + (f", predicted {predicted:.0f} s" if predicted is not None else "")
            + f", {left:.0f} s of the budget left",
            flush=True,
        )
        try:
            run = run_transfer if item["phase"] == "transfer" else run_scratch
            started, clock = run(item, spec, label)
            end = time.perf_counter()
            stamps = clock.stamps
            steady = stamps[-1] - stamps[0]
            row.update(
                status="ok",
                wall_s=end - started,
                fixed_s=(end - started) - steady,
                train_s=clock.trained - clock.begin,
            )
            if len(stamps) > 1:
                row["s_per_epoch"] = steady / (len(stamps) - 1)
                row["ms_per_step"] = 1000 * row["s_per_epoch"] / item["steps_per_epoch"]
            print(
                f"{label}done in {row['wall_s']:.1f} s (fixed part {row['fixed_s']:.1f} s"
                + (
                    f", {row['ms_per_step']:.2f} ms per step, {row['s_per_epoch'] * 1000:.1f} "
                    "ms per epoch)"
                    if "ms_per_step" in row
                    else ")"
                ),
                flush=True,
            )
        except Skip as reason:
            row["status"] = f"skipped: {reason}"
            print(f"{label}{row['status']}", flush=True)
        except Exception as error:  # one dataset's failure is its row; the others go on
            row["status"] = "failed: " + f"{type(error).__name__}: {error}".splitlines()[0]
            print(f"{label}{row['status']}", flush=True)
        append_rows(steps_csv, STEP_COLUMNS, [row])
        history.append({k: str(v) if k == "status" else v for k, v in row.items()})
        keras.backend.clear_session()
        gc.collect()
    return 0


# =========================================================================== parent


def run_phase(items: list[dict], spec: dict, env: dict, deadline: float, lane: int) -> None:
    """Run ``items`` in a child of ``lane``, which takes each item not taken by the other lane
    (``claim``). A child that dies is started again after the item it died on; one killed at
    the budget's end leaves the items not taken skipped."""
    work, steps_csv = Path(spec["work"]), Path(spec["out"]) / "steps.csv"
    remaining = list(items)
    attempt = 0

    def close(rows: list[dict], status: str) -> None:
        """A row of ``status`` for each item of ``rows`` this lane takes."""
        rows = [{**it, "status": status} for it in rows if claim(work, it, lane)]
        append_rows(steps_csv, STEP_COLUMNS, rows)
        for it in rows:
            print(f"  {it['phase']} {it['network']} {it['dataset']}: {status}", flush=True)

    while remaining:
        left = deadline - time.time()
        if left < MIN_START:
            close(remaining, f"skipped: the budget is spent ({max(left, 0):.0f} s left)")
            return
        attempt += 1
        child = {**spec, "items": remaining, "history": read_rows(steps_csv), "lane": lane}
        name = f"{remaining[0]['phase']}_{remaining[0]['network']}_lane{lane}_{attempt}"
        path = work / f"{name}.json"
        path.write_text(json.dumps(child))
        log = path.with_suffix(".log")
        with open(log, "w") as err:
            process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(path)],
                env=env,
                stderr=err,
            )
            try:
                rc, killed = process.wait(timeout=left + GRACE), False
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                rc, killed = None, True
        tail = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        keep = Path(spec["out"]) / "logs" / log.name
        keep.parent.mkdir(exist_ok=True)
        keep.write_text("\n".join(tail[-200:]) + "\n")
        done = {key(r) for r in read_rows(steps_csv)}
        # the item this lane's child took and did not finish: the one it died on
        lost = [it for it in remaining if key(it) not in done and claimed_by(work, it) == lane]
        remaining = [it for it in remaining if claimed_by(work, it) is None]
        if killed:
            status = f"killed: still running {GRACE:.0f} s after the budget"
        else:
            last = f": {tail[-1].strip()}" if tail else ""
            status = f"failed: the child died (exit status {rc}){last}"[:300]
        if lost:
            rows = [{**it, "status": status} for it in lost]
            append_rows(steps_csv, STEP_COLUMNS, rows)
            for it in lost:
                print(f"  {it['phase']} {it['network']} {it['dataset']}: {status}", flush=True)
        if killed or rc == 3:  # the budget is spent, or no GPU: nothing else will run
            close(remaining, "skipped: the budget is spent" if killed else "skipped: no GPU")
            return
        if rc != 0 and not lost:  # died before taking a dataset: it would again
            close(remaining, status)
            return


def run_lanes(items: list[dict], phases: list[str], lanes: int, spec, env, deadline) -> None:
    """The phases in ``lanes`` lanes at a time (threads, each running its children in turn):
    1: ResNet, Inception, transfer one after the other; 2: ResNet then transfer beside
    Inception then transfer, the transfer of both lanes starting once the ResNet is done."""
    plans = (
        [[p for p in PHASES if p in phases]]
        if lanes == 1
        else [[p for p in ("resnet", "transfer") if p in phases]]
        + [[p for p in ("inception", "transfer") if p in phases]]
    )
    resnet_done = threading.Event()
    if "resnet" not in phases:
        resnet_done.set()

    def of(phase: str) -> list[dict]:
        if phase == "transfer":
            return [it for it in items if it["phase"] == "transfer"]
        return [it for it in items if (it["phase"], it["network"]) == ("scratch", phase)]

    def lane(index: int, lane_phases: list[str]) -> None:
        try:
            for phase in lane_phases:
                if phase == "transfer":  # its sources: the ResNets of this run
                    resnet_done.wait(timeout=max(0.0, deadline + GRACE - time.time()))
                run_phase(of(phase), spec, env, deadline, index)
                if phase == "resnet":
                    resnet_done.set()
        finally:
            if "resnet" in lane_phases:
                resnet_done.set()

    threads = [
        threading.Thread(target=lane, args=(n + 1, p), daemon=True)
        for n, p in enumerate(plans)
        if p
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _fmt(value, spec: str = ".3f") -> str:
    value = number(value)
    return "" if value is None else format(value, spec)


def summarise(out: Path) -> None:
    """Print the Markdown tables of a run from the CSVs in ``out``."""
    scratch = read_rows(out / "scratch.csv")
    transfer = read_rows(out / "transfer.csv")
    steps = read_rows(out / "steps.csv")
    if not (scratch or transfer or steps):
        raise CheckError(f"{out}: no scratch.csv, transfer.csv or steps.csv")
    # in the plan's order: by network, then the datasets' order (the run's list when known)
    try:
        names = json.loads((out / "environment.json").read_text())["datasets"]
    except (OSError, ValueError, KeyError):
        names = []

    def rank(network: str, dataset: str) -> tuple:
        order = list(PUBLISHED) + [network]
        return (order.index(network), names.index(dataset) if dataset in names else 99, dataset)

    groups: dict[tuple[str, str], list[dict]] = {}
    for r in sorted(scratch, key=lambda r: rank(r["network"], r["dataset"])):
        groups.setdefault((r["network"], r["dataset"]), []).append(r)
    print(
        "\n| network | dataset | n_train x length | batch | epochs | ours: mean (min-max), seeds "
        "| published: mean +- std (runs, archive) | ours - published | within 2 std or 2 points |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    agree = 0
    for (network, dataset), rows in groups.items():
        accuracies = [number(r["test_accuracy"]) for r in rows]
        mean = sum(accuracies) / len(accuracies)
        first = rows[0]
        if number(first.get("published_mean")) is None:  # not read where the run ran
            if str(SRC) not in sys.path:
                sys.path.insert(0, str(SRC))
            first = {**first, **published_summary(network, dataset)}
        pub_mean, pub_std = number(first["published_mean"]), number(first["published_std"])
        if pub_mean is None:
            published, diff, verdict = "n/a", "", ""
        else:
            published = (
                f"{pub_mean:.3f} +- {pub_std or 0:.3f} ({first['published_runs']}, "
                f"{first['published_archive']})"
            )
            gap = mean - pub_mean
            diff = f"{gap:+.3f}"
            within = [
                name
                for name, ok in (
                    ("2 std", abs(gap) <= 2 * (pub_std or 0)),
                    ("2 points", abs(gap) <= 0.02),
                )
                if ok
            ]
            verdict = f"yes ({', '.join(within)})" if within else "no"
            agree += bool(within)
        print(
            f"| {network} | {dataset} | {first['n_train']} x {first['length']} | {first['batch']} "
            f"| {first['epochs']} | {mean:.3f} ({min(accuracies):.3f}-{max(accuracies):.3f}), "
            f"{len(rows)} | {published} | {diff} | {verdict} |"
        )
    if groups:
        print(
            f"{agree} of {len(groups)} within the published mean +- 2 std or 2 points; the "
            "published ResNet runs are dl-4-tsc's 10 on the 2015 archive (batch min(16, "
            "n_train // 10), 1500 epochs), the Inception runs InceptionTime's 5 single "
            "networks on the 2018 archive"
        )
    if transfer:
        print(
            "\n| target | source | fine-tuned | scratch (seed 0) | gain | n_train x length | "
            "batch | epochs |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for r in sorted(transfer, key=lambda r: (rank("resnet", r["target"]), r["source"])):
            print(
                f"| {r['target']} | {r['source']} | {_fmt(r['test_accuracy'])} | "
                f"{_fmt(r['scratch_accuracy'])} | {_fmt(r['gain'], '+.3f')} | {r['n_train']} x "
                f"{r['length']} | {r['batch']} | {r['epochs']} |"
            )
        gains = [number(r["gain"]) for r in transfer if number(r["gain"]) is not None]
        if gains:
            print(
                f"gain > 0 for {sum(g > 0.001 for g in gains)} of {len(gains)} pairs, < 0 for "
                f"{sum(g < -0.001 for g in gains)}; mean gain {sum(gains) / len(gains):+.3f}"
            )
    if steps:
        print(
            "\n| phase | network | dataset | optimizer steps | status | wall s | fixed s | "
            "ms / epoch | ms / step |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in steps:
            print(
                f"| {r['phase']} | {r['network']} | {r['dataset']} | {r['steps']} | "
                f"{r['status']} | {_fmt(r['wall_s'], '.1f')} | {_fmt(r['fixed_s'], '.1f')} | "
                f"{_fmt(number(r['s_per_epoch']) and 1000 * number(r['s_per_epoch']), '.2f')} | "
                f"{_fmt(r['ms_per_step'], '.3f')} |"
            )
        left_out = [r for r in steps if r["status"] != "ok"]
        if left_out:
            print("\nnot done:")
            for r in left_out:
                print(f"  {r['phase']} {r['network']} {r['dataset']}: {r['status']}")
    sys.stdout.flush()


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--wheels",
        type=Path,
        metavar="DIR",
        help="install DIR/*.whl offline into a temporary folder first (gpu_check's)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="UCR archive holding the datasets (default: .gpu_bundle/ucr when it holds them, "
        "else ../shared/ucr/UCRArchive_2018)",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        metavar="NAME",
        help=f"default: those of {DATASETS_FILE.relative_to(ROOT)} (its first 2 with --quick)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the CSVs")
    parser.add_argument(
        "--phases",
        nargs="+",
        choices=PHASES,
        default=list(PHASES),
        help="what to run, in this order (transfer needs resnet's sources of the same run)",
    )
    parser.add_argument(
        "--sources",
        type=Path,
        metavar="DIR",
        help="where phase resnet saves seed 0's models and phase transfer reads them "
        "(default: a temporary folder; e.g. $OUT/sources to keep them for a later "
        "--phases transfer --sources DIR)",
    )
    parser.add_argument("--epochs", type=int, help=f"epochs of every run (default {EPOCHS})")
    parser.add_argument(
        "--seeds", type=int, help=f"models of seeds 0.. trained from scratch (default {SEEDS})"
    )
    parser.add_argument(
        "--budget", type=float, help=f"seconds for the whole run (default {BUDGET:.0f})"
    )
    parser.add_argument(
        "--lanes",
        type=int,
        choices=(1, 2),
        default=LANES,
        help="children at a time (default 2: Inception beside the ResNet; 1: the phases one "
        "after the other)",
    )
    parser.add_argument("--cpu", action="store_true", help="run JAX on the CPU")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CPU test: 2 datasets, 3 epochs, 2 seeds, budget 1200 s",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="no JAX compilation cache shared by the children (default: one in a temporary "
        "folder, so phase transfer reuses phase resnet's compiled epochs when seeds = sources)",
    )
    parser.add_argument("--plan", action="store_true", help="print the plan and its steps, stop")
    parser.add_argument(
        "--summarise", type=Path, metavar="OUT", help="print the tables of the CSVs in OUT, stop"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.epochs = args.epochs or (QUICK["epochs"] if args.quick else EPOCHS)
    args.seeds = args.seeds or (QUICK["seeds"] if args.quick else SEEDS)
    args.budget = args.budget or (QUICK["budget"] if args.quick else BUDGET)
    if args.datasets is None:
        names = read_datasets_file()
        args.datasets = names[: QUICK["datasets"]] if args.quick else names
    return args


def find_data(args) -> Path:
    if args.data is None:  # the bundle's copy, else the shared archive beside the repository
        args.data = next(
            (
                root
                for root in (gpu_check.BUNDLE / "ucr", gpu_check.SHARED_UCR)
                if all((root / name).is_dir() for name in args.datasets)
            ),
            gpu_check.SHARED_UCR,
        )
    for name in args.datasets:
        if not (args.data / name).is_dir():
            raise CheckError(
                f"--data {args.data}: no dataset folder {name} (gpu_check.py --prepare copies it "
                "into the bundle; docs/gpu_reproduce.md)"
            )
    return args.data


def main(argv: list[str] | None = None) -> int:
    started = time.time()
    args = parse(argv)
    if args.child:
        return child_main(args.child)
    try:
        if args.summarise:
            summarise(args.summarise)
            return 0
        root = find_data(args)
        items = plan(root, args.datasets, args.phases, args.epochs, args.seeds)
        print(
            f"{len(args.datasets)} datasets from {root}: {', '.join(args.datasets)}; "
            f"{args.seeds} seeds, {args.epochs} epochs; budget {args.budget:.0f} s"
        )
        print_plan(items)
        if args.plan:
            return 0
        args.out.mkdir(parents=True, exist_ok=True)
        for name in ("scratch.csv", "transfer.csv", "steps.csv"):  # this run's rows only
            (args.out / name).unlink(missing_ok=True)
        for old in (args.out / "logs").glob("*.log"):
            old.unlink()
        deadline = started + args.budget
        with tempfile.TemporaryDirectory(prefix="gpu_reproduce_") as tmp:
            work = Path(tmp)
            site, modules = None, []
            if args.wheels is not None:
                site = work / "site"
                modules = gpu_check.install_wheels(args.wheels, site)
            env = gpu_check.child_env(str(site) if site else None, args.cpu)
            if not args.no_cache:  # one compilation cache for the run's children
                env.setdefault("JAX_COMPILATION_CACHE_DIR", str(work / "jax_cache"))
                env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
            inventory = gpu_check.run_child(
                {"kind": "inventory", "wheel_modules": modules}, env, work, 300
            )
            if inventory["status"] != "ok":
                raise CheckError(f"listing the imports failed: {inventory['status']}")
            gpu_check.print_inventory(inventory)
            gpu_check.check_inventory(inventory, args.cpu)
            (args.out / "environment.json").write_text(
                json.dumps(
                    {
                        "inventory": inventory,
                        "budget_s": args.budget,
                        "epochs": args.epochs,
                        "seeds": args.seeds,
                        "datasets": args.datasets,
                        "cpu": args.cpu,
                        "quick": args.quick,
                    },
                    indent=1,
                )
            )
            print(f"imports checked in {time.time() - started:.0f} s\n", flush=True)
            spec = {
                "root": str(root),
                "out": str(args.out),
                "work": str(work),
                "sources": str(args.sources or work / "sources"),
                "datasets": args.datasets,
                "deadline": deadline,
                "cpu": args.cpu,
                "print_every": 1 if args.epochs <= 10 else PRINT_EVERY,
                "index": {json.dumps(key(it)): i + 1 for i, it in enumerate(items)},
                "total": len(items),
            }
            run_lanes(items, args.phases, args.lanes, spec, env, deadline)
        print(
            f"\ntotal {time.time() - started:.0f} s (budget {args.budget:.0f} s); wrote "
            f"{args.out}/scratch.csv, transfer.csv, steps.csv, environment.json, logs/",
            flush=True,
        )
        summarise(args.out)
        return 0
    except CheckError as error:
        print(f"gpu_reproduce: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
