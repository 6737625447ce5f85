# Helpers of rules/finetune.smk: the sources each target gets (finetune.sources), how they
# are grouped into jobs (finetune.group_size, the GPU plan), the pair files.


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
if GPU_PLAN and MAIN_PROCESS:
    print(
        f"Note: GPU plan: finetune_batch asks for a GPU, so each target's sources are "
        f"fine-tuned in groups that fit {GPU_MEMORY_MB} MB (finetune.group_size auto; "
        f"training.backend {config['training']['backend']}; docs/resources.md)",
        file=sys.stderr,
    )


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
        return max(data.row_width(data.split_file(UCR_ROOT, name, s)) for s in data.SPLITS)
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
PAIR_FILE = re.compile(r"results/finetune/([^/]+)/([^/]+)/(?:metrics\.csv|history\.csv|model\.h5)")


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


def pair_outputs(folder):
    """A fine-tuned pair's files in ``folder`` (the model only with finetune.save_models), each
    kept until its job replaces it."""
    files = {"metrics": f"{folder}/metrics.csv", "history": f"{folder}/history.csv"}
    if config["finetune"]["save_models"]:
        files["model"] = f"{folder}/model.h5"
    return {name: kept(path) for name, path in files.items()}


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
