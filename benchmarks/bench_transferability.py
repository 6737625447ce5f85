"""What scoring a (source, target) pair costs, against fine-tuning that pair.

Usage (from the repository root; CPU; a few minutes on 2 cores)::

    .venv/bin/python benchmarks/bench_transferability.py [--targets ItalyPowerDemand ...]
        [--sources 4] [--epochs 20]

For each target, in one process: every source model's load, its forward pass of the target's
train split (inference mode, ``transfer.source_outputs``) and the four scores
(``transferability.scores``), timed separately; then the peer: fine-tuning one source on the
target with the pipeline's engine (``transfer.finetune``, the paper's recipe with the released
batch rule) for ``--epochs`` epochs after a warm-up epoch, scaled to the recipe's 2000 epochs.
The ratio is the fine-tuning's seconds over the scoring's (forward pass + scores) for the pair.

The source models are freshly initialised FCNs (the cost of a forward pass does not depend on
the weights), one per source dataset of the shared subset, with that dataset's classes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fresh_process import load_average  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
UCR = ROOT / ".." / "shared" / "ucr" / "UCRArchive_2018"
TARGETS = ["ItalyPowerDemand", "CBF", "ECG5000", "Computers", "Haptics"]
SOURCES = ["Coffee", "GunPoint", "Adiac", "FiftyWords", "ECG200", "Beef"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="*", default=TARGETS)
    parser.add_argument("--sources", type=int, default=4, help="source models per target")
    parser.add_argument("--epochs", type=int, default=20, help="timed fine-tuning epochs")
    args = parser.parse_args()

    from transfer_tsc import data, transferability
    from transfer_tsc.networks import fcn
    from transfer_tsc.settings import default_recipe
    from transfer_tsc.training import transfer
    from transfer_tsc.training.engines import use_threads

    use_threads(2)
    print(f"load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        models = {}
        for name in SOURCES[: args.sources]:
            source = data.load_dataset(UCR, name, znormalise="auto")
            path = Path(tmp) / f"{name}.h5"
            transfer.save_model(fcn.build_fcn(source.n_classes, seed=0), path)
            models[name] = path
        print(
            f"{'target':<18} {'n x length':>11} {'load s':>7} {'forward s':>9} {'scores s':>8} "
            f"{'pair s':>7} {'fine-tune s (2000 ep)':>21} {'ratio':>7}"
        )
        for name in args.targets:
            target = data.load_dataset(UCR, name, znormalise="auto")
            x, y = target.network_input("train"), target.y_train
            transfer.source_outputs(transfer.load_model(next(iter(models.values()))), x)  # warm-up
            loads, forwards, scorings = [], [], []
            for path in models.values():
                start = time.perf_counter()
                model = transfer.load_model(path)
                loads.append(time.perf_counter() - start)
                start = time.perf_counter()
                probabilities, features = transfer.source_outputs(model, x)
                forwards.append(time.perf_counter() - start)
                start = time.perf_counter()
                transferability.scores(probabilities, features, y)
                scorings.append(time.perf_counter() - start)
            pair = (sum(forwards) + sum(scorings)) / len(models)
            finetune = fine_tune_seconds(target, models, args.epochs, default_recipe, transfer)
            print(
                f"{name:<18} {f'{len(y)} x {target.length}':>11} {sum(loads) / len(loads):7.2f} "
                f"{sum(forwards) / len(forwards):9.3f} {sum(scorings) / len(scorings):8.3f} "
                f"{pair:7.3f} {finetune:21.0f} {finetune / pair:7.0f}",
                flush=True,
            )
    print(f"load average after: {load_average()}")


def fine_tune_seconds(target, models, epochs, default_recipe, transfer) -> float:
    """Seconds of the recipe's 2000 epochs of fine-tuning one source on ``target``, from the
    time of ``epochs`` epochs after one warm-up epoch (tracing, compiling)."""
    source = {next(iter(models)): next(iter(models.values()))}
    recipe = dict(
        batch_size=16,
        batch_size_cap_tenth=True,
        seed=0,
        progress_every=10**6,
        checkpoint_every=10**6,
    )
    transfer.finetune(source, target, default_recipe(epochs=1, **recipe), None, lambda line: None)
    start = time.perf_counter()
    transfer.finetune(
        source, target, default_recipe(epochs=epochs, **recipe), None, lambda line: None
    )
    return (time.perf_counter() - start) / epochs * 2000


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
