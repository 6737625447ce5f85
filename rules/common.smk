import math
import os
import re
import sys
from dataclasses import asdict
from functools import lru_cache

from transfer_tsc import config as settings
from transfer_tsc import data, demo, gpu_plan, study
from transfer_tsc import workflow as workflow_support
from transfer_tsc.demo import DEMO_DATASETS
from transfer_tsc.errors import InputError


def _stop(error):
    sys.exit(f"Error: {error}")


# A run killed by SIGKILL (pre-emption, power loss) leaves Snakemake's lock behind: remove it
# when the process that held it is gone, so re-running the same command resumes the study. It
# also leaves the outputs of jobs that had just finished marked incomplete: the jobs' finished
# records keep them (before the DAG is built; onstart, after it, clears the records).
if not (workflow.remote_exec or workflow.subprocess_exec):
    for _note in (
        workflow_support.release_stale_lock(),
        workflow_support.keep_finished_outputs(workflow),
    ):
        if _note:
            print(f"Note: {_note}", file=sys.stderr)


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
    """The configured dataset names, checked against the archive (one listdir, no
    dataset file reads); listed ones not found are an error, or with datasets_missing
    skip a warning."""
    known = sorted(DEMO_DATASETS) if DEMO else data.list_datasets(UCR_ROOT)
    selection = data.dataset_selection(
        known, config["datasets"], UCR_ROOT, config["datasets_missing"]
    )
    if selection.warning and not (workflow.remote_exec or workflow.subprocess_exec):
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


def rule_set_resources(rule):
    """The resources that --set-resources, or a profile's set-resources, give ``rule``, as
    written. Unlike a profile's config or configfile, these survive a --config or --configfile
    of the user's own (a --set-resources of the user's own replaces them)."""
    given = workflow.resource_settings.overwrite_resources.get(rule, {})
    return {name: getattr(value, "raw", value) for name, value in given.items()}


# finetune.group_size: sources fine-tuned together by one job. auto is the GPU plan: 1 (one job
# per pair) unless finetune_batch is sent to a GPU, then per target as many as fit the GPU's
# memory (gpu_plan.group_size_for; the memory: a gpu_mem_mb resource of finetune_batch, else
# config resources.gpu.memory_mb). Decided from the same settings in cluster jobs.
GROUP_SIZE = settings.group_size(config)
_BATCH_RESOURCES = rule_set_resources("finetune_batch")
GPU_PLAN = GROUP_SIZE == "auto" and gpu_plan.sent_to_gpu(_BATCH_RESOURCES)
BATCHED = GPU_PLAN or (GROUP_SIZE != "auto" and GROUP_SIZE > 1)
try:
    GPU_MEMORY_MB = int(
        _BATCH_RESOURCES.get("gpu_mem_mb") or config["resources"]["gpu"]["memory_mb"]
    )
except (TypeError, ValueError):
    _stop(
        f"resource gpu_mem_mb of finetune_batch: {_BATCH_RESOURCES['gpu_mem_mb']!r} is not "
        "a number of MB"
    )
if GPU_PLAN and not (workflow.remote_exec or workflow.subprocess_exec):
    print(
        f"Note: GPU plan: finetune_batch asks for a GPU, so each target's sources are "
        f"fine-tuned in groups that fit {GPU_MEMORY_MB} MB (finetune.group_size auto; "
        f"training.backend {config['training']['backend']}; docs/resources.md)",
        file=sys.stderr,
    )


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


# finetune.sources: all (static DAG), random:K (drawn here from the seed, static DAG), or
# nearest:K and <score>:K (read from the select_sources checkpoint's table, made from the DTW
# neighbours or the transferability scores).
BUDGET, BUDGET_K = study.parse_budget(config["finetune"]["sources"])
SELECTED_BY_CHECKPOINT = ("nearest", *study.SCORES)


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
def series_length(name):
    """The series length of a dataset, from the first row of its split files."""
    if DEMO:
        return demo.series_length(name)
    try:
        return max(
            data.row_width(data.split_file(UCR_ROOT, name, s)) for s in data.SPLITS
        )
    except InputError as error:
        _stop(error)


def target_group_size(target, n_sources):
    """Sources of ``target`` fine-tuned together: the config's number, or the GPU plan's."""
    if not GPU_PLAN:
        return 1 if GROUP_SIZE == "auto" else GROUP_SIZE
    return gpu_plan.group_size_for(
        series_length(target),
        config["training"]["batch_size"],
        GPU_MEMORY_MB,
        n_sources,
    )


@lru_cache(maxsize=None)
def _batches(target, sources):
    return study.batches(list(sources), target_group_size(target, len(sources)))


def target_batches(target):
    """Batch id -> sources fine-tuned together on ``target``."""
    return _batches(target, tuple(target_sources(target)))


# A fine-tuned pair's file as named on the command line.
PAIR_FILE = re.compile(
    r"results/finetune/([^/]+)/([^/]+)/(?:metrics\.csv|history\.csv|model\.h5)"
)


@lru_cache(maxsize=None)
def pairs_asked_alone():
    """The (source, target) pairs whose files are the run's only targets: each is fine-tuned by
    a batch of its own source, so a single pair's file trains that pair alone. Known once the
    DAG is built (the targets are not known while the Snakefile is read); empty when any other
    target is asked for, or none (rule all)."""
    dag = workflow.dag_settings
    pairs = set()
    for path in dag.targets if dag else ():
        match = PAIR_FILE.fullmatch(os.path.normpath(path))
        if not match:
            return frozenset()
        pairs.add((match[1], match[2]))
    return frozenset(pairs)


def batch_sources(wildcards):
    """The sources of a batch: one of the target's batches, or a single source (a pair asked
    for alone: its batch id is the source's name, study.batch_id)."""
    batches = target_batches(wildcards.target)
    if wildcards.batch in batches:
        return batches[wildcards.batch]
    if wildcards.batch in target_sources(wildcards.target):
        return [wildcards.batch]
    raise ValueError(
        f"results/finetune_batches/{wildcards.target}/{wildcards.batch}: not a batch of "
        f"sources fine-tuned on {wildcards.target}"
    )


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
    """The folder of the batch job that fine-tunes the pair (batched: group_size above 1 or the
    GPU plan): its target's batch that holds the source, or a batch of that source alone for a
    pair asked for alone."""
    source, target = wildcards.source, wildcards.target
    sources = check_pair_selected(wildcards)
    if (source, target) in pairs_asked_alone():
        batch = study.batch_id([source])
    else:
        batch = study.batch_of(source, sources, target_group_size(target, len(sources)))
    return f"results/finetune_batches/{target}/{batch}"


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
    """Every fine-tuned pair's file: a list, or for nearest:K and <score>:K an input function
    (it waits for the select_sources checkpoint)."""

    def files(wildcards=None):
        return [
            f"results/finetune/{source}/{target}/{suffix}"
            for target in DATASETS
            for source in target_sources(target)
        ]

    return files if BUDGET in SELECTED_BY_CHECKPOINT else files()


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
