"""The full study's scale for Snakemake itself, on 85 small generated datasets (the demo
generators, ``write_variant_archive`` below):

1. the dry run of the whole study through the SLURM profile (85 pre-trains, 7140 fine-tuned
   pairs, the similarity and the analyses): wall time against the goal of 15 s (30 s for the
   128 datasets of the 2018 archive);
2. the SLURM submissions that dry run plans: group jobs plus the non-local jobs outside groups,
   against the goal of at most ~200;
3. (as root, with SLURM installed) the start-up of one job inside SLURM on the single-node test
   cluster of tests/workflow/slurm/cluster.py: from the job's start (``scontrol`` StartTime, whole
   seconds, so up to 1 s too long) to its shell command running, after the job step has re-read
   the Snakefile of the 85-dataset study; goal under 5 s.

Run: .venv/bin/python benchmarks/bench_dag.py [--datasets 128] [--repeats 0]
[--networks fcn resnet inception] [--runs 5]   (prints each figure with its goal and ratio, and the
machine's load average before and after; --datasets 128 is the size of the 2018 archive;
--repeats 0 skips the start-up inside SLURM; --networks also measures the study of several
networks together against the first one's alone: issue 24's goal of at most that many times the
submissions and the ``-q`` dry run's time; --runs N also measures the study of N repeated runs
(config runs) against one run: issue 25's goal of at most 200 submissions and a ``-q`` dry run
within 2x of one run's)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402

from transfer_tsc.demo import DEMO_DATASETS, generate_split, write_ucr_split  # noqa: E402

# The dry run's goal (s) by the number of datasets: the paper's 85, the 2018 archive's 128.
DRY_RUN_GOALS_S = {85: 15.0, 128: 30.0}
SUBMISSIONS_GOAL = 200
STARTUP_GOAL_S = 5.0


def write_variant_archive(root: Path, count: int, n: int = 12, seed: int = 0) -> list[str]:
    """Write ``count`` small datasets ``<Demo>V<i>`` (the demo generators in turn, ``n`` train
    and ``n`` test series each, seeds differing) under ``root``: an archive at the study's scale
    for benchmarks of the workflow itself. Returns the names."""
    bases = sorted(DEMO_DATASETS)
    names = []
    for i in range(count):
        base = bases[i % len(bases)]
        name = f"{base}V{i:03d}"
        rng = np.random.default_rng([seed, i])
        folder = Path(root) / name
        for split in ("TRAIN", "TEST"):
            labels, x = generate_split(base, n, rng)
            write_ucr_split(folder / f"{name}_{split}.tsv", labels, x)
        names.append(name)
    return names


PROBE = """\
include: "Snakefile"


rule probe:
    output:
        "probe/{i}.txt",
    log:
        "logs/probe/{i}.log",
    localrule: False
    shell:
        "python3 -c 'import time; print(time.time())' > {output} 2> {log}"
"""


def load_cluster_module():
    """tests/workflow/slurm/cluster.py: the single-node test cluster and the workflow copy."""
    spec = importlib.util.spec_from_file_location(
        "cluster", REPO / "tests/workflow/slurm/cluster.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SNAKEMAKE_", "SLURM_"))}
    clean["PATH"] = f"{VENV_BIN}{os.pathsep}{clean['PATH']}"
    return clean


def local_rules(workdir: Path) -> set[str]:
    """Rules that run on the submitting machine (``localrule: True``, ``localrules:``, rule all)."""
    names = {"all"}
    for path in (workdir / "rules").glob("*.smk"):
        text = path.read_text()
        # rules may be indented (defined under an if/else of the config)
        for block in re.split(r"\n(?=[ \t]*(?:rule|checkpoint) )", text):
            head = re.match(r"\s*(?:rule|checkpoint) (\w+):", block)
            if head and re.search(r"^\s+localrule: True", block, re.M):
                names.add(head.group(1))
        for line in re.findall(r"^localrules:(.*)$", text, re.M):
            names.update(n.strip() for n in line.split(",") if n.strip())
    return names


def count_submissions(dry_run_output: str, local: set[str]) -> tuple[int, dict[str, int]]:
    """Group jobs and non-local top-level jobs of a dry run's listing."""
    counts: dict[str, int] = {}
    for line in dry_run_output.splitlines():
        line = re.sub(r"^\[[^]]*\] ?", "", line)
        group = re.match(r"Group job (\S+)", line)
        rule = re.match(r"(?:rule|checkpoint) (\w+):", line)  # unindented: outside a group
        name = f"group {group.group(1)}" if group else rule.group(1) if rule else None
        if name and name not in local:
            counts[name] = counts.get(name, 0) + 1
    return sum(counts.values()), counts


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dry_run(workdir: Path, *flags: str) -> tuple[float, float, str]:
    """Wall and CPU seconds (the CPU figure is what a machine of its own would take) and output."""
    command = [
        "timeout",
        "-k",
        "10",
        "600",
        "snakemake",
        "-n",
        *flags,
        "--profile",
        "profiles/slurm",
    ]
    cpu, started = _children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=workdir, env=env(), capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if result.returncode != 0:
        sys.exit(f"dry run failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return elapsed, cpu, result.stdout + result.stderr


def job_startup(workdir: Path, root: Path, repeats: int) -> list[float]:
    cluster_module = load_cluster_module()
    reason = cluster_module.unavailable()
    if reason:
        print(f"job start-up inside SLURM: not measured ({reason})")
        return []
    (workdir / "probe.smk").write_text(PROBE)
    targets = [f"probe/{i}.txt" for i in range(repeats)]
    with cluster_module.Cluster(root) as cluster:
        result = subprocess.run(
            [
                "timeout",
                "-k",
                "10",
                "400",
                "snakemake",
                "-s",
                "probe.smk",
                "--profile",
                "profiles/slurm",
                "--configfile",
                "bench.yaml",
                "--jobs",
                "1",
                *targets,
            ],
            cwd=workdir,
            env=env(),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            sys.exit(f"probe run failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        jobs = {j["Comment"]: j for j in cluster.all_jobs()}
    startups = []
    for i in range(repeats):
        job = jobs[f"rule_probe_wildcards_{i}"]
        started = datetime.fromisoformat(job["StartTime"]).timestamp()
        ran = float((workdir / f"probe/{i}.txt").read_text())
        startups.append(ran - started)
    return startups


def load() -> str:
    """The machine's load average (1, 5, 15 min), from /proc/loadavg."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def measure_study(workdir: Path, configfile: str, goal: float) -> tuple[int, float]:
    """Dry-run the study of ``configfile`` twice (every job listed, then ``-q``), printing the
    job stats, the SLURM submissions and both times; returns the submissions and the ``-q``
    wall seconds."""
    seconds, cpu, text = dry_run(workdir, "--configfile", configfile)
    stats = re.search(r"Job stats:\n(.*?)\n\n", text, re.S)
    print(stats.group(0).strip() if stats else text[-1500:])
    print(
        f"dry run, every job listed (snakemake -n --profile profiles/slurm): {seconds:.1f} s "
        f"wall, {cpu:.1f} s CPU; goal {goal:.0f} s, ratio "
        f"{seconds / goal:.2f} (wall) {cpu / goal:.2f} (CPU)"
    )
    total, per = count_submissions(text, local_rules(workdir))
    kinds: dict[str, int] = {}
    for name, count in per.items():  # a target's group: one line for them all
        kind = re.sub(r"^group finetune_gpu_.+", "group finetune_gpu_{target}", name)
        kinds[kind] = kinds.get(kind, 0) + count
    print(
        "SLURM submissions by rule or group: "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    )
    print(
        f"SLURM submissions: {total}, goal <= {SUBMISSIONS_GOAL}, "
        f"ratio {total / SUBMISSIONS_GOAL:.2f}"
    )
    seconds, cpu, _ = dry_run(workdir, "--configfile", configfile, "--quiet")
    print(
        f"dry run, summary only (snakemake -n -q --profile profiles/slurm): {seconds:.1f} s "
        f"wall, {cpu:.1f} s CPU; goal {goal:.0f} s, ratio "
        f"{seconds / goal:.2f} (wall) {cpu / goal:.2f} (CPU)"
    )
    return total, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=85)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--networks",
        nargs="+",
        default=None,
        metavar="NETWORK",
        help="also the study of these networks together, against the first one's alone",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="also the study of this many repeated runs (config runs), against one run",
    )
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs, {sys.platform}; snakemake from {VENV_BIN}; "
        f"load average {load()}; {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )
    with tempfile.TemporaryDirectory(prefix="bench_dag_") as tmp:
        tmp = Path(tmp)
        archive, workdir = tmp / "archive", tmp / "work"
        workdir.mkdir()
        names = write_variant_archive(archive, args.datasets)
        load_cluster_module().copy_workflow(REPO, workdir)
        study = f"ucr_root: {archive}\ndatasets: all\n"
        first = args.networks[0] if args.networks else None
        (workdir / "bench.yaml").write_text(study + (f"networks: [{first}]\n" if first else ""))
        n = len(names)
        goal = DRY_RUN_GOALS_S.get(n, DRY_RUN_GOALS_S[85])
        print(f"{n} generated datasets: {n} pre-trains, {n * (n - 1)} fine-tuned pairs")
        print(f"-- the study of {first or 'the config'}'s network")
        submissions, seconds = measure_study(workdir, "bench.yaml", goal)
        if args.networks and len(args.networks) > 1:
            together = ", ".join(args.networks)
            (workdir / "bench_networks.yaml").write_text(study + f"networks: [{together}]\n")
            print(f"-- the study of {len(args.networks)} networks together: {together}")
            submissions_all, seconds_all = measure_study(workdir, "bench_networks.yaml", goal)
            limit = len(args.networks)
            print(
                f"networks {together} against {first} alone: submissions {submissions_all} / "
                f"{submissions} = {submissions_all / submissions:.2f}x, `-n -q` "
                f"{seconds_all:.1f} / {seconds:.1f} s = {seconds_all / seconds:.2f}x "
                f"(goal <= {limit}x each)"
            )
        if args.runs > 1:
            (workdir / "bench_runs.yaml").write_text(
                study + (f"networks: [{first}]\n" if first else "") + f"runs: {args.runs}\n"
            )
            print(f"-- the study of {args.runs} runs (config runs)")
            submissions_runs, seconds_runs = measure_study(workdir, "bench_runs.yaml", goal)
            print(
                f"runs {args.runs} against 1: submissions {submissions_runs} / {submissions} = "
                f"{submissions_runs / submissions:.2f}x (goal <= {SUBMISSIONS_GOAL}), `-n -q` "
                f"{seconds_runs:.1f} / {seconds:.1f} s = {seconds_runs / seconds:.2f}x (goal <= 2x)"
            )
        print(f"load average after the dry runs: {load()}")
        startups = job_startup(workdir, tmp / "cluster", args.repeats) if args.repeats else []
        if startups:
            median = statistics.median(startups)
            print("job start-up inside SLURM (s): " + ", ".join(f"{s:.1f}" for s in startups))
            print(
                f"job start-up inside SLURM: median {median:.1f} s, goal {STARTUP_GOAL_S:.0f} s, "
                f"ratio {median / STARTUP_GOAL_S:.2f}"
            )


if __name__ == "__main__":
    main()
