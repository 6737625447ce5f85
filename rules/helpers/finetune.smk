# Helpers of rules/finetune.smk: the sources each target gets (finetune.sources), how they
# are grouped into jobs (finetune.group_size, the GPU plan), the pair files. The decisions are
# transfer_tsc.workflow.plan's; these wire them to the config, the files and Snakemake.

# finetune.group_size: sources fine-tuned together by one job. auto is the GPU plan: 1 (one job
# per pair) unless finetune_batch is sent to a GPU, then per target as many as fit the GPU's
# memory (gpu_plan.group_size_for; the memory: a gpu_mem_mb resource of finetune_batch, else
# config resources.gpu.memory_mb). Decided from the same settings in cluster jobs.
try:
    FINETUNE_PLAN = plan.finetune_plan(config, compat.set_resources(workflow, "finetune_batch"))
except InputError as error:
    _stop(error)
BATCHED = FINETUNE_PLAN.batched
if FINETUNE_PLAN.gpu_plan and MAIN_PROCESS:
    print(
        f"Note: {plan.gpu_plan_note(FINETUNE_PLAN, config['training']['backend'])}",
        file=sys.stderr,
    )


# finetune.sources: all (static DAG), random:K (drawn here from the seed, static DAG), or
# nearest:K and <score>:K (read from the select_sources checkpoint's table, made from the DTW
# neighbours or the transferability scores).
BUDGET = plan.budget(config)


@lru_cache(maxsize=None)
def _read_selection(path, mtime_ns):
    return study.read_selection(path)


def _checkpoint_selection(network):
    path = checkpoints.select_sources.get(network=network).output.selection
    return _read_selection(path, os.stat(path).st_mtime_ns)


def target_sources(target, network):
    """The sources fine-tuned on ``target`` in ``network``'s study: every other dataset, or the
    budget's selection."""
    return plan.target_sources(
        target, DATASETS, BUDGET, config["seed"], lambda: _checkpoint_selection(network)
    )


@lru_cache(maxsize=None)
def series_length(name):
    """The series length of a dataset, from the first row of its split files."""
    if DEMO:
        return demo.series_length(name)
    try:
        return max(data.row_width(data.split_file(UCR_ROOT, name, s)) for s in data.SPLITS)
    except InputError as error:
        _stop(error)


def target_group_size(target, n_sources, network):
    """Sources of ``target`` fine-tuned together: the configured number, or the GPU plan's for
    ``network``."""
    length = series_length(target) if FINETUNE_PLAN.gpu_plan else None
    batch_size = settings.recipe(config, "finetune", network).batch_size
    return plan.group_size(FINETUNE_PLAN, n_sources, length, batch_size, network, RUNS)


@lru_cache(maxsize=None)
def _batches(target, sources, network):
    return plan.source_batches(sources, target_group_size(target, len(sources), network))


def target_batches(target, network):
    """Batch id -> sources fine-tuned together on ``target`` in ``network``'s study."""
    return _batches(target, tuple(target_sources(target, network)), network)


@lru_cache(maxsize=None)
def pairs_asked_alone():
    """The (source, target) pairs whose files are the run's only targets (plan.pairs_asked_alone).
    Known once the DAG is built (the targets are not known while the Snakefile is read)."""
    return plan.pairs_asked_alone(compat.dag_targets(workflow))


def batch_sources(wildcards):
    """The sources of a batch: one of the target's batches, or a single source (a pair asked
    for alone)."""
    target, network = wildcards.target, wildcards.network
    return plan.batch_sources(
        target,
        wildcards.batch,
        target_batches(target, network),
        target_sources(target, network),
        network,
    )


def pretrained_model(network, dataset):
    """The pre-trained model of ``dataset`` that one model per dataset reads (transferability,
    recommendation, zoo): run 1's with config runs above 1."""
    return plan.first_run(f"{study_folder(network)}/pretrain/{dataset}/model.h5", RUNS)


def pretrained_models(network, sources):
    """Run 1's pre-trained model of each of ``sources``: what a fine-tuning job lists as input.
    One job makes all the runs of a dataset, so run 1's file brings in the same jobs with 1/runs
    of the files for Snakemake to match (the dry run of runs: 5 within 2x of runs: 1); the job
    reads every run's from params source_models (``source_models``)."""
    return [pretrained_model(network, source) for source in sources]


def source_models(network, sources):
    """Source -> its runs' pre-trained models, for each of ``sources`` (params source_models:
    fine-tuning run r starts from the source's pre-training run r)."""
    return {source: plan.every_run(pretrained_model(network, source), RUNS) for source in sources}


def batch_source_models(wildcards):
    return source_models(wildcards.network, batch_sources(wildcards))


def pair_source_models(wildcards):
    return source_models(wildcards.network, [wildcards.source])


def batch_models(wildcards):
    return pretrained_models(wildcards.network, batch_sources(wildcards))


def check_pair_selected(wildcards):
    """Refuse a (source, target) pair that finetune.sources does not fine-tune."""
    sources = target_sources(wildcards.target, wildcards.network)
    plan.check_pair_selected(wildcards.source, wildcards.target, sources, BUDGET)
    return sources


def pair_source_model(wildcards):
    """Run 1's pre-trained model of the pair's source (group_size 1: one job per pair), once the
    pair is known to be one that finetune.sources fine-tunes."""
    check_pair_selected(wildcards)
    return pretrained_models(wildcards.network, [wildcards.source])


def pair_batch(wildcards):
    """The folder of the batch job that fine-tunes the pair (batched: group_size above 1 or the
    GPU plan)."""
    source, target, network = wildcards.source, wildcards.target, wildcards.network
    sources = check_pair_selected(wildcards)
    size = target_group_size(target, len(sources), network)
    return plan.pair_batch(source, target, sources, size, pairs_asked_alone(), network)


def pair_outputs(folder):
    """A fine-tuned pair's files in ``folder`` (the model only with finetune.save_models), of
    every run, each kept until its job replaces it."""
    files = plan.pair_outputs(folder, config["finetune"]["save_models"], RUNS, ENSEMBLE)
    return {name: kept(path) for name, path in files.items()}


def pair_files(suffix):
    """Run 1's file ``suffix`` of every fine-tuned pair of the job's network (the job reads every
    run's: ``plan.every_run``). An input function, which for nearest:K and <score>:K waits for the
    select_sources checkpoint."""

    def files(wildcards):
        network = wildcards.network
        return plan.pair_files(
            suffix,
            DATASETS,
            lambda target: target_sources(target, network),
            network,
            RUNS,
            every_run=False,
        )

    return files
