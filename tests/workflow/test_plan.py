"""The workflow's planning decisions (transfer_tsc.workflow.plan), called directly: the sources
of each target, the GPU plan's group sizes, the source batches and the pair files."""

from __future__ import annotations

import pytest

from transfer_tsc import settings, study
from transfer_tsc.errors import InputError
from transfer_tsc.training import gpu_plan
from transfer_tsc.workflow import plan

NAMES = ["A", "B", "C", "D"]
GPU = {"gres": "gpu:1"}  # what the SLURM profile sets for finetune_batch


def config(**finetune) -> dict:
    return settings.validate({"finetune": finetune})


# -- which sources ----------------------------------------------------------------------------


def test_every_other_dataset_is_scored():
    assert plan.scored_sources("B", ["C", "A", "B"]) == ["A", "C"]


@pytest.mark.parametrize(
    "spec, mode, k, by_checkpoint, inputs",
    [
        ("all", "all", None, False, {}),
        ("random:2", "random", 2, False, {}),
        ("nearest:3", "nearest", 3, True, {"neighbours": "results/similarity/neighbours.csv"}),
        ("logme:1", "logme", 1, True, {"scores": "results/{network}/transferability/scores.csv"}),
    ],
)
def test_the_budget_and_the_checkpoints_inputs(spec, mode, k, by_checkpoint, inputs):
    budget = plan.budget(config(sources=spec))
    assert (budget.spec, budget.mode, budget.k) == (spec, mode, k)
    assert budget.selected_by_checkpoint is by_checkpoint
    assert plan.selection_inputs(budget) == inputs


def test_a_bad_budget_names_the_key():
    with pytest.raises(InputError, match="config key finetune.sources"):
        plan.budget({"finetune": {"sources": "closest:2"}})


def test_the_sources_of_a_target_by_budget():
    def unread():
        raise AssertionError("the selection table is read only for nearest:K and <score>:K")

    every = plan.budget(config(sources="all"))
    assert plan.target_sources("B", NAMES, every, 0, unread) == ["A", "C", "D"]
    drawn = plan.budget(config(sources="random:2"))
    expected = study.selection_map(study.random_sources(NAMES, 2, seed=3))
    for target in NAMES:
        assert plan.target_sources(target, NAMES, drawn, 3, unread) == expected[target]
    nearest = plan.budget(config(sources="nearest:1"))
    table = {"A": ["C"], "B": ["A"]}
    assert plan.target_sources("A", NAMES, nearest, 0, lambda: table) == ["C"]
    assert plan.target_sources("D", NAMES, nearest, 0, lambda: table) == []
    with pytest.raises(ValueError, match="selection table"):
        plan.target_sources("A", NAMES, nearest, 0)


def test_a_pair_outside_the_selection_is_refused_with_the_reason():
    budget = plan.budget(config(sources="nearest:2"))
    plan.check_pair_selected("A", "B", ["A", "C"], budget)
    with pytest.raises(ValueError) as refused:
        plan.check_pair_selected("D", "B", ["A", "C"], budget)
    assert str(refused.value) == (
        "D -> B is not fine-tuned: finetune.sources is nearest:2 and selects A, C"
    )


# -- how they are grouped into jobs -----------------------------------------------------------


def test_auto_off_a_gpu_fine_tunes_each_pair_alone():
    finetune = plan.finetune_plan(config(), {})
    assert finetune == plan.FinetunePlan("auto", False, 16000)
    assert not finetune.batched
    assert plan.gpu_plan_note(finetune, "tensorflow") is None
    assert plan.group_size(finetune, 84, None, 16) == 1


def test_a_gpu_for_finetune_batch_turns_the_gpu_plan_on():
    finetune = plan.finetune_plan(config(), GPU)
    assert finetune.gpu_plan and finetune.batched and finetune.gpu_memory_mb == 16000
    note = plan.gpu_plan_note(finetune, "jax")
    assert "fit 16000 MB" in note and "training.backend jax" in note
    for length in (24, 720, 2709):
        assert plan.group_size(finetune, 84, length, 16) == gpu_plan.group_size_for(
            length, 16, 16000, 84
        )
    with pytest.raises(ValueError, match="series length"):
        plan.group_size(finetune, 84, None, 16)
    # the resource gpu_mem_mb sets the GPU's memory (as written on the command line: text)
    assert plan.finetune_plan(config(), {**GPU, "gpu_mem_mb": "80000"}).gpu_memory_mb == 80000
    assert plan.finetune_plan(config(), {"gpu_mem_mb": 40000}).gpu_plan
    with pytest.raises(InputError, match="resource gpu_mem_mb of finetune_batch: 'lots'"):
        plan.finetune_plan(config(), {**GPU, "gpu_mem_mb": "lots"})


@pytest.mark.parametrize("runs", [2, 5])
def test_the_gpu_plan_counts_each_sources_runs_as_models(runs):
    """A group of the GPU plan holds sources whose runs all fit (config runs: a source brings one
    model per run), at least one source whatever the GPU."""
    finetune = plan.finetune_plan(config(), GPU)
    for length in (24, 720, 2709):
        fits = gpu_plan.group_size_for(length, 16, 16000, 10_000)  # models, unbounded by sources
        sources = plan.group_size(finetune, 84, length, 16, runs=runs)
        alone = plan.group_size(finetune, 84, length, 16)
        assert 1 <= sources <= alone
        if fits >= runs:
            assert sources * runs <= fits < (sources + 1) * runs or sources == 84
        else:
            assert sources == 1  # one source's runs are the smallest job
    # a GPU on which 12 models of length 720 fit: 6 sources of 2 runs, 2 sources of 5 runs
    memory = next(
        m for m in range(1000, 20000, 10) if gpu_plan.group_size_for(720, 16, m, 84) == 12
    )
    small = plan.finetune_plan(config(), {**GPU, "gpu_mem_mb": memory})
    assert plan.group_size(small, 84, 720, 16, runs=runs) == 12 // runs


def test_a_number_as_group_size_wins_over_the_plan():
    one = plan.finetune_plan(config(group_size=1), GPU)
    assert not one.gpu_plan and not one.batched
    assert plan.group_size(one, 84, None, 16) == 1
    four = plan.finetune_plan(config(group_size=4), {})
    assert four.batched and not four.gpu_plan
    assert plan.group_size(four, 84, None, 16) == 4


def test_source_batches_and_a_batchs_sources():
    sources = ["A", "B", "C", "D", "E"]
    batches = plan.source_batches(sources, 2)
    assert list(batches.values()) == [["A", "B"], ["C", "D"], ["E"]]
    first = study.batch_id(["A", "B"])
    assert plan.batch_sources("T", first, batches, sources) == ["A", "B"]
    assert plan.batch_sources("T", "C", batches, sources) == ["C"]  # a pair asked for alone
    with pytest.raises(ValueError, match="results/fcn/finetune_batches/T/X: not a batch"):
        plan.batch_sources("T", "X", batches, sources)


def test_a_pair_is_fine_tuned_in_its_targets_batch_unless_asked_for_alone():
    sources = ["A", "B", "C"]
    assert plan.pair_batch("B", "T", sources, 2) == (
        f"results/fcn/finetune_batches/T/{study.batch_id(['A', 'B'])}"
    )
    assert plan.pair_batch("C", "T", sources, 2) == "results/fcn/finetune_batches/T/C"
    alone = plan.pairs_asked_alone(["results/fcn/finetune/B/T/metrics.csv"])
    assert alone == {("fcn", "B", "T")}
    assert plan.pair_batch("B", "T", sources, 2, alone) == "results/fcn/finetune_batches/T/B"
    # the same pair of another network's study is not asked for alone
    assert plan.pair_batch("B", "T", sources, 2, alone, "resnet") == (
        f"results/resnet/finetune_batches/T/{study.batch_id(['A', 'B'])}"
    )


@pytest.mark.parametrize(
    "targets, expected",
    [
        (
            ["results/fcn/finetune/Chinatown/Coffee/metrics.csv"],
            {("fcn", "Chinatown", "Coffee")},
        ),
        (
            ["./results/fcn/finetune/A/B/model.h5", "results/resnet/finetune/C/B/history.csv"],
            {("fcn", "A", "B"), ("resnet", "C", "B")},
        ),
        (["results/fcn/finetune/A/B/metrics.csv", "results/fcn/transfer_accuracy.csv"], set()),
        (["all"], set()),
        ([], set()),  # rule all
    ],
)
def test_the_pairs_asked_for_alone(targets, expected):
    assert plan.pairs_asked_alone(targets) == expected


# -- the pair files ---------------------------------------------------------------------------


def test_pair_outputs_and_files():
    assert plan.pair_outputs("f", False) == {"metrics": "f/metrics.csv", "history": "f/history.csv"}
    assert plan.pair_outputs("f", True)["model"] == "f/model.h5"
    files = plan.pair_files("metrics.csv", ["A", "B"], lambda t: [d for d in "AB" if d != t])
    assert files == ["results/fcn/finetune/B/A/metrics.csv", "results/fcn/finetune/A/B/metrics.csv"]
