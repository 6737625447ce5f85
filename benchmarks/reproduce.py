"""A small reproduction of the paper: the whole pipeline at the paper's settings (paper.yaml:
the released code's batch rule, 2000 epochs, unconstrained DTW, 10 DBA iterations) on the five
smallest paper datasets of the shared UCR subset (benchmarks/data/reproduce_datasets.txt),
every source fine-tuned on every target: 5 pre-trained and 20 fine-tuned models.

    .venv/bin/python benchmarks/reproduce.py            # about an hour on 2 cores
    .venv/bin/python benchmarks/reproduce.py --cores 8 --ucr-root /data/UCRArchive_2018
    .venv/bin/python benchmarks/reproduce.py --network resnet     # or inception
    .venv/bin/python benchmarks/reproduce.py --runs 5             # every model 5 times

It is one Snakemake call in its own working directory (``--out``, default
benchmarks/out/reproduce), so it resumes where a stopped run left off: run the same command
again. Snakemake re-runs a job only when its inputs are newer (``--rerun-triggers mtime``), so
a run that spans edits of the pipeline's code keeps its finished models. At the end it prints
``results/fcn/analysis/published_comparison.csv``, the run against the paper's published results.

``--network resnet`` or ``inception`` runs the same study with that network at its published
recipe instead (``--configfile paper.yaml dl4tsc.yaml``, ``networks: [<network>]``: ResNet 1500
epochs, batch min(16, n_train // 10); Inception 1500 epochs, batch 64) in
``benchmarks/out/reproduce-<network>/``, and prints from ``results/<network>/`` its from-scratch
accuracies against the published runs (``report.published.network_summary(network,
"ucr2018")``: dl-4-tsc's 5 ResNet runs, InceptionTime's 5 Inception runs per dataset, 2018
names), per dataset ours, the published mean +- sd (runs) and whether ours is within the mean
+- 2 sd or 2 points; then the source x target matrix of fine-tuned accuracies and their gains
over the target's scratch accuracy (no published ResNet or Inception transfer results exist to
compare with). ``--scratch-only`` pre-trains only (no fine-tuning, no analyses).

``--batch-rule table1`` pre-trains the five with the paper's Table I batch (16 for every
dataset) instead, in ``<out>/table1/``: the measurement behind config.yaml's default rule.

``--seeds 1 2`` re-trains chosen models with other seeds (``--models`` names them:
``scratch:CBF`` or ``MoteStrain->CBF``) in ``<out>/seed<N>/``, to show the run-to-run spread.
A fine-tuned pair starts from the main run's pre-trained source (copied in), so only the
fine-tuning's seed (new head, batch order) changes.

``--runs 5`` trains every model 5 times (config ``runs: 5``, ``ensemble: true``; seeds 0 to 4,
fine-tuning run r from the source's pre-training run r) in ``<out>-runs5/``, and prints per pair
the mean and standard deviation of the fine-tuned accuracy over the runs, the mean and standard
deviation of the run-by-run gain over scratch (run r's fine-tuned minus the target's run r from
scratch), and how many of the pairs' gains are outside two standard deviations of zero.
``--report-only`` with the same options prints that from what a stopped run has finished (the
pairs whose every run is done), training nothing.

A quick check of the whole path: ``--epochs 2 --datasets CBF ItalyPowerDemand`` (every
training 2 epochs, two datasets); with ``--epochs`` the default ``--out`` gets ``-epochs<N>``
appended, so a short run never mixes its models into the full run's folder.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO / "benchmarks" / "data" / "reproduce_datasets.txt"
DEFAULT_ROOT = REPO.parent / "shared" / "ucr" / "UCRArchive_2018"
NETWORKS = ("fcn", "resnet", "inception")


def snakemake(
    workdir: Path, overlay: dict, cores: int, targets: list[str], network: str = "fcn"
) -> int:
    """Run the workflow in ``workdir`` with paper.yaml (and dl4tsc.yaml for a network other than
    the FCN) and ``overlay`` over config.yaml; its output goes to the console and to
    ``workdir/snakemake.log``."""
    workdir.mkdir(parents=True, exist_ok=True)
    overlay_path = workdir / "reproduce.yaml"
    overlay_path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    configfiles = [REPO / "paper.yaml"] + ([REPO / "dl4tsc.yaml"] if network != "fcn" else [])
    command = [
        str(Path(sys.executable).parent / "snakemake"),
        *targets,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        *[str(path) for path in configfiles],
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


def copy_sources(main: Path, seeded: Path, models: list[str], network: str = "fcn") -> None:
    """The main run's pre-trained sources of the pairs in ``models``, copied into ``seeded``."""
    for model in models:
        if "->" not in model:
            continue
        source = model.split("->", 1)[0]
        folder = main / "results" / network / "pretrain" / source
        if not (folder / "model.h5").is_file():
            sys.exit(f"Error: {folder / 'model.h5'}: the main run has no pre-trained {source} yet")
        copy = seeded / "results" / network / "pretrain" / source
        if not (copy / "model.h5").is_file():
            shutil.copytree(folder, copy, dirs_exist_ok=True)


def model_targets(models: list[str], network: str = "fcn") -> list[str]:
    """``scratch:NAME`` -> the pre-trained model's metrics; ``SOURCE->TARGET`` -> the pair's."""
    targets = []
    for model in models:
        if model.startswith("scratch:"):
            targets.append(f"results/{network}/pretrain/{model.split(':', 1)[1]}/metrics.csv")
        elif "->" in model:
            source, target = model.split("->", 1)
            targets.append(f"results/{network}/finetune/{source}/{target}/metrics.csv")
        else:
            sys.exit(f"Error: --models {model!r}: write scratch:NAME or SOURCE->TARGET")
    return targets


def network_report(out: Path, network: str) -> None:
    """A ResNet or Inception run's from-scratch accuracies against the network's published runs
    (2018 archive), then its transfer matrix and gains over scratch where it has one."""
    import numpy as np

    from transfer_tsc.report import analysis, published

    folder = out / "results" / network
    scratch = analysis.read_scratch(folder / "scratch_accuracy.csv")
    summary = published.network_summary(network, "ucr2018").set_index("dataset")
    print(
        f"\n{folder / 'scratch_accuracy.csv'} against the published {network} runs "
        f"(report.published.network_summary({network!r}, 'ucr2018')):\n"
    )
    print("| dataset | ours | published mean +- sd (runs) | ours - mean | within |")
    print("|---|---|---|---|---|")
    within = []
    for name, ours in scratch.items():
        if name not in summary.index:
            print(f"| {name} | {ours:.4f} | no published runs | | |")
            continue
        row = summary.loc[name]
        sd = 0.0 if math.isnan(row["std"]) else float(row["std"])
        close = abs(ours - row["mean"]) <= max(published.SPREAD_SDS * sd, published.SPREAD_POINTS)
        within.append(close)
        print(
            f"| {name} | {ours:.4f} | {row['mean']:.4f} +- {sd:.4f} ({int(row['runs'])}) | "
            f"{ours - row['mean']:+.4f} | {'yes' if close else 'no'} |"
        )
    print(
        f"\nwithin the published mean +- {published.SPREAD_SDS:g} sd or "
        f"{published.SPREAD_POINTS * 100:g} points: {sum(within)} of {len(within)} datasets"
    )
    transfer_path = folder / "transfer_accuracy.csv"
    if not transfer_path.exists():
        return
    transfer = analysis.read_transfer(transfer_path)
    names = list(transfer.columns)
    print(
        f"\n{transfer_path}: fine-tuned test accuracy, rows source, columns target "
        f"(no published {network} transfer results to compare with):\n"
    )
    base = scratch.reindex(names)
    print(_matrix(transfer, names, lambda v: f"{v:.4f}"))
    print(f"| from scratch | {' | '.join(f'{base[t]:.4f}' for t in names)} |")
    gains = (transfer - base) * 100
    print("\nGain over the target's scratch accuracy (points), rows source, columns target:\n")
    print(_matrix(gains, names, lambda v: f"{v:+.2f}"))
    values = gains.to_numpy().ravel()
    values = values[~np.isnan(values)]  # not the diagonal, nor pairs not run
    if len(values):
        print(
            f"\n{len(values)} pairs: {int((values > 0).sum())} gain, {int((values < 0).sum())} "
            f"lose, {int((values == 0).sum())} equal; mean gain {values.mean():+.2f} points"
        )


def runs_report(out: Path, network: str, runs: int) -> None:
    """A study of several runs: per pair, the fine-tuned accuracy's mean and sd over the runs and
    the run-by-run gain over scratch (run r's fine-tuning minus the target's run r from scratch,
    the same seed), and the pairs whose mean gain is more than 2 sd of the gains from zero.
    Before the study has gathered its tables (a run stopped partway, ``--report-only``), the
    pairs whose every run has finished, from their per-run metrics files."""
    import pandas as pd

    folder = out / "results" / network
    gathered = folder / "transfer_accuracy_runs.csv"
    if gathered.exists():
        scratch = pd.read_csv(folder / "scratch_accuracy_runs.csv")
        transfer = pd.read_csv(gathered)
    else:
        scratch, transfer = _finished_runs(folder, runs)
        print(f"\n{gathered} is not there yet: the pairs whose every run has finished")
        if transfer.empty:
            print("none yet")
            return
    paired = transfer.merge(
        scratch[["dataset", "run", "test_accuracy"]].rename(
            columns={"dataset": "target", "test_accuracy": "scratch"}
        ),
        on=["target", "run"],
    )
    paired["gain"] = paired["test_accuracy"] - paired["scratch"]
    runs = int(paired["run"].max())
    print(
        f"\n{folder}: {runs} runs per model; accuracy mean +- sd over the runs, gain = run r "
        f"fine-tuned - the target's run r from scratch (points):\n"
    )
    print("| source -> target | fine-tuned | scratch | gain | gain outside 2 sd |")
    print("|---|---|---|---|---|")
    outside = 0
    for (target, source), pair in paired.groupby(["target", "source"], sort=True):
        gain_mean, gain_sd = pair["gain"].mean() * 100, pair["gain"].std(ddof=1) * 100
        beyond = abs(gain_mean) > 2 * gain_sd
        outside += beyond
        print(
            f"| {source} -> {target} | {pair['test_accuracy'].mean():.4f} +- "
            f"{pair['test_accuracy'].std(ddof=1):.4f} | {pair['scratch'].mean():.4f} +- "
            f"{pair['scratch'].std(ddof=1):.4f} | {gain_mean:+.2f} +- {gain_sd:.2f} | "
            f"{'yes' if beyond else 'no'} |"
        )
    pairs = paired.groupby(["target", "source"]).ngroups
    print(f"\n{outside} of {pairs} gains over scratch are outside 2 sd of zero")


def _finished_runs(folder: Path, runs: int):
    """(scratch, transfer): the gathered ``*_runs.csv`` tables (``study.gather_*_runs``) of the
    models whose runs 1 to ``runs`` have all finished (their ``plan.run_paths`` metrics files);
    empty tables where none has."""
    import pandas as pd

    from transfer_tsc import study
    from transfer_tsc.workflow import plan

    def finished(pattern: str) -> list[str]:
        items = sorted({path.parent.parent for path in folder.glob(pattern)})
        every = [plan.as_list(plan.run_paths(f"{item}/metrics.csv", runs)) for item in items]
        return [path for paths in every if all(map(os.path.exists, paths)) for path in paths]

    # the seed only numbers the tables' seed column, which the report does not read
    pretrained, pairs = (
        finished("pretrain/*/run*/metrics.csv"),
        finished("finetune/*/*/run*/metrics.csv"),
    )
    if not (pretrained and pairs):
        return pd.DataFrame(), pd.DataFrame()
    datasets = sorted({part for path in pairs for part in Path(path).parts[-4:-2]})
    return (
        study.gather_scratch_runs(pretrained, runs, seed=0).runs,
        study.gather_transfer_runs(pairs, datasets, runs, seed=0).runs,
    )


def _matrix(frame, names: list[str], cell) -> str:
    """A source x target table as Markdown; "-" on the diagonal, "" where a pair was not run."""
    lines = [f"| source \\ target | {' | '.join(names)} |", "|---|" + "---|" * len(names)]
    for source in frame.index:
        cells = []
        for target in names:
            value = frame.loc[source, target]
            cells.append("-" if source == target else "" if math.isnan(value) else cell(value))
        lines.append(f"| {source} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="working directory (default benchmarks/out/reproduce, or reproduce-<network>)",
    )
    parser.add_argument("--ucr-root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default="tensorflow")
    parser.add_argument("--network", choices=NETWORKS, default="fcn")
    parser.add_argument("--batch-rule", choices=["released", "table1"], default="released")
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--models", nargs="*", default=[])
    parser.add_argument(
        "--scratch-only",
        action="store_true",
        help="pre-train only (the from-scratch accuracies), no fine-tuning or analyses",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="every training this many epochs (a quick check)"
    )
    parser.add_argument(
        "--datasets", nargs="+", default=None, help="these datasets instead of the five"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="train every model this many times (config runs)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="print the report of what the run in --out has finished so far, train nothing",
    )
    args = parser.parse_args()
    network = args.network
    out = args.out
    if out is None:
        out = (
            REPO
            / "benchmarks"
            / "out"
            / ("reproduce" if network == "fcn" else f"reproduce-{network}")
        )
        if args.runs > 1:
            out = out.with_name(f"{out.name}-runs{args.runs}")
        if args.epochs is not None:
            out = out.with_name(f"{out.name}-epochs{args.epochs}")
    overlay = {
        "ucr_root": str(args.ucr_root.resolve()),
        "datasets": args.datasets or str(DATASETS),
        "networks": [network],
        "training": {"backend": args.backend},
    }
    if args.runs > 1:
        overlay["runs"], overlay["ensemble"] = args.runs, True
    if args.epochs is not None:
        overlay["pretrain"], overlay["finetune"] = {"epochs": args.epochs}, {"epochs": args.epochs}
        # network_settings (dl4tsc.yaml) overrides the shared epochs: set the network's too
        overlay["network_settings"] = {
            network: {"pretrain": {"epochs": args.epochs}, "finetune": {"epochs": args.epochs}}
        }
    scratch_target = f"results/{network}/scratch_accuracy.csv"
    if args.batch_rule == "table1":
        overlay["training"]["batch_size_cap_tenth"] = False
        if network != "fcn":  # the network's own batch rule (dl4tsc.yaml) would win
            settings = overlay.setdefault("network_settings", {}).setdefault(network, {})
            settings["training"] = {"batch_size": 16, "batch_size_cap_tenth": False}
        return snakemake(out / "table1", overlay, args.cores, [scratch_target], network)
    if args.seeds:
        targets = model_targets(args.models, network)
        if not targets:
            sys.exit("Error: --seeds needs --models (scratch:NAME or SOURCE->TARGET)")
        for seed in args.seeds:
            copy_sources(out, out / f"seed{seed}", args.models, network)
            code = snakemake(
                out / f"seed{seed}", {**overlay, "seed": seed}, args.cores, targets, network
            )
            if code:
                return code
        return 0
    targets = [scratch_target] if args.scratch_only else []
    code = 0 if args.report_only else snakemake(out, overlay, args.cores, targets, network)
    if code != 0:
        return code
    if args.runs > 1 and not args.scratch_only:
        runs_report(out, network, args.runs)
    if network == "fcn":
        comparison = out / "results" / "fcn" / "analysis" / "published_comparison.csv"
        if comparison.exists():
            print(f"\n{comparison}:\n{comparison.read_text()}")
    else:
        network_report(out, network)
    return code


if __name__ == "__main__":
    sys.exit(main())
