import gc
import math
import os
import re
import sys
from functools import lru_cache

from transfer_tsc import data, demo, settings, study
from transfer_tsc.workflow import compat, plan, recovery
from transfer_tsc.demo import DEMO_DATASETS
from transfer_tsc.errors import InputError


def _stop(error):
    sys.exit(f"Error: {error}")


recovery.quiet_missing_backup_warnings()  # every output is kept() until replaced

# A full study's DAG is millions of long-lived objects, and with the default thresholds
# (700, 10, 10) Python's cyclic collector walks them so often that it grows faster than the
# study: about 12 s of a 128-dataset, three-network dry run of 84 s, 1.5 s of one network's 26 s
# (benchmarks/RESULTS.md, "Cluster scale"). Snakemake's objects need no prompt collection.
gc.set_threshold(100_000, 10, 10)


# A run killed by SIGKILL (pre-emption, power loss) leaves Snakemake's lock behind: remove it
# when the process that held it is gone, so re-running the same command resumes the study.
MAIN_PROCESS = compat.is_main_process(workflow)
if MAIN_PROCESS:
    _released = recovery.release_stale_lock()
    if _released:
        print(f"Note: {_released}", file=sys.stderr)


onstart:
    recovery.record_lock_owner()
    recovery.clear_finished_records()
    recovery.note_reusable_jobs(workflow)


onsuccess:
    recovery.clear_lock_owner()


onerror:
    recovery.clear_lock_owner()


try:
    config.update(settings.validate(config))
except InputError as error:
    _stop(error)

# The same kill leaves the outputs of jobs that had just finished marked incomplete: their
# finished records keep them when the config is the one they ran under (before the DAG is
# built; onstart, after it, clears the records).
if MAIN_PROCESS:
    _kept = recovery.keep_finished_outputs(workflow, config)
    if _kept:
        print(f"Note: {_kept}", file=sys.stderr)

DEMO = config["ucr_root"] == settings.DEMO

# Repeated runs (config runs): a training job trains its item's runs together, run r with seed
# seed + r - 1; above 1, each run's files are in a run<r> folder (plan.run_paths). ensemble:
# each run also saves its test-set probabilities, only with runs above 1.
RUNS = config["runs"]
ENSEMBLE = config["ensemble"] and RUNS > 1
if config["ensemble"] and RUNS == 1 and MAIN_PROCESS:
    print(
        "Note: ensemble: true with runs: 1: an ensemble of one run is the run itself; nothing "
        "is added (set runs above 1 for an ensemble)",
        file=sys.stderr,
    )
UCR_ROOT = settings.ucr_root(config)


def _datasets():
    """The configured dataset names, checked against the archive (one listdir, no
    dataset file reads); an archive without datasets, or listed ones not found, are an
    error (those with datasets_missing skip a warning)."""
    known = sorted(DEMO_DATASETS) if DEMO else data.archive_datasets(UCR_ROOT)
    selection = data.dataset_selection(
        known, config["datasets"], UCR_ROOT, config["datasets_missing"]
    )
    if "scores" in selection.names:  # results/<network>/transferability/{target}.csv
        raise InputError(
            f"dataset 'scores' ({UCR_ROOT}/scores): the name is taken by the table of every "
            "target's transferability scores, results/<network>/transferability/scores.csv; "
            "rename the folder"
        )
    if selection.warning and MAIN_PROCESS:
        print(f"Warning: {selection.warning}", file=sys.stderr)
    return selection.names


try:
    DATASETS = _datasets()
except InputError as error:
    _stop(error)


def _one_of(names):
    """A wildcard pattern matching exactly ``names``; for none, one nothing matches (an
    empty pattern would let any path segment pass for a dataset: scores.csv's)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


# The study's networks (config networks): each one's files are under results/<network>/.
NETWORKS = config["networks"]


def study_folder(network):
    """results/<network>: one network's study."""
    return plan.study_folder(network)


def across_networks_products():
    """The across-networks tables and figure: none with a single network."""
    if len(NETWORKS) < 2:
        return []
    return [
        "results/across_networks/agreement.csv",
        "results/across_networks/agreement_summary.csv",
        "results/across_networks/agreement.png",
        "results/across_networks/agreement.svg",
    ]


def critical_difference_products():
    """The critical-difference diagram of scratch against transfer from the DTW-nearest source,
    over the study's networks (one network too: its two columns)."""
    return [
        "results/critical_difference_networks.csv",
        "results/critical_difference_networks.png",
        "results/critical_difference_networks.svg",
    ]


def per_network(path, networks=None):
    """``path`` (with a ``{network}`` wildcard) for each of the study's networks."""
    return expand(path, network=networks or NETWORKS, allow_missing=True)


wildcard_constraints:
    network=_one_of(NETWORKS),
    dataset=_one_of(DATASETS),
    source=_one_of(DATASETS),
    target=_one_of(DATASETS),
    batch="[^/]+",


def recipe_params(stage):
    """A training rule's params: the recipe of the job's network, the fields that can change a
    result (not the cadence of progress lines and checkpoints, which the job reads from the
    config: changing it re-runs nothing)."""
    return lambda wildcards: settings.recipe_params(config, stage, wildcards.network)


PRETRAIN_RECIPE = recipe_params("pretrain")
FINETUNE_RECIPE = recipe_params("finetune")


@lru_cache(maxsize=None)
def split_path(name, split):
    """The TRAIN or TEST file of a dataset (2018 or 2015 layout)."""
    if DEMO:
        return f"{UCR_ROOT}/{name}/{name}_{split}.tsv"
    try:
        return str(data.split_file(UCR_ROOT, name, split).path)
    except InputError as error:
        _stop(error)


def split_paths(name):
    """The TRAIN and TEST files of a dataset, as named inputs ``train`` and ``test``."""
    return {s.lower(): split_path(name, s) for s in data.SPLITS}


def dataset_files(wildcards):
    return split_paths(wildcards.dataset)


def target_files(wildcards):
    return split_paths(wildcards.target)


def target_train_file(wildcards):
    return split_path(wildcards.target, "TRAIN")


def scored_sources(wildcards):
    """The sources whose pre-trained models are scored on the target (transferability.smk):
    every other dataset."""
    return plan.scored_sources(wildcards.target, DATASETS)


def kept(path):
    """An output kept until its job replaces it: Snakemake's update() flag, so a job that is
    re-run does not delete the previous file before it starts, backs it up, and restores it if
    the job fails (a corrupt input, a full disk). The jobs write every file under a temporary
    name and rename it into place. In cluster jobs the same flag lets a killed group job's
    members that had finished keep their files (the rule script, keep_finished)."""
    return update(path)


TRAINING = config["resources"]["training"]


def _train_mb(input):
    """MB of the job's TRAIN file: a stat, no read (a file not made yet defers the value)."""
    return os.path.getsize(input.train) / 1e6


def training_mem_mb(wildcards, input):
    """MB of a training job: config resources.training's mem_mb, and mem_mb_per_mb per MB of the
    TRAIN file for each run (config runs) of its models."""
    return int(TRAINING["mem_mb"] + TRAINING["mem_mb_per_mb"] * _train_mb(input) * RUNS)


def training_runtime(stage, sources=lambda wildcards: 1):
    """Minutes for the trainings of ``stage``'s epochs (of the job's network) of a job of
    ``sources`` (a pre-training: one), each its config runs; a retried job gets attempt x."""
    models = lambda wildcards: plan.models_per_job(sources(wildcards), RUNS)

    def runtime(wildcards, input, attempt):
        epochs = settings.recipe(config, stage, wildcards.get("network")).epochs
        per_model = TRAINING["minutes"] + TRAINING["minutes_per_mb"] * _train_mb(input)
        return max(1, math.ceil(models(wildcards) * epochs / 1000 * per_model)) * attempt

    return runtime


def run_paths(path):
    """``path`` (``<folder>/<file>``) of every run (config runs): itself for one run, else one
    ``<folder>/run<r>/<file>`` per run (plan.run_paths)."""
    return plan.run_paths(path, RUNS)


def first_run(path):
    """``path`` of run 1 (plan.first_run): what reads one pre-trained model per dataset."""
    return plan.first_run(path, RUNS)


def trained_outputs(folder, **names):
    """A training rule's outputs: ``names`` (name -> file) in ``folder``, of every run, and the
    test-set probabilities with ensemble; each kept until its job replaces it."""
    files = plan.trained_outputs(folder, names, RUNS, ENSEMBLE)
    return {name: kept(path) for name, path in files.items()}


def run_table_paths(stem):
    """A gathered table's companions with runs above 1 (none with one run): ``<stem>_runs.csv``
    (each run's accuracy and seed) and ``<stem>_spread.csv`` (mean, std, min, max, runs)."""
    if RUNS == 1:
        return {}
    return {name: f"{stem}_{name}.csv" for name in ("runs", "spread")}


def run_tables(stem):
    """``run_table_paths`` as outputs, each kept until its job replaces it."""
    return {name: kept(path) for name, path in run_table_paths(stem).items()}


def run_table_products():
    """Every network's per-run and spread tables (none with one run)."""
    return [
        path
        for stem in ("scratch_accuracy", "transfer_accuracy")
        for path in per_network(list(run_table_paths(f"results/{{network}}/{stem}").values()))
    ]


def study_products():
    """The files the study hands on (the model zoo ships them): every dataset's pre-trained
    model of every network, and its prototypes. The default target asks for them, so a deleted
    one is made again.
    """
    return expand(rules.pretrain.output.model, network=NETWORKS, dataset=DATASETS) + expand(
        rules.prototypes.output[0], dataset=DATASETS
    )


def remake_damaged(paths):
    """On the main process: mark each of ``paths`` that is damaged (not the sha256 its job
    recorded, or no readable HDF5) for Snakemake to make again, with a note naming it.
    """
    if MAIN_PROCESS:
        note = recovery.mark_damaged_for_rerun(workflow, paths, ("pretrain", "prototypes"))
        if note:
            print(f"Note: {note}", file=sys.stderr)
