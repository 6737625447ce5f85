"""Budget mode (finetune.sources nearest:K / random:K): the selection and the jobs a dry run
schedules, on the real UCR subset."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SHORT_TRAINING, run_snakemake
from test_workflow import job_counts

from transfer_tsc import study
from transfer_tsc.errors import InputError

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


@pytest.mark.parametrize("k", [1, 3])
def test_random_budget_dry_run_schedules_n_times_k_finetunes(tmp_path, ucr_root, k):
    dry = run_snakemake(
        tmp_path, budget_config(ucr_root, f"random:{k}"), "results/transfer_accuracy.csv", "-n"
    )
    counts = job_counts(dry.stdout)
    assert counts["finetune"] == len(DATASETS) * k
    assert "select_sources" not in counts  # random:K needs no checkpoint: a static DAG
    # the selection table the rule writes is the one the DAG was built from
    run_snakemake(
        tmp_path, budget_config(ucr_root, f"random:{k}"), "results/finetune/selection.csv"
    )
    selection = pd.read_csv(tmp_path / "results/finetune/selection.csv")
    expected = study.random_sources(DATASETS, k, seed=0)
    pd.testing.assert_frame_equal(selection, expected)
    for target, source in selection[["target", "source"]].itertuples(index=False):
        assert f"results/finetune/{source}/{target}/metrics.csv" in dry.stdout


def test_nearest_budget_dry_run_after_the_similarity_outputs(tmp_path, ucr_root):
    config = budget_config(ucr_root, "nearest:2")
    dry = run_snakemake(tmp_path, config, "results/transfer_accuracy.csv", "-n")
    counts = job_counts(dry.stdout)
    assert counts.get("select_sources") == 1 and "finetune" not in counts

    run_snakemake(tmp_path, config, "results/finetune/selection.csv")
    # data.znormalise: auto (the default) normalises BME and Chinatown, with one line each
    for name in DATASETS:
        lines = (tmp_path / f"logs/prototypes/{name}.log").read_text().splitlines()
        noted = [line for line in lines if "not z-normalised" in line]
        assert len(noted) == (1 if name in ("BME", "Chinatown") else 0), name
    neighbours = pd.read_csv(tmp_path / "results/similarity/neighbours.csv")
    selection = pd.read_csv(tmp_path / "results/finetune/selection.csv")
    for target in DATASETS:
        ranked = neighbours[neighbours["target"] == target].sort_values("rank")
        assert (
            selection[selection["target"] == target]["source"].tolist()
            == (ranked["source"].tolist()[:2])
        )

    dry = run_snakemake(tmp_path, config, "results/transfer_accuracy.csv", "-n")
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
        f"results/finetune/{outside[0]}/{outside[1]}/metrics.csv",
        "-n",
        check=False,
    )
    assert refused.returncode != 0
    assert "is not fine-tuned: finetune.sources is nearest:2" in refused.stdout + refused.stderr


@pytest.mark.parametrize("sources", ["nearest:0", "random", "closest:2"])
def test_a_bad_budget_is_refused_with_the_key(tmp_path, ucr_root, sources):
    refused = run_snakemake(
        tmp_path,
        budget_config(ucr_root, sources),
        "results/transfer_accuracy.csv",
        "-n",
        check=False,
    )
    assert refused.returncode != 0
    assert "Error: config key finetune.sources" in refused.stdout + refused.stderr
