"""Repeated runs in one job against one run per job (issue 25's goal: a job that trains a
dataset's ``runs`` together is no slower per model than one job per run, on the CPU).

Usage (from the repository root, CPU; about 15 minutes on 2 cores at the defaults)::

    .venv/bin/python benchmarks/bench_runs.py [--datasets GunPoint ItalyPowerDemand ...]
        [--runs 5] [--epochs 100] [--backend tensorflow|jax] [--json out.json]

For each dataset, in fresh Python processes as Snakemake starts its jobs (the seconds include
the interpreter, the imports, reading the dataset, building and compiling):

* ``together``: one process pre-trains the ``--runs`` runs together, seeds 0 .. R-1
  (``transfer.pretrain_runs``, what the ``pretrain`` rule's job does with config ``runs: R``);
* ``one per job``: R processes one after the other, each pre-training one run with its seed
  (what R separate jobs of ``runs: 1`` would do).

It prints, per dataset, seconds per model of each way and their ratio (together / one per job;
the goal is at most 1), the training part alone (``pretrain_runs``' seconds) and each run's test
accuracy, which must be the same both ways up to float rounding (each run keeps its own seed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import fresh_process
from fresh_process import load_average, measure

ROOT = Path(__file__).resolve().parents[1]
UCR = ROOT / ".." / "shared" / "ucr" / "UCRArchive_2018"
DATASETS = ["ItalyPowerDemand", "GunPoint", "ECGFiveDays", "Coffee"]


def _child(spec: dict) -> dict:
    """Pre-train ``spec['seeds']`` together on one dataset, as the pretrain job does."""
    from transfer_tsc.data import load_dataset
    from transfer_tsc.settings import default_recipe
    from transfer_tsc.training.engines import use_threads
    from transfer_tsc.training.transfer import pretrain_runs

    use_threads(spec["threads"])
    dataset = load_dataset(spec["ucr_root"], spec["dataset"])
    recipe = default_recipe(epochs=spec["epochs"], progress_every=spec["epochs"])
    start = time.perf_counter()
    runs = pretrain_runs(dataset, recipe, spec["seeds"], log=lambda line: None)
    return {
        **spec,
        "train_s": time.perf_counter() - start,
        "accuracy": [outcome.test_accuracy for _, outcome in runs],
    }


def _run(spec: dict, backend: str) -> dict:
    start = time.perf_counter()
    result = measure(__file__, spec, backend)
    if "error" in result:
        sys.exit(f"{spec['dataset']} seeds {spec['seeds']}: {result['error']}")
    return {**result, "wall_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="a job's threads (rules: 2)")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax"))
    parser.add_argument("--ucr-root", default=str(UCR))
    fresh_process.add_child_arguments(parser)
    args = parser.parse_args()
    if fresh_process.answer_child(args, _child):
        return

    seeds = list(range(args.runs))
    print(
        f"{args.runs} runs x {args.epochs} epochs, backend {args.backend}, "
        f"{args.threads} threads; load {load_average()}",
        flush=True,
    )
    header = (
        "dataset | together s/model | one per job s/model | ratio | "
        "train together s/model | train alone s/model | accuracy equal"
    )
    print(header, flush=True)
    rows = []
    for name in args.datasets:
        base = {"dataset": name, "epochs": args.epochs, "threads": args.threads}
        base["ucr_root"] = args.ucr_root
        together = _run({**base, "seeds": seeds}, args.backend)
        alone = [_run({**base, "seeds": [seed]}, args.backend) for seed in seeds]
        per_model = together["wall_s"] / args.runs
        alone_per_model = sum(a["wall_s"] for a in alone) / args.runs
        accuracies = [a["accuracy"][0] for a in alone]
        equal = all(abs(x - y) < 1e-9 for x, y in zip(together["accuracy"], accuracies))
        row = {
            "dataset": name,
            "together_s_per_model": per_model,
            "one_per_job_s_per_model": alone_per_model,
            "ratio": per_model / alone_per_model,
            "train_together_s_per_model": together["train_s"] / args.runs,
            "train_alone_s_per_model": sum(a["train_s"] for a in alone) / args.runs,
            "accuracy_together": together["accuracy"],
            "accuracy_alone": accuracies,
        }
        rows.append(row)
        print(
            f"{name} | {per_model:.2f} | {alone_per_model:.2f} | {row['ratio']:.2f}x | "
            f"{row['train_together_s_per_model']:.2f} | {row['train_alone_s_per_model']:.2f} | "
            f"{'yes' if equal else 'no: ' + str(together['accuracy']) + ' ' + str(accuracies)}",
            flush=True,
        )
    print(f"load after: {load_average()}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
