"""Choosing sources without fine-tuning (issue 15): the transferability rules on real UCR data,
checked against scores computed here from the saved models, and the <score>:K budget mode."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import SHORT_TRAINING, job_counts, run_snakemake

from transfer_tsc import data, study, transferability
from transfer_tsc.errors import InputError

DATASETS = ["BME", "Chinatown", "ItalyPowerDemand"]  # 3, 2 and 2 classes; lengths 128, 24, 24
COLUMNS = ["target", "source", "leep", "nce", "logme", "hscore", "seconds"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory, ucr_root):
    """A copy of three datasets of the subset, so a test may take a file away."""
    root = tmp_path_factory.mktemp("archive")
    for name in DATASETS:
        shutil.copytree(ucr_root / name, root / name)
    return root


@pytest.fixture(scope="module")
def scored(tmp_path_factory, archive):
    workdir = tmp_path_factory.mktemp("study")
    config = {"ucr_root": str(archive), "datasets": DATASETS, **SHORT_TRAINING}
    run_snakemake(workdir, config, "results/fcn/transferability/scores.csv")
    return workdir, config


def _by_hand(model_path, series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Softmax outputs and GAP features computed here: the convolutional trunk up to the GAP
    layer by Keras, the softmax from the Dense layer's weights with numpy."""
    import keras

    model = keras.models.load_model(model_path, compile=False)
    trunk = keras.Model(model.inputs, model.get_layer("gap").output)
    features = np.asarray(trunk.predict(series, verbose=0), dtype=np.float64)
    kernel, bias = (
        np.asarray(w, dtype=np.float64) for w in model.get_layer("softmax").get_weights()
    )
    logits = features @ kernel + bias
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, features


@pytest.mark.workflow
def test_every_pair_is_scored_as_computed_from_the_model_here(scored, archive):
    workdir, _ = scored
    table = pd.read_csv(workdir / "results/fcn/transferability/scores.csv")
    assert list(table.columns) == COLUMNS
    pairs = {(row.source, row.target) for row in table.itertuples()}
    assert pairs == {(s, t) for s in DATASETS for t in DATASETS if s != t}
    assert np.isfinite(table[list(transferability.SCORES)].to_numpy()).all()
    assert (table["seconds"] > 0).all()
    assert (table["leep"] <= 0).all() and (table["nce"] <= 1e-12).all()
    for target in DATASETS:
        per_target = pd.read_csv(workdir / f"results/fcn/transferability/{target}.csv")
        assert sorted(per_target["source"]) == [d for d in DATASETS if d != target]
    # one pair by hand: BME (3 classes) as the target of the Chinatown model; the pipeline's
    # default data.znormalise auto normalises BME, as here
    target = data.load_dataset(archive, "BME", znormalise="auto")
    probabilities, features = _by_hand(
        workdir / "results/fcn/pretrain/Chinatown/model.h5", target.network_input("train")
    )
    expected = transferability.scores(probabilities, features, target.y_train)
    row = table[(table["source"] == "Chinatown") & (table["target"] == "BME")].iloc[0]
    for score, value in expected.items():
        assert row[score] == pytest.approx(value, rel=1e-4, abs=1e-5), score


@pytest.mark.workflow
def test_the_scores_never_read_the_target_test_split(scored, archive):
    workdir, config = scored
    moved = archive / "ItalyPowerDemand" / "ItalyPowerDemand_TEST.tsv"
    kept = archive.parent / "ItalyPowerDemand_TEST.kept"
    (workdir / "results/fcn/transferability/ItalyPowerDemand.csv").unlink()
    moved.rename(kept)
    try:
        run_snakemake(workdir, config, "results/fcn/transferability/ItalyPowerDemand.csv")
    finally:
        kept.rename(moved)
    table = pd.read_csv(workdir / "results/fcn/transferability/ItalyPowerDemand.csv")
    assert sorted(table["source"]) == ["BME", "Chinatown"]


@pytest.mark.workflow
def test_a_score_budget_fine_tunes_each_target_best_sources(scored):
    workdir, config = scored
    budget = {**config, "finetune": {**SHORT_TRAINING["finetune"], "sources": "logme:1"}}
    run_snakemake(workdir, budget, "results/fcn/finetune/selection.csv")
    selection = pd.read_csv(workdir / "results/fcn/finetune/selection.csv")
    scores = pd.read_csv(workdir / "results/fcn/transferability/scores.csv")
    best = scores.loc[scores.groupby("target")["logme"].idxmax()]
    assert dict(zip(selection["target"], selection["source"])) == dict(
        zip(best["target"], best["source"])
    )
    assert (selection["rank"] == 1).all()
    dry = run_snakemake(workdir, budget, "results/fcn/transfer_accuracy.csv", "-n")
    assert job_counts(dry.stdout).get("finetune") == len(DATASETS)


def test_rank_by_score_orders_highest_first_with_ties_by_name():
    scores = pd.DataFrame(
        {
            "target": ["T", "T", "T", "U", "U"],
            "source": ["b", "a", "c", "T", "a"],
            "logme": [0.5, 0.5, 0.9, -1.0, -2.0],
        }
    )
    ranked = study.rank_by_score(scores, "logme")
    t = ranked[ranked["target"] == "T"]
    assert t["source"].tolist() == ["c", "a", "b"] and t["rank"].tolist() == [1, 2, 3]
    assert ranked[ranked["target"] == "U"]["source"].tolist() == ["T", "a"]
    full = pd.DataFrame(
        {
            "target": ["a", "a", "b", "b", "c", "c"],
            "source": ["b", "c", "a", "c", "a", "b"],
            "logme": [1.0, 2.0, 3.0, 3.0, 0.0, -1.0],
        }
    )
    picked = study.scored_sources(full, ["a", "b", "c"], 1, "logme")
    assert dict(zip(picked["target"], picked["source"])) == {"a": "c", "b": "a", "c": "a"}
    assert len(study.scored_sources(full, ["a", "b", "c"], 5, "logme")) == 6
    with pytest.raises(InputError, match="no scores for target"):
        study.scored_sources(full, ["a", "b", "c", "d"], 1, "logme")
    with pytest.raises(InputError, match="transferability score 'dtw'"):
        study.rank_by_score(scores, "dtw")


@pytest.mark.parametrize("spec", ["logme:3", "leep:1", "nce:2", "hscore:5"])
def test_parse_budget_accepts_every_score(spec):
    mode, k = study.parse_budget(spec)
    assert (mode, str(k)) == tuple(spec.split(":"))


@pytest.mark.workflow
def test_the_selection_methods_table_compares_every_method_on_the_fine_tuned_pairs(scored):
    """The same study fine-tuned (6 pairs, short): the comparison of DTW, the scores, random and
    the oracle covers the 3 targets and 6 pairs, and its DTW row is Fig. 6's summary."""
    from transfer_tsc.report import analysis, selection

    workdir, config = scored
    run_snakemake(
        workdir,
        config,
        "results/fcn/analysis/selection_methods.png",
        "results/fcn/analysis/dtw_vs_random.csv",
    )
    analyses = workdir / "results/fcn/analysis"
    summary = analysis.read_table(analyses / "selection_methods.csv", selection.SUMMARY_COLUMNS)
    assert list(summary["method"]) == list(selection.METHODS)
    assert (summary["n_targets"] == 3).all() and (summary["n_pairs"] == 6).all()
    assert (
        (summary[["targets_unranked", "targets_left_out", "pairs_unranked", "pairs_not_run"]] == 0)
        .all()
        .all()
    )
    assert (summary["regret"] >= -1e-12).all()
    oracle = selection.method_row(summary, "oracle")
    assert oracle["regret"] == 0 and oracle["accuracy"] == pytest.approx(oracle["best_accuracy"])
    chosen = summary[summary["method"] != "random"]
    assert (chosen[["wins", "ties", "losses"]].sum(axis=1) == 3).all()
    fig6 = analysis.dtw_summary(pd.read_csv(analyses / "dtw_vs_random.csv"))
    dtw = selection.method_row(summary, "dtw")
    for column in ("wins", "ties", "losses", "n_targets"):
        assert dtw[column] == fig6[column], column
    assert dtw["accuracy"] == pytest.approx(fig6["dtw_accuracy"])
    targets = pd.read_csv(analyses / "selection_methods_by_target.csv")
    assert len(targets) == 3 * len(selection.METHODS) and set(targets["target"]) == set(DATASETS)
    assert (analyses / "selection_methods.png").stat().st_size > 2000
