"""A small reproduction of the paper: the whole pipeline at the paper's settings (paper.yaml:
the released code's batch rule, 2000 epochs, unconstrained DTW, 10 DBA iterations) on the five
smallest paper datasets of the shared UCR subset (benchmarks/data/reproduce_datasets.txt),
every source fine-tuned on every target: 5 pre-trained and 20 fine-tuned models.

    .venv/bin/python benchmarks/reproduce.py            # about an hour on 2 cores
    .venv/bin/python benchmarks/reproduce.py --cores 8 --ucr-root /data/UCRArchive_2018

It is one Snakemake call in its own working directory (``--out``, default
benchmarks/out/reproduce), so it resumes where a stopped run left off: run the same command
again. Snakemake re-runs a job only when its inputs are newer (``--rerun-triggers mtime``), so
a run that spans edits of the pipeline's code keeps its finished models. At the end it prints
``results/fcn/analysis/published_comparison.csv``, the run against the paper's published results.

``--batch-rule table1`` pre-trains the five with the paper's Table I batch (16 for every
dataset) instead, in ``<out>/table1/``: the measurement behind config.yaml's default rule.

``--seeds 1 2`` re-trains chosen models with other seeds (``--models`` names them:
``scratch:CBF`` or ``MoteStrain->CBF``) in ``<out>/seed<N>/``, to show the run-to-run spread.
A fine-tuned pair starts from the main run's pre-trained source (copied in), so only the
fine-tuning's seed (new head, batch order) changes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO / "benchmarks" / "data" / "reproduce_datasets.txt"
DEFAULT_ROOT = REPO.parent / "shared" / "ucr" / "UCRArchive_2018"


def snakemake(workdir: Path, overlay: dict, cores: int, targets: list[str]) -> int:
    """Run the workflow in ``workdir`` with paper.yaml and ``overlay`` over config.yaml; its
    output goes to the console and to ``workdir/snakemake.log``."""
    workdir.mkdir(parents=True, exist_ok=True)
    overlay_path = workdir / "reproduce.yaml"
    overlay_path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    command = [
        str(Path(sys.executable).parent / "snakemake"),
        *targets,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(REPO / "paper.yaml"),
        str(overlay_path),
        "--cores",
        str(cores),
        "--rerun-triggers=mtime",
    ]
    print("$", " ".join(command), flush=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    with open(workdir / "snakemake.log", "a") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
            log.flush()
        return process.wait()


def copy_sources(main: Path, seeded: Path, models: list[str]) -> None:
    """The main run's pre-trained sources of the pairs in ``models``, copied into ``seeded``."""
    for model in models:
        if "->" not in model:
            continue
        source = model.split("->", 1)[0]
        folder = main / "results" / "pretrain" / source
        if not (folder / "model.h5").is_file():
            sys.exit(f"Error: {folder / 'model.h5'}: the main run has no pre-trained {source} yet")
        if not (seeded / "results" / "pretrain" / source / "model.h5").is_file():
            shutil.copytree(folder, seeded / "results" / "pretrain" / source, dirs_exist_ok=True)


def model_targets(models: list[str]) -> list[str]:
    """``scratch:NAME`` -> the pre-trained model's metrics; ``SOURCE->TARGET`` -> the pair's."""
    targets = []
    for model in models:
        if model.startswith("scratch:"):
            targets.append(f"results/fcn/pretrain/{model.split(':', 1)[1]}/metrics.csv")
        elif "->" in model:
            source, target = model.split("->", 1)
            targets.append(f"results/fcn/finetune/{source}/{target}/metrics.csv")
        else:
            sys.exit(f"Error: --models {model!r}: write scratch:NAME or SOURCE->TARGET")
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "reproduce")
    parser.add_argument("--ucr-root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default="tensorflow")
    parser.add_argument("--batch-rule", choices=["released", "table1"], default="released")
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--models", nargs="*", default=[])
    args = parser.parse_args()
    overlay = {
        "ucr_root": str(args.ucr_root.resolve()),
        "datasets": str(DATASETS),
        "training": {"backend": args.backend},
    }
    if args.batch_rule == "table1":
        overlay["training"]["batch_size_cap_tenth"] = False
        return snakemake(
            args.out / "table1", overlay, args.cores, ["results/fcn/scratch_accuracy.csv"]
        )
    if args.seeds:
        targets = model_targets(args.models)
        if not targets:
            sys.exit("Error: --seeds needs --models (scratch:NAME or SOURCE->TARGET)")
        for seed in args.seeds:
            copy_sources(args.out, args.out / f"seed{seed}", args.models)
            code = snakemake(
                args.out / f"seed{seed}", {**overlay, "seed": seed}, args.cores, targets
            )
            if code:
                return code
        return 0
    code = snakemake(args.out, overlay, args.cores, [])
    comparison = args.out / "results" / "analysis" / "published_comparison.csv"
    if code == 0 and comparison.exists():
        print(f"\n{comparison}:\n{comparison.read_text()}")
    return code


if __name__ == "__main__":
    sys.exit(main())
