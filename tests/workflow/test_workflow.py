"""The workflow end to end on real UCR data with a few epochs: outputs, partial runs, DAG,
config rejection."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import SHORT_TRAINING, job_counts, run_snakemake

pytestmark = pytest.mark.workflow  # every test here runs Snakemake

DATASETS = ["Chinatown", "Coffee", "GunPoint"]


@pytest.fixture
def study_config(ucr_root):
    return {"ucr_root": str(ucr_root), "datasets": DATASETS, **SHORT_TRAINING}


def test_one_pair_runs_only_what_it_needs_then_the_study_completes(tmp_path, study_config):
    target = "results/fcn/finetune/Coffee/GunPoint/metrics.csv"
    dry = run_snakemake(tmp_path, study_config, target, "-n")
    assert job_counts(dry.stdout) == {"pretrain": 1, "finetune": 1}
    assert "results/fcn/pretrain/Coffee/model.h5" in dry.stdout
    assert "results/fcn/pretrain/GunPoint/model.h5" not in dry.stdout

    run_snakemake(tmp_path, study_config, target)
    assert sorted(p.name for p in (tmp_path / "results/fcn/pretrain").iterdir()) == ["Coffee"]
    metrics = pd.read_csv(tmp_path / target)
    assert metrics.loc[0, "source"] == "Coffee" and metrics.loc[0, "target"] == "GunPoint"
    assert 0 <= metrics.loc[0, "test_accuracy"] <= 1
    history = pd.read_csv(tmp_path / "results/fcn/finetune/Coffee/GunPoint/history.csv")
    assert list(history.columns) == ["epoch", "loss", "accuracy", "lr"]
    assert history["epoch"].tolist() == [1, 2]
    coffee_model = tmp_path / "results/fcn/pretrain/Coffee/model.h5"
    first_mtime = coffee_model.stat().st_mtime_ns

    # the whole study: 3 pre-trains, 6 pairs; what exists is not redone
    tables = ["results/fcn/scratch_accuracy.csv", "results/fcn/transfer_accuracy.csv"]
    dry = run_snakemake(tmp_path, study_config, *tables, "-n")
    counts = job_counts(dry.stdout)
    assert counts["pretrain"] == 2 and counts["finetune"] == 5
    run_snakemake(tmp_path, study_config, *tables)
    assert coffee_model.stat().st_mtime_ns == first_mtime

    scratch = pd.read_csv(tmp_path / "results/fcn/scratch_accuracy.csv")
    assert scratch["dataset"].tolist() == DATASETS
    assert set(scratch.columns) >= {"test_accuracy", "epochs", "best_epoch", "train_seconds"}
    assert (scratch["epochs"] == 3).all()
    matrix = pd.read_csv(tmp_path / "results/fcn/transfer_accuracy.csv", index_col="source")
    assert list(matrix.index) == DATASETS and list(matrix.columns) == DATASETS
    assert np.isnan(np.diag(matrix.values)).all()
    off_diagonal = matrix.values[~np.eye(3, dtype=bool)]
    assert ((off_diagonal >= 0) & (off_diagonal <= 1)).all()
    for source in DATASETS:
        for target_name in DATASETS:
            if source != target_name:
                pair = pd.read_csv(
                    tmp_path / f"results/fcn/finetune/{source}/{target_name}/metrics.csv"
                )
                assert matrix.loc[source, target_name] == pytest.approx(
                    pair.loc[0, "test_accuracy"]
                )

    # real HDF5 files that Keras loads back and that predict as evaluated
    import keras

    from transfer_tsc.data import load_dataset

    for name in DATASETS:
        path = tmp_path / f"results/fcn/pretrain/{name}/model.h5"
        with h5py.File(path) as f:
            assert "model_weights" in f
        model = keras.models.load_model(path, compile=False)
        dataset = load_dataset(study_config["ucr_root"], name, znormalise="auto")  # as the run
        predicted = np.asarray(model(dataset.network_input("test"), training=False)).argmax(1)
        accuracy = float(np.mean(predicted == dataset.y_test))
        assert accuracy == pytest.approx(scratch.set_index("dataset").loc[name, "test_accuracy"])

    again = run_snakemake(tmp_path, study_config, *tables, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr

    # the comparison with the paper's published results: Coffee and GunPoint are among its 85
    # datasets, Chinatown (added in 2018) is not
    comparison_path = "results/fcn/analysis/published_comparison.csv"
    run_snakemake(tmp_path, study_config, comparison_path)
    comparison = pd.read_csv(tmp_path / comparison_path)
    shared = comparison[comparison["section"] == "datasets"].iloc[0]
    assert (shared["n"], shared["n_missing"]) == (2, 1)
    per = comparison[(comparison["section"] == "scratch") & comparison["dataset"].notna()]
    assert per["dataset"].tolist() == ["Coffee", "GunPoint"]
    ours = scratch.set_index("dataset").loc[["Coffee", "GunPoint"], "test_accuracy"]
    assert per["ours"].tolist() == pytest.approx(ours.tolist())
    assert per["published"].tolist() == pytest.approx([1.0, 1.0])
    pairs = comparison[
        (comparison["section"] == "transfer")
        & (comparison["statistic"] == "mean absolute difference")
    ].iloc[0]
    assert (pairs["n"], pairs["n_missing"]) == (2, 0)  # Coffee -> GunPoint, GunPoint -> Coffee

    # analysis.names 2015: the paper's names in the analysis tables; Chinatown keeps its own
    old_names = {**study_config, "analysis": {"names": 2015}}
    run_snakemake(tmp_path, old_names, comparison_path, "results/fcn/analysis/aggregates.csv")
    comparison = pd.read_csv(tmp_path / comparison_path)
    assert set(comparison["dataset"].dropna()) == {"Coffee", "Gun_Point"}
    aggregates = pd.read_csv(tmp_path / "results/fcn/analysis/aggregates.csv")
    assert aggregates["target"].tolist() == ["Chinatown", "Coffee", "Gun_Point"]
    assert set(aggregates["best_source"]) <= {"Chinatown", "Coffee", "Gun_Point"}
    assert (tmp_path / "results/fcn/pretrain/GunPoint/model.h5").is_file()  # paths keep the study's

    # the whole study and its report on real data: the comparison with the paper has content
    run_snakemake(tmp_path, old_names)
    run_snakemake(tmp_path, old_names, "--report", "results/report.html")
    html = (tmp_path / "results/report.html").read_text()
    for part in ["published_comparison.png", "selection_methods.png", "hfawaz/bigdata18"]:
        assert part in html, part


def test_batched_groups_plan_a_link_job_per_pair(tmp_path, study_config):
    config = {**study_config, "finetune": {"epochs": 2, "group_size": 2}}
    dry = run_snakemake(tmp_path, config, "results/fcn/transfer_accuracy.csv", "-n")
    counts = job_counts(dry.stdout)
    assert counts["finetune_batch"] == 3 and counts["finetune_pair"] == 6
    assert "finetune" not in counts


def test_rulegraph_and_dag_are_drawn(tmp_path, study_config):
    rulegraph = run_snakemake(tmp_path, study_config, "--rulegraph").stdout
    assert rulegraph.lstrip().startswith("digraph")
    for rule in ["pretrain", "finetune", "scratch_accuracy", "transfer_accuracy"]:
        assert f'label = "{rule}"' in rulegraph
    assert "finetune_pair" not in rulegraph  # group_size 1: the fine-tune job writes the pair
    dag = run_snakemake(tmp_path, study_config, "--dag").stdout
    assert dag.lstrip().startswith("digraph")
    assert len(re.findall(r'label = "finetune\\n', dag)) == 6, dag


def test_demo_archive_is_generated_by_the_workflow(tmp_path):
    dry = run_snakemake(
        tmp_path, {"ucr_root": "demo", **SHORT_TRAINING}, "results/fcn/transfer_accuracy.csv", "-n"
    )
    counts = job_counts(dry.stdout)
    assert counts["demo_dataset"] == 3 and counts["pretrain"] == 3 and counts["finetune"] == 6


@pytest.mark.parametrize(
    "config, message",
    [
        (
            {"finetune": {"epochs": -1}},
            "config key finetune.epochs: -1 is less than the minimum of 1",
        ),
        ({"pretrain": {"epoch": 3}}, "config key pretrain.epoch: unknown key"),
        ({"colour": "red"}, "config key colour: unknown key"),
        (
            {"datasets": ["Coffee", "NoSuchData"]},
            "config key datasets: NoSuchData not found in ucr_root",
        ),
    ],
)
def test_bad_config_is_refused_with_the_key_named(tmp_path, ucr_root, config, message):
    result = run_snakemake(tmp_path, {"ucr_root": str(ucr_root), **config}, "-n", check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
