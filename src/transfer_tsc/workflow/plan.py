"""The workflow's planning decisions, as plain functions of the config and plain values (no
Snakemake objects): the sources each target gets (``finetune.sources``), the sources scored on
it (transferability), how a target's sources are grouped into fine-tuning jobs
(``finetune.group_size`` and the GPU plan), and the files of the fine-tuned pairs.

rules/common.smk and rules/helpers/finetune.smk call these with what only Snakemake knows (the
resources set for a rule, the targets named on the command line, the select_sources
checkpoint's table); tests/workflow/test_plan.py calls them directly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from transfer_tsc import settings, study
from transfer_tsc.errors import InputError
from transfer_tsc.networks import PAPER_NETWORK, network
from transfer_tsc.study import PROBABILITIES_FILE
from transfer_tsc.training import gpu_plan
from transfer_tsc.training.transfer import METRICS_FILE, run_folder

# finetune.sources modes whose selection is the select_sources checkpoint's table (made from
# the DTW neighbours or the transferability scores); all and random:K are known when planning.
SELECTED_BY_CHECKPOINT = ("nearest", *study.SCORES)

# A fine-tuned pair's file as named on the command line (of one run, with config runs above 1):
# network, source, target.
PAIR_FILE = re.compile(
    r"results/([^/]+)/finetune/([^/]+)/([^/]+)/(?:run[1-9][0-9]*/)?"
    r"(?:metrics\.csv|history\.csv|model\.h5|test_probabilities\.csv)"
)


def study_folder(network_name: str) -> str:
    """The folder of one network's study: its models, tables, analyses (``results/<network>``);
    the prototypes and DTW distances, which no network changes, stay in results/."""
    return f"results/{network_name}"


# -- which sources ----------------------------------------------------------------------------


def scored_sources(target: str, datasets: Sequence[str]) -> list[str]:
    """The sources whose pre-trained models are scored on ``target`` (transferability): every
    other dataset."""
    return study.sources_for(target, datasets)


@dataclass(frozen=True)
class Budget:
    """``finetune.sources`` read: its text, mode (all, nearest, random or a score) and K."""

    spec: str
    mode: str
    k: int | None

    @property
    def selected_by_checkpoint(self) -> bool:
        """Whether the selection is known only once the select_sources checkpoint has run."""
        return self.mode in SELECTED_BY_CHECKPOINT


def budget(config: Mapping) -> Budget:
    """The config's ``finetune.sources`` (an InputError naming the key when it is not valid)."""
    spec = config["finetune"]["sources"]
    mode, k = study.parse_budget(spec)
    return Budget(spec, mode, k)


def selection_inputs(budget: Budget) -> dict[str, str]:
    """The named inputs of the select_sources checkpoint: the DTW neighbours (nearest:K), the
    network's transferability scores (<score>:K; a ``{network}`` wildcard), or none (all,
    random:K)."""
    if budget.mode == "nearest":
        return {"neighbours": "results/similarity/neighbours.csv"}
    if budget.mode in study.SCORES:
        return {"scores": f"{study_folder('{network}')}/transferability/scores.csv"}
    return {}


@lru_cache(maxsize=None)
def random_selection(datasets: tuple[str, ...], k: int, seed: int) -> dict[str, list[str]]:
    """random:K: target -> its K sources drawn from the seed (``study.random_sources``)."""
    return study.selection_map(study.random_sources(list(datasets), k, seed))


def target_sources(
    target: str,
    datasets: Sequence[str],
    budget: Budget,
    seed: int,
    selection: Callable[[], Mapping[str, list[str]]] | None = None,
) -> list[str]:
    """The sources fine-tuned on ``target``: every other dataset (all), the seed's draw
    (random:K), or the select_sources table's (``selection()``, read only for those modes)."""
    if budget.mode == "all":
        return study.sources_for(target, datasets)
    if budget.mode == "random":
        return random_selection(tuple(datasets), budget.k, seed).get(target, [])
    if selection is None:
        raise ValueError(f"finetune.sources {budget.spec}: the selection table is needed")
    return list(selection().get(target, []))


def check_pair_selected(source: str, target: str, sources: Sequence[str], budget: Budget) -> None:
    """Refuse a (source, target) pair that finetune.sources does not fine-tune (``sources``:
    the target's)."""
    if source not in sources:
        raise ValueError(
            f"{source} -> {target} is not fine-tuned: finetune.sources is {budget.spec} and "
            f"selects {', '.join(sources)}"
        )


# -- how they are grouped into jobs (finetune.group_size, the GPU plan) ------------------------


@dataclass(frozen=True)
class FinetunePlan:
    """How fine-tunings are grouped: ``group_size`` as configured ("auto" or a number), whether
    the GPU plan decides it per target, and the GPU memory it plans with (MiB)."""

    group_size: int | str
    gpu_plan: bool
    gpu_memory_mb: int

    @property
    def batched(self) -> bool:
        """Whether sources are fine-tuned together (rule finetune_batch, a job per batch), not
        one job per pair (rule finetune)."""
        return self.gpu_plan or (self.group_size != "auto" and self.group_size > 1)


def finetune_plan(config: Mapping, batch_resources: Mapping[str, object]) -> FinetunePlan:
    """The plan from the validated config and the resources set for rule finetune_batch: auto
    is the GPU plan when those resources ask for a GPU (``gpu_plan.sent_to_gpu``), else one job
    per pair; a number is that many sources a job. The GPU's memory is the gpu_mem_mb resource,
    else config resources.gpu.memory_mb (an InputError when gpu_mem_mb is not a number)."""
    size = settings.group_size(config)
    try:
        memory = int(batch_resources.get("gpu_mem_mb") or config["resources"]["gpu"]["memory_mb"])
    except (TypeError, ValueError):
        raise InputError(
            f"resource gpu_mem_mb of finetune_batch: {batch_resources['gpu_mem_mb']!r} is not "
            "a number of MB"
        ) from None
    return FinetunePlan(size, size == "auto" and gpu_plan.sent_to_gpu(batch_resources), memory)


def gpu_plan_note(plan: FinetunePlan, backend: str) -> str | None:
    """The note printed when the GPU plan is on (None when it is off)."""
    if not plan.gpu_plan:
        return None
    return (
        f"GPU plan: finetune_batch asks for a GPU, so each target's sources are fine-tuned in "
        f"groups that fit {plan.gpu_memory_mb} MB (finetune.group_size auto; training.backend "
        f"{backend}; docs/resources.md)"
    )


def group_size(
    plan: FinetunePlan,
    n_sources: int,
    length: int | None,
    batch_size: int,
    network_name: str = PAPER_NETWORK,
    runs: int = 1,
) -> int:
    """Sources of one target fine-tuned together: the configured number (1 for auto off a GPU),
    or under the GPU plan as many networks ``network_name`` as fit the GPU for the target's
    series ``length`` (``gpu_plan.group_size_for``; ``length`` is read only then), counted as
    models: each source brings its ``runs``, so a group holds the sources whose runs fit (at
    least one source)."""
    if not plan.gpu_plan:
        return 1 if plan.group_size == "auto" else int(plan.group_size)
    if length is None:
        raise ValueError("the GPU plan needs the target's series length")
    models = gpu_plan.group_size_for(
        length,
        batch_size,
        plan.gpu_memory_mb,
        models_per_job(n_sources, runs),
        spec=network(network_name),
    )
    return max(1, models // runs)


def source_batches(sources: Sequence[str], size: int) -> dict[str, list[str]]:
    """Batch id -> the sources fine-tuned together on a target: consecutive groups of at most
    ``size`` of its ``sources`` (``study.batches``)."""
    return study.batches(list(sources), size)


def batch_sources(
    target: str,
    batch: str,
    batches: Mapping[str, list[str]],
    sources: Sequence[str],
    network_name: str = PAPER_NETWORK,
) -> list[str]:
    """The sources of ``batch``: one of the target's ``batches``, or a single source (a pair
    asked for alone: its batch id is the source's name, ``study.batch_id``)."""
    if batch in batches:
        return list(batches[batch])
    if batch in sources:
        return [batch]
    raise ValueError(
        f"{study_folder(network_name)}/finetune_batches/{target}/{batch}: not a batch of "
        f"sources fine-tuned on {target}"
    )


def pairs_asked_alone(targets: Iterable[str]) -> frozenset[tuple[str, str, str]]:
    """The (network, source, target) pairs whose files are the run's only ``targets`` (the
    command line's): each is fine-tuned by a batch of its own source, so a single pair's file
    trains that pair alone. Empty when any other target is asked for, or none (rule all)."""
    pairs = set()
    for path in targets:
        match = PAIR_FILE.fullmatch(os.path.normpath(path))
        if not match:
            return frozenset()
        pairs.add((match[1], match[2], match[3]))
    return frozenset(pairs)


def pair_batch(
    source: str,
    target: str,
    sources: Sequence[str],
    size: int,
    asked_alone: frozenset[tuple[str, str, str]] = frozenset(),
    network_name: str = PAPER_NETWORK,
) -> str:
    """The folder of the batch job that fine-tunes the pair (batched) in ``network_name``'s
    study: the target's batch of ``size`` that holds the source among its ``sources``, or a
    batch of that source alone for a pair in ``asked_alone``."""
    if (network_name, source, target) in asked_alone:
        batch = study.batch_id([source])
    else:
        batch = study.batch_of(source, sources, size)
    return f"{study_folder(network_name)}/finetune_batches/{target}/{batch}"


# -- repeated runs (config runs, ensemble) ---------------------------------------------------


def run_paths(path: str, runs: int) -> str | list[str]:
    """``path`` (``<folder>/<file>``) of each of ``runs`` runs: ``path`` itself for one run
    (the paths of a study without repeated runs), else ``<folder>/run<r>/<file>`` for r = 1 to
    ``runs`` (``transfer.run_folder``)."""
    if runs == 1:
        return path
    folder, name = path.rsplit("/", 1)
    return [f"{run_folder(folder, run, runs)}/{name}" for run in range(1, runs + 1)]


def as_list(paths: str | list[str]) -> list[str]:
    """``run_paths``' answer as a list (one run's path in a list of one)."""
    return [paths] if isinstance(paths, str) else list(paths)


def first_run(path: str, runs: int) -> str:
    """``path`` of run 1: what reads one pre-trained model per dataset (the transferability
    scores, the recommendation, the zoo) reads run 1's with config runs above 1."""
    return as_list(run_paths(path, runs))[0]


def every_run(first: str, runs: int) -> list[str]:
    """Every run's path of the item whose run-1 path is ``first`` (``first_run``'s answer):
    ``[first]`` for one run, else ``<folder>/run<r>/<file>`` for r = 1 to ``runs``."""
    if runs == 1:
        return [first]
    folder, _, name = first.rsplit("/", 2)
    paths = as_list(run_paths(f"{folder}/{name}", runs))
    if paths[0] != first:
        raise ValueError(f"{first}: not a path of run 1 of {runs}")
    return paths


def trained_outputs(
    folder: str, names: Mapping[str, str], runs: int, ensemble: bool
) -> dict[str, str | list[str]]:
    """A training rule's files in ``folder`` (name -> file: ``model``: model.h5, ...), of each
    run (``run_paths``), and ``probabilities`` (test_probabilities.csv) with ``ensemble`` and
    more than one run."""
    files = {name: f"{folder}/{file}" for name, file in names.items()}
    if ensemble and runs > 1:
        files["probabilities"] = f"{folder}/{PROBABILITIES_FILE}"
    return {name: run_paths(path, runs) for name, path in files.items()}


def models_per_job(sources: int, runs: int) -> int:
    """Models a training job trains together: each source's runs (a pre-training: 1 source)."""
    return sources * runs


# -- the pair files ---------------------------------------------------------------------------


def pair_outputs(
    folder: str, save_models: bool, runs: int = 1, ensemble: bool = False
) -> dict[str, str | list[str]]:
    """A fine-tuned pair's files in ``folder``: metrics and history, and the model with
    finetune.save_models, of each run (``trained_outputs``)."""
    names = {"metrics": METRICS_FILE, "history": "history.csv"}
    if save_models:
        names["model"] = "model.h5"
    return trained_outputs(folder, names, runs, ensemble)


def pair_files(
    suffix: str,
    datasets: Sequence[str],
    sources_of: Callable[[str], Sequence[str]],
    network_name: str = PAPER_NETWORK,
    runs: int = 1,
    every_run: bool = True,
) -> list[str]:
    """Every fine-tuned pair's file ``suffix`` (metrics.csv, ...) of ``network_name``'s study,
    target by target, each target's ``sources_of(target)`` in turn (each pair's runs in turn,
    or run 1's alone without ``every_run``)."""
    files = []
    for target in datasets:
        for source in sources_of(target):
            path = f"{study_folder(network_name)}/finetune/{source}/{target}/{suffix}"
            files.extend(as_list(run_paths(path, runs)) if every_run else [first_run(path, runs)])
    return files
