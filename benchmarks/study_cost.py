"""What the paper's whole study costs: 85 pre-trainings and 85 x 84 fine-tunings of 2000 epochs.

Usage (after ``benchmarks/bench_epoch.py --json benchmarks/out/bench_epoch.json``; add the CSV of
``benchmarks/gpu_check.py`` once it has run on a GPU)::

    .venv/bin/python benchmarks/study_cost.py [--epoch-json benchmarks/out/bench_epoch.json]
        [--gpu-csv benchmarks/out/gpu_check/speed.csv]

Every training of the study runs on one dataset's train set: each of the 85 datasets is trained
on 85 times (its pre-training, and 84 fine-tunings of the other datasets' models), so the study
is ``2000 x 85 x sum over datasets of t(n_train, length, batch)`` seconds, where ``t`` is one
model-epoch. ``t`` is taken from the measured runs as seconds per series-time-step,
``t = n x length x (alpha + beta / batch)``: a per-series cost and a per-step cost, fitted by
least squares to the CPU measurements of a runner (the five datasets of bench_epoch.py, batches 1
to 16). The sizes of the 85 datasets of the 2015 archive are in
``benchmarks/data/ucr2015_sizes.tsv`` (from the archive's published table; the 47 of them in
``../shared/ucr`` agree with its INVENTORY.tsv). The batch is the released code's
``min(16, n_train // 10)`` (floor 1) or Table I's 16.

CPU-core-days are wall days on the measured machine times its cores. GPU rows come from the GPU
benchmark's model-epochs per second at the nearest measured size (scaled by series-time-steps),
or say "not measured".
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EPOCHS = 2000
PAPER_GPU_DAYS = 168


def sizes() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "ucr2015_sizes.tsv", sep="\t")


def released_batch(n_train: int) -> int:
    return max(1, min(16, n_train // 10))


def fit_cost(rows: list[dict]) -> tuple[float, float]:
    """(alpha, beta) of seconds per series-time-step = alpha + beta / batch, least squares."""
    per_unit = np.array([r["seconds"] / (r["n"] * r["length"]) for r in rows])
    inverse_batch = np.array([1.0 / r["batch"] for r in rows])
    design = np.stack([np.ones_like(inverse_batch), inverse_batch], axis=1)
    (alpha, beta), *_ = np.linalg.lstsq(design, per_unit, rcond=None)
    return float(max(alpha, 0.0)), float(max(beta, 0.0))


def study_seconds(cost: tuple[float, float], table: pd.DataFrame, batch_rule) -> float:
    alpha, beta = cost
    total = 0.0
    for r in table.itertuples():
        batch = batch_rule(int(r.n_train))
        total += r.n_train * r.length * (alpha + beta / batch)
    return EPOCHS * len(table) * total


def cpu_runners(epoch_json: Path) -> dict[str, list[dict]]:
    """Runner label (with S) -> its fastest measurement per dataset, seconds per model-epoch."""
    rows = json.loads(epoch_json.read_text())
    best: dict[tuple, dict] = {}
    for r in rows:
        if "error" in r or r["kind"].startswith("floor"):
            continue
        seconds = min(r["epoch_seconds"]) / r["S"]
        key = (f"{r['label']} (S = {r['S']})", r["dataset"])
        if key not in best or seconds < best[key]["seconds"]:
            best[key] = dict(r, seconds=seconds)
    out: dict[str, list[dict]] = {}
    for (label, _), r in best.items():
        out.setdefault(label, []).append(r)
    return out


def gpu_rows(gpu_csv: Path, table: pd.DataFrame) -> list[tuple[str, float]]:
    """(runner, GPU-hours of the study) from the GPU benchmark's rates at its sizes."""
    frame = pd.read_csv(gpu_csv)
    frame = frame[pd.to_numeric(frame["model_epochs_per_s"], errors="coerce") > 0]
    out = []
    for (runner, S, precision), group in frame.groupby(["runner", "S", "precision"]):
        units = (group["n_train"] * group["length"]).to_numpy(float)
        per_unit = 1.0 / group["model_epochs_per_s"].to_numpy(float) / units
        total = 0.0
        for r in table.itertuples():
            nearest = int(np.argmin(np.abs(np.log(units / (r.n_train * r.length)))))
            total += r.n_train * r.length * per_unit[nearest]
        out.append((f"{runner} (S = {S}, {precision})", EPOCHS * len(table) * total / 3600))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epoch-json", default=str(HERE / "out" / "bench_epoch.json"))
    parser.add_argument("--gpu-csv", default=None)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    args = parser.parse_args()
    table = sizes()
    print(
        f"{len(table)} datasets, {len(table) * (len(table) - 1)} fine-tunings + {len(table)} "
        f"pre-trainings of {EPOCHS} epochs; CPU figures from {args.epoch_json} "
        f"({args.cores} cores)\n"
    )
    print(
        "| runner | where | batch rule | alpha us | beta us | study, wall days | "
        "CPU-core-days | GPU-hours | vs paper's 168 GPU-days |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, rows in cpu_runners(Path(args.epoch_json)).items():
        cost = fit_cost(rows)
        for rule_name, rule in (("released", released_batch), ("16", lambda n: 16)):
            days = study_seconds(cost, table, rule) / 86400
            print(
                f"| {label} | CPU | {rule_name} | {cost[0] * 1e6:.3f} | {cost[1] * 1e6:.3f} | "
                f"{days:.0f} | {days * args.cores:.0f} | | {days / PAPER_GPU_DAYS:.2f}x wall |"
            )
    if args.gpu_csv and Path(args.gpu_csv).is_file():
        for label, hours in gpu_rows(Path(args.gpu_csv), table):
            print(
                f"| {label} | GPU | 16 | | | {hours / 24:.1f} | | {hours:.0f} | "
                f"{hours / 24 / PAPER_GPU_DAYS:.3f}x |"
            )
    else:
        print("| batched engine, JAX | GPU | 16 | | | not measured | | not measured | |")
    print(
        f"| paper (60 GPUs: GTX 1080 Ti, K20, K40, K80) | GPU | 16 | | | {PAPER_GPU_DAYS} "
        f"sequential (under a week on 60) | | {PAPER_GPU_DAYS * 24} | 1.00x |"
    )


if __name__ == "__main__":
    main()
