"""``TransferClassifier`` against aeon's ``FCNClassifier`` trained from scratch (issue 26): test
accuracy and fit time on three small datasets of the shared UCR subset, the same epochs.

Usage (from the repository root; CPU; about 5 minutes on 2 cores at 100 epochs)::

    .venv/bin/python benchmarks/bench_aeon.py [--epochs 100]
        [--targets GunPoint Coffee ItalyPowerDemand] [--aeon-python /tmp/aeon-venv/bin/python]

Per target, each fitted with ``--epochs`` epochs and seed 0 on the train split, scored on the
test split:

* ``transfer``: ``TransferClassifier(source="auto")`` from a zoo of FCNs pre-trained here (the
  package's ``pretrain``, the same epochs) on ``--sources``, fine-tuning the source its DTW
  ranking puts first; its fit time includes checking the zoo, the ranking and the scores;
* ``scratch``: ``TransferClassifier(source=None)``, the package's FCN, recipe and engine from
  scratch (the same network and recipe as aeon's, the like-for-like peer);
* both estimators with aeon's batch, ``batch_size=min(16, n_train // 10)`` (the estimator's own
  default without a study is the project's Table I batch of 16: fewer steps per epoch);
* ``aeon``: ``aeon.classification.deep_learning.FCNClassifier(n_epochs, batch_size=16,
  use_mini_batch_size=True, random_state=0)`` (Keras ``fit`` with its ReduceLROnPlateau and the
  best-train-loss checkpoint: the paper's recipe and batch rule), run by ``--aeon-python``, a
  Python where aeon is installed; aeon does not install beside requirements.lock (aeon 1.6.0
  needs pandas<3.1.0, the lock has 3.1.1; its numba<0.64 needs numpy<2.4, the lock has 2.4.6),
  so it runs in a separate venv with the lock's TensorFlow, Keras and scikit-learn. Without
  ``--aeon-python`` (or when it cannot import aeon) the aeon column is left out.

The arrays go to aeon's process as a ``.npz`` file of ``load_ucr``'s arrays, so both read the
same values. Prints one table with the ratios (time of each over aeon's, accuracy difference)
and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
UCR_ROOT = REPO.parent / "shared" / "ucr" / "UCRArchive_2018"
TARGETS = ["GunPoint", "Coffee", "ItalyPowerDemand"]
SOURCES = ["Chinatown", "ECG200", "MoteStrain", "Plane"]

# Run by --aeon-python: fit aeon's FCN on the arrays of a .npz, print accuracy and seconds.
AEON_FIT = """
import json, sys, time, numpy as np
from aeon.classification.deep_learning import FCNClassifier
data = np.load(sys.argv[1])
clf = FCNClassifier(n_epochs=int(sys.argv[2]), batch_size=16, use_mini_batch_size=True,
                    random_state=0, verbose=False, file_path=sys.argv[3])
start = time.perf_counter()
clf.fit(data["X_train"], data["y_train"])
seconds = time.perf_counter() - start
accuracy = float(np.mean(clf.predict(data["X_test"]) == data["y_test"]))
import aeon
print(json.dumps({"accuracy": accuracy, "seconds": seconds, "aeon": aeon.__version__}))
"""


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def make_zoo(folder: Path, sources: list[str], epochs: int) -> Path:
    """A zoo of FCNs pre-trained on ``sources`` for ``epochs`` epochs (the package's pretrain,
    prototypes and export, as the workflow makes them)."""
    from transfer_tsc import settings, zoo
    from transfer_tsc.data import load_dataset
    from transfer_tsc.similarity.prototypes import class_prototypes, write_prototypes
    from transfer_tsc.training.transfer import pretrain, write_outcome

    config = settings.validate(
        {"ucr_root": str(UCR_ROOT), "pretrain": {"epochs": epochs}, "finetune": {"epochs": epochs}}
    )
    results = folder / "results"
    for name in sources:
        dataset = load_dataset(UCR_ROOT, name, **config["data"])
        model, outcome = pretrain(dataset, settings.recipe(config, "pretrain"), log=lambda _: None)
        where = results / "fcn" / "pretrain" / name
        write_outcome(
            model,
            outcome,
            str(where / "model.h5"),
            str(where / "metrics.csv"),
            str(where / "history.csv"),
            dataset=name,
        )
        found = class_prototypes(
            name,
            dataset.series("train"),
            dataset.y_train,
            dataset.classes,
            config["dtw"]["window"],
            config["dtw"]["dba_iterations"],
        )
        write_prototypes(results / "prototypes" / f"{name}.h5", found, **config["data"])
        print(f"  source {name}: pre-trained, test accuracy {outcome.test_accuracy:.3f}")
    out = folder / "zoo.tar.gz"
    zoo.export_zoo(zoo.study_references(results), out, config)
    return out


def fit_here(params: dict, data: dict) -> dict:
    from transfer_tsc import TransferClassifier

    # aeon's batch rule (use_mini_batch_size): min(16, n_train // 10), so both take the same steps
    batch = min(16, max(1, len(data["y_train"]) // 10))
    clf = TransferClassifier(**params, batch_size=batch, random_state=0)
    start = time.perf_counter()
    clf.fit(data["X_train"], data["y_train"])
    seconds = time.perf_counter() - start
    return {"accuracy": clf.score(data["X_test"], data["y_test"]), "seconds": seconds, "clf": clf}


def fit_aeon(python: str, npz: Path, epochs: int, folder: Path) -> dict | None:
    result = subprocess.run(
        [python, "-c", AEON_FIT, str(npz), str(epochs), f"{folder}/"],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if result.returncode != 0:
        print(f"  aeon failed: {result.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--targets", nargs="+", default=TARGETS)
    parser.add_argument("--sources", nargs="+", default=SOURCES)
    parser.add_argument("--aeon-python", default=None, help="a Python that imports aeon")
    args = parser.parse_args()

    import numpy as np

    from transfer_tsc import load_ucr
    from transfer_tsc.training.backend import import_keras_quietly

    import_keras_quietly()
    print(f"load average before: {load_average()}; {args.epochs} epochs, seed 0")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-aeon.") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        zoo = make_zoo(tmp, args.sources, args.epochs)
        print(f"  zoo of {len(args.sources)} sources: {time.perf_counter() - start:.1f} s")
        for target in args.targets:
            X_train, y_train = load_ucr(target, UCR_ROOT, split="train")
            X_test, y_test = load_ucr(target, UCR_ROOT, split="test")
            data = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}
            npz = tmp / f"{target}.npz"
            np.savez(npz, **data)
            transfer = fit_here({"zoo": zoo, "n_epochs": args.epochs}, data)
            scratch = fit_here({"source": None, "n_epochs": args.epochs}, data)
            aeon = fit_aeon(args.aeon_python, npz, args.epochs, tmp) if args.aeon_python else None
            row = {
                "target": target,
                "train x length": f"{X_train.shape[0]} x {X_train.shape[-1]}",
                "source": transfer["clf"].source_,
                "transfer acc": transfer["accuracy"],
                "scratch acc": scratch["accuracy"],
                "aeon acc": aeon["accuracy"] if aeon else float("nan"),
                "transfer s": transfer["seconds"],
                "scratch s": scratch["seconds"],
                "aeon s": aeon["seconds"] if aeon else float("nan"),
            }
            if aeon:
                row["transfer s / aeon s"] = transfer["seconds"] / aeon["seconds"]
                row["scratch s / aeon s"] = scratch["seconds"] / aeon["seconds"]
                row["aeon version"] = aeon["aeon"]
            rows.append(row)
            print(
                "  "
                + ", ".join(
                    f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                )
            )
    import pandas as pd

    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, floatfmt=".3f") if _has_tabulate() else table)
    print(f"load average after: {load_average()}")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
