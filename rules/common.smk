import math
import os
import re
import sys
from dataclasses import asdict
from functools import lru_cache

from transfer_tsc import config as settings
from transfer_tsc import data, study
from transfer_tsc import workflow as workflow_support
from transfer_tsc.demo import DEMO_DATASETS
from transfer_tsc.errors import InputError


def _stop(error):
    sys.exit(f"Error: {error}")


# A run killed by SIGKILL (pre-emption, power loss) leaves Snakemake's lock behind: remove it
# when the process that held it is gone, so re-running the same command resumes the study.
if not (workflow.remote_exec or workflow.subprocess_exec):
    _released = workflow_support.release_stale_lock()
    if _released:
        print(f"Note: {_released}", file=sys.stderr)


onstart:
    workflow_support.record_lock_owner()
    workflow_support.clear_finished_records()


onsuccess:
    workflow_support.clear_lock_owner()


onerror:
    workflow_support.clear_lock_owner()


try:
    config.update(settings.validate(config))
except InputError as error:
    _stop(error)

DEMO = config["ucr_root"] == settings.DEMO
UCR_ROOT = settings.ucr_root(config)


def _datasets():
    """The configured dataset names, checked against the archive (one listdir, no file reads)."""
    known = sorted(DEMO_DATASETS) if DEMO else data.list_datasets(UCR_ROOT)
    return data.select_datasets(known, config["datasets"], UCR_ROOT)


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
GROUP_SIZE = config["finetune"]["group_size"]


@lru_cache(maxsize=None)
def split_paths(name):
    """The TRAIN and TEST files of a dataset (2018 or 2015 layout)."""
    if DEMO:
        return {s.lower(): f"{UCR_ROOT}/{name}/{name}_{s}.tsv" for s in data.SPLITS}
    try:
        return {
            s.lower(): str(data.split_file(UCR_ROOT, name, s).path) for s in data.SPLITS
        }
    except InputError as error:
        _stop(error)


def dataset_files(wildcards):
    return split_paths(wildcards.dataset)


def target_files(wildcards):
    return split_paths(wildcards.target)


# finetune.sources: all (static DAG), random:K (drawn here from the seed, static DAG) or
# nearest:K (read from the select_sources checkpoint's table, made from the DTW neighbours).
BUDGET, BUDGET_K = study.parse_budget(config["finetune"]["sources"])


@lru_cache(maxsize=None)
def _random_selection():
    return study.selection_map(study.random_sources(DATASETS, BUDGET_K, config["seed"]))


@lru_cache(maxsize=None)
def _read_selection(path, mtime_ns):
    return study.read_selection(path)


def target_sources(target):
    """The sources fine-tuned on ``target``: every other dataset, or the budget's selection."""
    if BUDGET == "all":
        return study.sources_for(target, DATASETS)
    if BUDGET == "random":
        return _random_selection().get(target, [])
    path = checkpoints.select_sources.get().output.selection
    return _read_selection(path, os.stat(path).st_mtime_ns).get(target, [])


@lru_cache(maxsize=None)
def _batches(sources):
    return study.batches(list(sources), GROUP_SIZE)


def target_batches(target):
    """Batch id -> sources fine-tuned together on ``target``."""
    return _batches(tuple(target_sources(target)))


def batch_sources(wildcards):
    return target_batches(wildcards.target)[wildcards.batch]


def batch_models(wildcards):
    return [f"results/pretrain/{s}/model.h5" for s in batch_sources(wildcards)]


def check_pair_selected(wildcards):
    """Refuse a (source, target) pair that finetune.sources does not fine-tune."""
    sources = target_sources(wildcards.target)
    if wildcards.source not in sources:
        raise ValueError(
            f"{wildcards.source} -> {wildcards.target} is not fine-tuned: finetune.sources "
            f"is {config['finetune']['sources']} and selects {', '.join(sources)}"
        )
    return sources


def pair_source_model(wildcards):
    """The pre-trained model of the pair's source (group_size 1: one job per pair)."""
    check_pair_selected(wildcards)
    return [f"results/pretrain/{wildcards.source}/model.h5"]


def pair_batch(wildcards):
    """The folder of the batch job that fine-tuned the pair (group_size > 1)."""
    sources = check_pair_selected(wildcards)
    batch = study.batch_of(wildcards.source, sources, GROUP_SIZE)
    return f"results/finetune_batches/{wildcards.target}/{batch}"


def kept_if_finished(path):
    """update() in cluster jobs: a killed group job is submitted again with all its members, and
    Snakemake deletes a member's outputs before running it unless they are flagged; the rule
    script (keep_finished) then keeps those of members that had finished. Not flagged on the
    submitting side, where a failed job's flagged outputs only add "Cannot restore" warnings.
    """
    return update(path) if workflow.remote_exec else path


def pair_outputs(folder, flag=lambda path: path):
    """A fine-tuned pair's files in ``folder`` (the model only with finetune.save_models), each
    passed through ``flag``."""
    files = {"metrics": f"{folder}/metrics.csv", "history": f"{folder}/history.csv"}
    if config["finetune"]["save_models"]:
        files["model"] = f"{folder}/model.h5"
    return {name: flag(path) for name, path in files.items()}


def pair_files(suffix):
    """Every fine-tuned pair's file: a list, or for nearest:K an input function (it waits for
    the select_sources checkpoint)."""

    def files(wildcards=None):
        return [
            f"results/finetune/{source}/{target}/{suffix}"
            for target in DATASETS
            for source in target_sources(target)
        ]

    return files if BUDGET == "nearest" else files()


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


# The user's own dataset of rules/recommend.smk (config recommend.dataset).
RECOMMEND = config["recommend"]
RECOMMEND_NAME = (
    os.path.basename(os.path.normpath(RECOMMEND["dataset"]))
    if RECOMMEND["dataset"]
    else None
)
# a pattern no name matches when no dataset is configured
RECOMMEND_PATTERN = re.escape(RECOMMEND_NAME) if RECOMMEND_NAME else "(?!x)x"
RECOMMEND_SOURCES = [name for name in DATASETS if name != RECOMMEND_NAME]


def recommend_files(wildcards):
    """The TRAIN and TEST files of the user's dataset (2018 or 2015 layout)."""
    folder = os.path.normpath(RECOMMEND["dataset"])
    try:
        return {
            s.lower(): str(
                data.split_file(os.path.dirname(folder), RECOMMEND_NAME, s).path
            )
            for s in data.SPLITS
        }
    except InputError as error:
        _stop(f"config key recommend.dataset: {error}")


def recommend_models(wildcards):
    """The pre-trained models of the top sources (known once the ranking exists)."""
    if not RECOMMEND["finetune"]:
        return []
    import csv

    ranking = checkpoints.recommend_ranking.get(name=wildcards.name).output.ranking
    with open(ranking) as handle:
        sources = [row["source"] for row in csv.DictReader(handle)][: RECOMMEND["top"]]
    return [f"results/pretrain/{source}/model.h5" for source in sources]
