"""Repeated runs and ensembles through the workflow (config ``runs`` and ``ensemble``, issue 25):
each run's files in its run<r> folder, trained together in the item's one job with its own seed;
the gathered tables' mean, spread and ensemble accuracy against a hand computation from the
per-run files; the DAG of runs: 2 as large as runs: 1's; bad values refused naming the key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import job_counts, run_snakemake

from transfer_tsc.workflow import plan

pytestmark = pytest.mark.workflow  # every test here runs Snakemake

DATASETS = ["Chinatown", "Coffee"]
TINY = {
    "pretrain": {"epochs": 2},
    "finetune": {"epochs": 1},
    "training": {"progress_every": 1, "checkpoint_every": 1},
}


@pytest.fixture
def runs_config(ucr_root):
    return {"ucr_root": str(ucr_root), "datasets": DATASETS, **TINY, "seed": 3, "runs": 2}


def test_a_batched_study_of_two_runs_is_one_job_per_dataset_and_per_batch(tmp_path, runs_config):
    config = {**runs_config, "ensemble": True, "finetune": {"epochs": 1, "group_size": 2}}
    tables = ["results/fcn/scratch_accuracy.csv", "results/fcn/transfer_accuracy.csv"]
    dry = run_snakemake(tmp_path, config, *tables, "-n")
    assert job_counts(dry.stdout) == {
        "pretrain": 2,
        "finetune_batch": 2,
        "finetune_pair": 2,
        "scratch_accuracy": 1,
        "transfer_accuracy": 1,
    }
    assert "results/fcn/finetune/Coffee/Chinatown/run2/test_probabilities.csv" in dry.stdout


def check_runs_and_ensemble(results, datasets: list[str], seed: int) -> None:
    """The files and gathered tables of a study of 2 runs with ``ensemble`` (run by
    tests/workflow/test_runs_analyses.py, which trains one): every run's files in its run
    folder, the runs' trainings differ, and the tables' mean, std (ddof 1), min, max and
    ensemble accuracy equal a hand computation from the per-run files."""
    names = ["model.h5", "history.csv", "metrics.csv", "test_probabilities.csv"]
    for name in datasets:
        assert sorted(p.name for p in (results / "pretrain" / name).iterdir()) == ["run1", "run2"]
        for run in (1, 2):
            for file in names:
                assert (results / f"pretrain/{name}/run{run}/{file}").is_file()
    pairs = [(s, t) for t in datasets for s in datasets if s != t]
    for source, target in pairs:
        for run in (1, 2):
            for file in ["history.csv", "metrics.csv", "test_probabilities.csv"]:
                assert (results / f"finetune/{source}/{target}/run{run}/{file}").is_file()

    # the runs' seeds differ: so do their trainings
    for folder in [f"pretrain/{datasets[0]}", f"finetune/{pairs[0][0]}/{pairs[0][1]}"]:
        one, two = (pd.read_csv(results / f"{folder}/run{r}/history.csv") for r in (1, 2))
        assert not np.allclose(one["loss"], two["loss"]), folder

    def ensemble(folder):
        """The argmax of the runs' mean saved probabilities, against the saved true classes."""
        frames = [pd.read_csv(results / f"{folder}/run{r}/test_probabilities.csv") for r in (1, 2)]
        true = frames[0]["true_class"].to_numpy()
        assert (frames[1]["true_class"].to_numpy() == true).all()
        mean = (frames[0].drop(columns="true_class") + frames[1].drop(columns="true_class")) / 2
        return float(np.mean(mean.to_numpy().argmax(axis=1) == true))

    def accuracies(folder):
        return [
            pd.read_csv(results / f"{folder}/run{r}/metrics.csv").loc[0, "test_accuracy"]
            for r in (1, 2)
        ]

    # scratch: the mean table, the per-run table, the spread (std with ddof 1)
    scratch = pd.read_csv(results / "scratch_accuracy.csv").set_index("dataset")
    per_run = pd.read_csv(results / "scratch_accuracy_runs.csv")
    spread = pd.read_csv(results / "scratch_accuracy_spread.csv").set_index("dataset")
    assert list(per_run.columns) == ["dataset", "run", "seed", "test_accuracy", "ensemble_accuracy"]
    assert per_run["seed"].tolist() == [seed, seed + 1] * len(datasets)
    assert per_run["run"].tolist() == [1, 2] * len(datasets)
    assert list(spread.columns) == ["mean", "std", "min", "max", "runs", "ensemble_accuracy"]
    for name in datasets:
        values = accuracies(f"pretrain/{name}")
        assert scratch.loc[name, "test_accuracy"] == pytest.approx(np.mean(values))
        assert spread.loc[name, "mean"] == pytest.approx(np.mean(values))
        assert spread.loc[name, "std"] == pytest.approx(abs(values[0] - values[1]) / np.sqrt(2))
        assert (spread.loc[name, "min"], spread.loc[name, "max"]) == (min(values), max(values))
        assert spread.loc[name, "runs"] == 2
        assert spread.loc[name, "ensemble_accuracy"] == pytest.approx(ensemble(f"pretrain/{name}"))

    # transfer: the matrix of means, the per-run table, the spread
    matrix = pd.read_csv(results / "transfer_accuracy.csv", index_col="source")
    spread = pd.read_csv(results / "transfer_accuracy_spread.csv").set_index(["source", "target"])
    per_run = pd.read_csv(results / "transfer_accuracy_runs.csv")
    assert len(per_run) == 2 * len(pairs) and set(per_run["seed"]) == {seed, seed + 1}
    for source, target in pairs:
        values = accuracies(f"finetune/{source}/{target}")
        assert matrix.loc[source, target] == pytest.approx(np.mean(values))
        row = spread.loc[(source, target)]
        assert row["std"] == pytest.approx(abs(values[0] - values[1]) / np.sqrt(2))
        assert row["ensemble_accuracy"] == pytest.approx(ensemble(f"finetune/{source}/{target}"))


def test_runs_do_not_multiply_the_dag(tmp_path, runs_config):
    target = "results/fcn/transfer_accuracy.csv"
    one = job_counts(
        run_snakemake(tmp_path / "one", {**runs_config, "runs": 1}, target, "-n").stdout
    )
    two = run_snakemake(tmp_path / "two", runs_config, target, "-n").stdout
    assert job_counts(two) == one
    assert "results/fcn/pretrain/Coffee/run2/model.h5" in two
    # one run's pair file runs only that pair's jobs
    pair = "results/fcn/finetune/Coffee/Chinatown/run2/metrics.csv"
    alone = job_counts(run_snakemake(tmp_path / "two", runs_config, pair, "-n").stdout)
    assert alone == {"pretrain": 1, "finetune": 1}


def test_a_single_run_keeps_todays_paths():
    folder = "results/{network}/finetune/{source}/{target}"
    assert (
        plan.pair_outputs(folder, True)
        == plan.pair_outputs(folder, True, 1, True)
        == {
            "metrics": f"{folder}/metrics.csv",
            "history": f"{folder}/history.csv",
            "model": f"{folder}/model.h5",
        }
    )
    assert plan.run_paths("a/b/model.h5", 1) == "a/b/model.h5"
    assert plan.run_paths("a/b/model.h5", 2) == ["a/b/run1/model.h5", "a/b/run2/model.h5"]
    assert plan.first_run("a/b/model.h5", 3) == "a/b/run1/model.h5"


def test_every_run_of_an_item_from_its_run_1_path():
    """What a job reads of an input listed by run 1's file (fine-tuning's source models, the
    gathered pair files)."""
    assert plan.every_run("a/b/model.h5", 1) == ["a/b/model.h5"]
    assert plan.every_run("a/b/run1/model.h5", 3) == [f"a/b/run{r}/model.h5" for r in (1, 2, 3)]
    first = plan.first_run("a/b/metrics.csv", 5)
    assert plan.every_run(first, 5) == plan.run_paths("a/b/metrics.csv", 5)
    with pytest.raises(ValueError, match="a/b/run2/model.h5: not a path of run 1 of 3"):
        plan.every_run("a/b/run2/model.h5", 3)


@pytest.mark.parametrize(
    "runs, message",
    [
        (0, "config key runs: 0 is less than the minimum of 1"),
        ("two", "config key runs: 'two' is not of type 'integer'"),
    ],
)
def test_bad_runs_are_refused_with_the_key_named(tmp_path, ucr_root, runs, message):
    config = {"ucr_root": str(ucr_root), "datasets": DATASETS, "runs": runs}
    result = run_snakemake(tmp_path, config, "-n", check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
