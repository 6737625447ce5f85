"""Budget mode (finetune.sources nearest:K / random:K): the selection and the fine-tunings the
workflow plans with it (transfer_tsc.workflow.plan's decisions), on the real UCR subset; one
run of Snakemake for the wiring of the select_sources checkpoint (nearest:K)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import SHORT_TRAINING, job_counts, run_snakemake

from transfer_tsc import settings, study
from transfer_tsc.errors import InputError
from transfer_tsc.workflow import plan
from transfer_tsc.workflow.jobs import RULES

DATASETS = ["BME", "Chinatown", "Coffee", "GunPoint", "ItalyPowerDemand"]


def budget_config(ucr_root, sources: str, seed: int = 0) -> dict:
    return {
        "ucr_root": str(ucr_root),
        "datasets": DATASETS,
        "seed": seed,
        **SHORT_TRAINING,
        "finetune": {**SHORT_TRAINING["finetune"], "sources": sources},
    }


def test_parse_budget():
    assert study.parse_budget("all") == ("all", None)
    assert study.parse_budget("nearest:3") == ("nearest", 3)
    assert study.parse_budget("random:1") == ("random", 1)
    for bad in ["nearest", "random:0", "nearest:x", "all:2", "closest:1"]:
        with pytest.raises(InputError, match="finetune.sources"):
            study.parse_budget(bad)


def test_random_sources_are_seeded_per_target():
    names = [f"D{i}" for i in range(20)]
    first = study.random_sources(names, 3, seed=0)
    assert first.equals(study.random_sources(names, 3, seed=0))
    assert not first.equals(study.random_sources(names, 3, seed=1))
    assert len(first) == 20 * 3
    for target, group in first.groupby("target"):
        assert target not in set(group["source"])
        assert group["source"].is_unique and group["rank"].tolist() == [1, 2, 3]
    # a target's draw does not depend on which other targets are drawn
    alone = study.random_sources(names, 3, seed=0)
    assert alone[alone["target"] == "D7"].equals(first[first["target"] == "D7"])
    # K larger than the pool: every other dataset
    assert len(study.random_sources(names[:3], 5, seed=0)) == 3 * 2


def test_nearest_sources_follow_the_ranks_within_the_study():
    neighbours = pd.DataFrame(
        [
            ("A", 1, "X", 0.1),
            ("A", 2, "C", 0.2),
            ("A", 3, "B", 0.3),
            ("B", 1, "C", 0.5),
            ("B", 2, "A", 0.6),
            ("C", 1, "A", 0.1),
            ("C", 2, "B", 0.9),
        ],
        columns=["target", "rank", "source", "distance"],
    )
    # X is not in the study: A's nearest within the study are C then B
    picked = study.nearest_sources(neighbours, ["A", "B", "C"], 1)
    assert picked.values.tolist() == [["A", 1, "C"], ["B", 1, "C"], ["C", 1, "A"]]
    assert study.selection_map(study.nearest_sources(neighbours, ["A", "B", "C"], 2)) == {
        "A": ["B", "C"],
        "B": ["A", "C"],
        "C": ["A", "B"],
    }
    with pytest.raises(InputError, match="no DTW neighbours for target.*D"):
        study.nearest_sources(neighbours, ["A", "B", "C", "D"], 1)


def planned_pairs(config: dict, selection: dict | None = None) -> list[str]:
    """The pair files the study of ``config`` fine-tunes (one finetune job each: no GPU plan),
    as rules/helpers/finetune.smk plans them; ``selection``: the select_sources table's map."""
    validated = settings.validate(config)
    assert not plan.finetune_plan(validated, {}).batched
    budget = plan.budget(validated)
    return plan.pair_files(
        "metrics.csv",
        DATASETS,
        lambda target: plan.target_sources(
            target, DATASETS, budget, validated["seed"], lambda: selection
        ),
    )


class _Named(dict):
    """A job's named inputs, by name or attribute (as Snakemake's)."""

    __getattr__ = dict.__getitem__


def write_selection(tmp_path, config: dict, **inputs) -> pd.DataFrame:
    """Run the select_sources rule's job on ``config`` (its params as the rule gives them) and
    read back the table it writes."""
    validated = settings.validate(config)
    output = tmp_path / "results/fcn/finetune/selection.csv"
    output.parent.mkdir(parents=True, exist_ok=True)
    job = SimpleNamespace(
        rule="select_sources",
        input=_Named(inputs),
        output=SimpleNamespace(selection=str(output)),
        params=SimpleNamespace(
            sources=validated["finetune"]["sources"],
            datasets=DATASETS,
            seed=validated["seed"],
        ),
    )
    RULES["select_sources"].job(job, lambda message: None)
    return pd.read_csv(output)


@pytest.mark.parametrize("k", [1, 3])
def test_random_budget_schedules_n_times_k_finetunes(tmp_path, ucr_root, k):
    config = budget_config(ucr_root, f"random:{k}")
    pairs = planned_pairs(config)
    assert len(pairs) == len(DATASETS) * k
    budget = plan.budget(settings.validate(config))
    assert not budget.selected_by_checkpoint  # random:K needs no checkpoint: a static DAG
    # the selection table the rule writes is the one the DAG was built from
    selection = write_selection(tmp_path, config)
    expected = study.random_sources(DATASETS, k, seed=0)
    pd.testing.assert_frame_equal(selection, expected)
    for target, source in selection[["target", "source"]].itertuples(index=False):
        assert f"results/fcn/finetune/{source}/{target}/metrics.csv" in pairs


def test_nearest_budget_fine_tunes_the_selection(tmp_path, ucr_root):
    config = budget_config(ucr_root, "nearest:2")
    assert plan.budget(settings.validate(config)).selected_by_checkpoint  # a checkpoint's table
    # every target's other datasets ranked in a fixed order (as results/similarity/neighbours.csv)
    neighbours = pd.DataFrame(
        [
            (target, rank, source, float(rank))
            for target in DATASETS
            for rank, source in enumerate(
                sorted((s for s in DATASETS if s != target), key=lambda s: s[::-1]), 1
            )
        ],
        columns=["target", "rank", "source", "distance"],
    )
    table = tmp_path / "neighbours.csv"
    neighbours.to_csv(table, index=False)
    selection = write_selection(tmp_path, config, neighbours=str(table))
    for target in DATASETS:
        ranked = neighbours[neighbours["target"] == target].sort_values("rank")
        assert (
            selection[selection["target"] == target]["source"].tolist()
            == ranked["source"].tolist()[:2]
        )
    chosen = study.selection_map(selection)
    pairs = planned_pairs(config, chosen)
    assert len(pairs) == len(DATASETS) * 2
    # a pair outside the selection is refused with the reason
    outside = next((s, t) for t in DATASETS for s in DATASETS if s != t and s not in chosen[t])
    with pytest.raises(ValueError, match="is not fine-tuned: finetune.sources is nearest:2"):
        plan.check_pair_selected(*outside, chosen[outside[1]], plan.budget(config))


@pytest.mark.workflow
def test_nearest_budget_dry_run_after_the_similarity_outputs(tmp_path, ucr_root):
    config = budget_config(ucr_root, "nearest:2")
    dry = run_snakemake(tmp_path, config, "results/fcn/transfer_accuracy.csv", "-n")
    counts = job_counts(dry.stdout)
    assert counts.get("select_sources") == 1 and "finetune" not in counts

    run_snakemake(tmp_path, config, "results/fcn/finetune/selection.csv")
    # data.znormalise: auto (the default) normalises BME and Chinatown, with one line each
    for name in DATASETS:
        lines = (tmp_path / f"logs/prototypes/{name}.log").read_text().splitlines()
        noted = [line for line in lines if "not z-normalised" in line]
        assert len(noted) == (1 if name in ("BME", "Chinatown") else 0), name
    neighbours = pd.read_csv(tmp_path / "results/similarity/neighbours.csv")
    selection = pd.read_csv(tmp_path / "results/fcn/finetune/selection.csv")
    for target in DATASETS:
        ranked = neighbours[neighbours["target"] == target].sort_values("rank")
        assert (
            selection[selection["target"] == target]["source"].tolist()
            == (ranked["source"].tolist()[:2])
        )

    dry = run_snakemake(tmp_path, config, "results/fcn/transfer_accuracy.csv", "-n")
    counts = job_counts(dry.stdout)
    assert counts["finetune"] == len(DATASETS) * 2
    assert "select_sources" not in counts

    # a pair outside the selection is refused with the reason
    outside = next(
        (s, t)
        for t in DATASETS
        for s in DATASETS
        if s != t and s not in selection[selection["target"] == t]["source"].tolist()
    )
    refused = run_snakemake(
        tmp_path,
        config,
        f"results/fcn/finetune/{outside[0]}/{outside[1]}/metrics.csv",
        "-n",
        check=False,
    )
    assert refused.returncode != 0
    assert "is not fine-tuned: finetune.sources is nearest:2" in refused.stdout + refused.stderr


@pytest.mark.parametrize("sources", ["nearest:0", "random", "closest:2"])
def test_a_bad_budget_is_refused_with_the_key(ucr_root, sources):
    with pytest.raises(InputError) as refused:
        settings.validate(budget_config(ucr_root, sources))  # rules/common.smk: "Error: " + it
    assert str(refused.value).startswith("config key finetune.sources")
    with pytest.raises(InputError, match="^config key finetune.sources"):
        plan.budget({"finetune": {"sources": sources}})
