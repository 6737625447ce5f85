"""The network as a dimension of the study (issue 24): one study per network under
results/<network>/, each with its own recipe, and the agreement of their gains across networks
(results/across_networks/), on the demo archive with a few epochs."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SHORT_TRAINING, job_counts, run_snakemake

pytestmark = pytest.mark.workflow  # every test here runs Snakemake

NETWORKS = ["fcn", "resnet", "inception"]
DEMO = ["CBF", "SyntheticControl", "TwoPatterns"]


def test_one_networks_pair_runs_only_that_networks_work(tmp_path):
    config = {"ucr_root": "demo", "networks": NETWORKS, **SHORT_TRAINING}
    target = "results/resnet/finetune/CBF/TwoPatterns/metrics.csv"
    dry = run_snakemake(tmp_path, config, target, "-n")
    counts = job_counts(dry.stdout)
    assert (counts["pretrain"], counts["finetune"]) == (1, 1)
    assert "results/resnet/pretrain/CBF/model.h5" in dry.stdout
    assert "results/fcn/" not in dry.stdout and "results/inception/" not in dry.stdout


def test_networks_side_by_side_and_their_agreement(tmp_path):
    config = {
        "ucr_root": "demo",
        "networks": NETWORKS,
        **SHORT_TRAINING,
        "finetune": {"epochs": 2, "group_size": 3},  # one batched job per target and network
        # ResNet's own pre-training length: 2 epochs where the others train 3
        "network_settings": {"resnet": {"pretrain": {"epochs": 2}}},
    }
    outputs = [
        "results/across_networks/agreement.csv",
        "results/across_networks/agreement_summary.csv",
        "results/across_networks/agreement.png",
    ]
    dry = run_snakemake(tmp_path, config, *outputs, "-n")
    counts = job_counts(dry.stdout)
    assert counts["pretrain"] == 3 * 3 and counts["finetune_batch"] == 3 * 3
    assert counts["across_networks"] == 1 and counts["prototypes"] == 3  # prototypes are shared

    # run with the two new networks (the FCN's study is the rest of the suite's): a few minutes
    ran = ["resnet", "inception"]
    config["networks"] = ran
    run_snakemake(tmp_path, config, *outputs)
    import keras

    for network in ran:
        scratch = pd.read_csv(tmp_path / f"results/{network}/scratch_accuracy.csv")
        assert scratch["dataset"].tolist() == DEMO
        assert scratch["epochs"].tolist() == [2 if network == "resnet" else 3] * 3
        model = keras.models.load_model(
            tmp_path / f"results/{network}/pretrain/CBF/model.h5", compile=False
        )
        assert model.name == network
        matrix = pd.read_csv(tmp_path / f"results/{network}/transfer_accuracy.csv", index_col=0)
        assert int(matrix.notna().sum().sum()) == 6

    table = pd.read_csv(tmp_path / "results/across_networks/agreement.csv")
    pairs = sorted(set(zip(table["network_a"], table["network_b"])))
    assert pairs == [("inception", "resnet")]
    assert len(table) == 3 and (table["sources"] == 2).all()
    assert table["sign_agreement"].between(0, 1).all()
    # the nearest source is the DTW neighbours' first among the target's sources
    neighbours = pd.read_csv(tmp_path / "results/similarity/neighbours.csv")
    first = neighbours[neighbours["rank"] == 1].set_index("target")["source"]
    assert (table["nearest_source"] == table["target"].map(first)).all()
    # its gains are the fine-tuned minus the scratch accuracy of that network
    row = table.iloc[0]
    network = row["network_a"]
    matrix = pd.read_csv(tmp_path / f"results/{network}/transfer_accuracy.csv", index_col=0)
    scratch = pd.read_csv(tmp_path / f"results/{network}/scratch_accuracy.csv")
    expected = (
        matrix.loc[row["nearest_source"], row["target"]]
        - scratch.set_index("dataset").loc[row["target"], "test_accuracy"]
    )
    assert row["nearest_gain_a"] == pytest.approx(expected)
    summary = pd.read_csv(tmp_path / "results/across_networks/agreement_summary.csv")
    assert len(summary) == 1 and (summary["targets"] == 3).all()
    assert (tmp_path / "results/across_networks/agreement.svg").stat().st_size > 0


def test_a_single_network_has_no_across_networks_analysis(tmp_path):
    dry = run_snakemake(tmp_path, {"ucr_root": "demo", **SHORT_TRAINING}, "-n")
    counts = job_counts(dry.stdout)
    assert "across_networks" not in counts and counts["pretrain"] == 3
    assert "results/resnet/" not in dry.stdout
