import math
import os
import re
import sys
from dataclasses import asdict
from functools import lru_cache

from transfer_tsc import data, demo, gpu_plan, recovery, settings, study
from transfer_tsc.demo import DEMO_DATASETS
from transfer_tsc.errors import InputError


def _stop(error):
    sys.exit(f"Error: {error}")


# A run killed by SIGKILL (pre-emption, power loss) leaves Snakemake's lock behind: remove it
# when the process that held it is gone, so re-running the same command resumes the study.
MAIN_PROCESS = not (workflow.remote_exec or workflow.subprocess_exec)
if MAIN_PROCESS:
    _released = recovery.release_stale_lock()
    if _released:
        print(f"Note: {_released}", file=sys.stderr)


onstart:
    recovery.record_lock_owner()
    recovery.clear_finished_records()


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
UCR_ROOT = settings.ucr_root(config)


def _datasets():
    """The configured dataset names, checked against the archive (one listdir, no
    dataset file reads); listed ones not found are an error, or with datasets_missing
    skip a warning."""
    known = sorted(DEMO_DATASETS) if DEMO else data.list_datasets(UCR_ROOT)
    selection = data.dataset_selection(
        known, config["datasets"], UCR_ROOT, config["datasets_missing"]
    )
    if selection.warning and MAIN_PROCESS:
        print(f"Warning: {selection.warning}", file=sys.stderr)
    return selection.names


try:
    DATASETS = _datasets()
except InputError as error:
    _stop(error)


def _one_of(names):
    return "|".join(re.escape(name) for name in names)


wildcard_constraints:
    dataset=_one_of(DATASETS),
    source=_one_of(DATASETS),
    target=_one_of(DATASETS),
    batch="[^/]+",


PRETRAIN_RECIPE = asdict(settings.recipe(config, "pretrain"))
FINETUNE_RECIPE = asdict(settings.recipe(config, "finetune"))


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
    return study.sources_for(wildcards.target, DATASETS)


def kept_if_finished(path):
    """update() in cluster jobs: a killed group job is submitted again with all its members, and
    Snakemake deletes a member's outputs before running it unless they are flagged; the rule
    script (keep_finished) then keeps those of members that had finished. Not flagged on the
    submitting side, where a failed job's flagged outputs only add "Cannot restore" warnings.
    """
    return update(path) if workflow.remote_exec else path


TRAINING = config["resources"]["training"]


def _train_mb(input):
    """MB of the job's TRAIN file: a stat, no read (a file not made yet defers the value)."""
    return os.path.getsize(input.train) / 1e6


def training_mem_mb(wildcards, input):
    return int(TRAINING["mem_mb"] + TRAINING["mem_mb_per_mb"] * _train_mb(input))


def training_runtime(stage, models=lambda wildcards: 1):
    """Minutes for ``models`` trainings of ``stage``'s epochs; a retried job gets attempt x."""
    epochs = config[stage]["epochs"]

    def runtime(wildcards, input, attempt):
        per_model = TRAINING["minutes"] + TRAINING["minutes_per_mb"] * _train_mb(input)
        return (
            max(1, math.ceil(models(wildcards) * epochs / 1000 * per_model)) * attempt
        )

    return runtime
