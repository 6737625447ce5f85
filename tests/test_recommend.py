"""Recommend a source for a held-out dataset (sections III-C, V-C) on the real UCR subset: the
command's ranking is the one Algorithm 1's distance gives, its CSV, fine-tuning on a partial
study, the Snakemake target, and its errors."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SHORT_TRAINING, VENV_BIN, run_snakemake

from transfer_tsc.data import load_dataset
from transfer_tsc.similarity import distances as similarity
from transfer_tsc.similarity import dtw, prototypes
from transfer_tsc.transferability import SCORES

STUDY = ["Coffee", "ECG200", "ItalyPowerDemand", "MoteStrain"]
PRETRAINED = ["ItalyPowerDemand", "MoteStrain"]  # a partial study: two models of four
HELD_OUT = "BME"
# next to distance when the sources have models: dtw_rank, then each score and its rank
SCORE_COLUMNS = ["dtw_rank", *[c for score in SCORES for c in (score, f"{score}_rank")]]
# the table's columns before the scores and after them
RANKING_COLUMNS = ["dataset", "rank", "source", "distance"]
SOURCE_COLUMNS = ["source_classes", "source_train_size"]


def transfer_tsc(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The installed console script."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [str(VENV_BIN / "transfer-tsc"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env=env,
    )


def recommend(ucr_root, study, *args: str) -> subprocess.CompletedProcess:
    """``transfer-tsc recommend`` of the held-out dataset against the results folder ``study``."""
    return transfer_tsc(
        "recommend", "--dataset", str(ucr_root / HELD_OUT), "--study", str(study), *args
    )


def terminal(stdout: str) -> tuple[list[str], str]:
    """The command's printed table rows (without the header) and its last line, what the
    chosen method picks."""
    lines = stdout.strip().splitlines()
    return lines[1:-1], lines[-1]


def best_by(scores: pd.DataFrame, score: str) -> str:
    """The source with the highest ``score`` (ties by name) of a source-indexed table."""
    return (
        scores.reset_index()
        .sort_values([score, "source"], ascending=[False, True])["source"]
        .iloc[0]
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory, ucr_root):
    """A partial study: prototypes and DTW neighbours of four datasets, two pre-trained."""
    workdir = tmp_path_factory.mktemp("study")
    config = {"ucr_root": str(ucr_root), "datasets": STUDY, **SHORT_TRAINING}
    run_snakemake(
        workdir,
        config,
        "results/similarity/neighbours.csv",
        *[f"results/fcn/pretrain/{name}/model.h5" for name in PRETRAINED],
    )
    return workdir, config


def expected_ranking(ucr_root, study_dir) -> pd.DataFrame:
    """The held-out dataset's neighbours straight from the similarity module: its prototypes
    from ``prototypes.class_prototypes`` and the study's, through ``similarity.dataset_matrix``
    and ``similarity.neighbours`` (the functions the study's own ranking comes from)."""
    held = load_dataset(ucr_root, HELD_OUT, znormalise="auto")  # as the study did
    mine = prototypes.class_prototypes(HELD_OUT, held.series("train"), held.y_train, held.classes)
    theirs = {
        n: prototypes.read_prototypes(study_dir / f"results/prototypes/{n}.h5") for n in STUDY
    }
    assert {p.iterations for p in theirs.values()} == {10}
    matrix, _ = similarity.dataset_matrix(
        {HELD_OUT: mine.prototypes, **{n: p.prototypes for n, p in theirs.items()}}
    )
    table = similarity.neighbours(matrix)
    return table[table["target"] == HELD_OUT].reset_index(drop=True)


@pytest.mark.workflow
def test_ranking_equals_the_distance_function_and_the_csv(study, ucr_root, tmp_path):
    study_dir, _ = study
    out = tmp_path / "recommendations.csv"
    result = recommend(ucr_root, study_dir / "results", "--top", "0", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == [*RANKING_COLUMNS, *SCORE_COLUMNS, *SOURCE_COLUMNS]
    expected = expected_ranking(ucr_root, study_dir)
    assert table["source"].tolist() == expected["source"].tolist()
    assert sorted(table["source"]) == STUDY
    np.testing.assert_allclose(table["distance"], expected["distance"], rtol=1e-9)
    assert table["rank"].tolist() == [1, 2, 3, 4]
    assert table["dtw_rank"].tolist() == [1, 2, 3, 4]  # dtw (the default) orders the table
    assert (table["dataset"] == HELD_OUT).all()
    # the same distance by hand: min over prototype pairs of squared DTW
    held = load_dataset(ucr_root, HELD_OUT, znormalise="auto")
    mine = prototypes.class_prototypes(HELD_OUT, held.series("train"), held.y_train, held.classes)
    nearest = prototypes.read_prototypes(
        study_dir / f"results/prototypes/{table.loc[0, 'source']}.h5"
    )
    by_hand = min(dtw.cross([a], [b])[0, 0] for a in mine.prototypes for b in nearest.prototypes)
    assert table.loc[0, "distance"] == pytest.approx(by_hand, rel=1e-9)
    # metadata of the sources, from their prototype files
    train_sizes = {"Coffee": 28, "ECG200": 100, "ItalyPowerDemand": 67, "MoteStrain": 20}
    assert dict(zip(table["source"], table["source_train_size"])) == train_sizes
    assert (table["source_classes"] == 2).all()
    # the terminal table lists them in the same order, then what dtw picks
    rows, picked = terminal(result.stdout)
    assert [line.split()[1] for line in rows] == table["source"].tolist()
    assert picked.startswith(f"dtw picks {table.loc[0, 'source']} (leep would pick ")
    assert "no pre-trained model (yet) for Coffee, ECG200" in picked

    # --no-scores: the ranking alone, as before the scores (no model is loaded)
    top2 = recommend(
        ucr_root,
        study_dir / "results",
        "--top",
        "2",
        "--no-scores",
        "--out",
        str(tmp_path / "top2.csv"),
    )
    assert top2.returncode == 0, top2.stderr
    rows, picked = terminal(top2.stdout)
    assert len(rows) == 2 and picked == f"dtw picks {table.loc[0, 'source']}"
    top2_table = pd.read_csv(tmp_path / "top2.csv")
    assert list(top2_table.columns) == [*RANKING_COLUMNS, *SOURCE_COLUMNS]
    pd.testing.assert_frame_equal(top2_table, table[top2_table.columns].head(2))


@pytest.mark.workflow
def test_ranked_by_a_transferability_score(study, ucr_root, tmp_path):
    """--score logme: the sources with a model ordered by LogME (the values transfer.score_sources
    gives for the held-out dataset as the study loads it), those without one last by distance."""
    study_dir, _ = study
    results = study_dir / "results"
    out = tmp_path / "logme.csv"
    result = recommend(ucr_root, results, "--top", "0", "--score", "logme", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == [*RANKING_COLUMNS, *SCORE_COLUMNS, *SOURCE_COLUMNS]
    assert table["rank"].tolist() == [1, 2, 3, 4]
    scored = table["source"].isin(PRETRAINED)
    assert scored.tolist() == [True, True, False, False]  # the scored sources first
    assert table["logme"].head(2).is_monotonic_decreasing
    assert table["logme_rank"].head(2).tolist() == [1, 2]  # rank is the logme rank
    # the unscored ones: empty scores and ranks, after the scored ones, nearest first
    for score in SCORES:
        assert table.loc[~scored, [score, f"{score}_rank"]].isna().all().all(), score
        ranked = table.loc[scored].sort_values([score, "source"], ascending=[False, True])
        assert ranked[f"{score}_rank"].tolist() == [1, 2], score
    assert table.loc[~scored, "distance"].is_monotonic_increasing
    # dtw_rank and distance as the DTW ranking
    expected = expected_ranking(ucr_root, study_dir)
    by_dtw = table.sort_values("dtw_rank")
    assert by_dtw["dtw_rank"].tolist() == [1, 2, 3, 4]
    assert by_dtw["source"].tolist() == expected["source"].tolist()
    np.testing.assert_allclose(by_dtw["distance"], expected["distance"], rtol=1e-9)
    # the scores: one forward pass of BME's train split through each model, computed here
    from transfer_tsc.training.transfer import score_sources  # loads TensorFlow

    held = load_dataset(ucr_root, HELD_OUT, znormalise="auto")  # as the study did
    models = {name: results / f"fcn/pretrain/{name}/model.h5" for name in PRETRAINED}
    independent = score_sources(held, models, log=lambda line: None).set_index("source")
    for score in SCORES:
        np.testing.assert_allclose(
            table.loc[scored].set_index("source")[score],
            independent.loc[table.loc[scored, "source"], score],
            rtol=1e-5,
            err_msg=score,
        )
    # the terminal: the same order, and what logme (and every other method) picks
    rows, picked = terminal(result.stdout)
    assert [line.split()[1] for line in rows] == table["source"].tolist()
    assert picked.startswith(
        f"logme picks {table.loc[0, 'source']} (dtw would pick {expected.loc[0, 'source']}, leep "
    )
    for score in ("leep", "nce", "hscore"):
        best = best_by(independent, score)
        assert f"{score} {best}" in picked, score
    assert (
        "scores of 2 of 4 sources: no pre-trained model (yet) for Coffee, ECG200, ranked "
        "after the scored ones by logme"
    ) in picked

    # --top 1 cuts the logme order, and the ranks are still among all the sources
    top1 = recommend(
        ucr_root, results, "--top", "1", "--score", "hscore", "--out", str(tmp_path / "hscore.csv")
    )
    assert top1.returncode == 0, top1.stderr
    first = pd.read_csv(tmp_path / "hscore.csv")
    assert len(first) == 1 and first.loc[0, "hscore_rank"] == 1
    assert first.loc[0, "source"] == best_by(independent, "hscore")
    assert first.loc[0, "dtw_rank"] == int(
        by_dtw.set_index("source").loc[first.loc[0, "source"], "dtw_rank"]
    )
    assert terminal(top1.stdout)[1].startswith(
        f"hscore picks {first.loc[0, 'source']} (dtw would pick "
    )


@pytest.mark.workflow
def test_prototypes_only_study(study, ucr_root, tmp_path):
    """No pre-trained model yet: --score dtw ranks by the prototypes as before, a score is
    refused."""
    study_dir, _ = study
    only = tmp_path / "results"
    shutil.copytree(study_dir / "results/prototypes", only / "prototypes")
    out = tmp_path / "dtw.csv"
    dtw = recommend(ucr_root, only, "--top", "0", "--out", str(out))
    assert dtw.returncode == 0, dtw.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == [*RANKING_COLUMNS, *SOURCE_COLUMNS]
    assert table["source"].tolist() == expected_ranking(ucr_root, study_dir)["source"].tolist()
    assert terminal(dtw.stdout)[1] == f"dtw picks {table.loc[0, 'source']}"
    assert "no transferability scores" in dtw.stderr
    refused = recommend(ucr_root, only, "--score", "leep")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("Error: --score leep needs the sources' pre-trained models")


@pytest.mark.workflow
def test_finetune_on_a_partial_study(study, ucr_root, tmp_path):
    study_dir, _ = study
    out = tmp_path / "finetuned.csv"
    result = recommend(
        ucr_root,
        study_dir / "results",
        "--top",
        "3",
        "--score",
        "nce",
        "--finetune",
        "--epochs",
        "1",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    # the top 3 by nce: the two scored sources, then the nearest unscored one
    assert len(table) == 3 and sorted(table["source"].head(2)) == PRETRAINED
    assert table["nce"].head(2).is_monotonic_decreasing and table["nce"].iloc[2:].isna().all()
    assert table["nce_rank"].head(2).tolist() == [1, 2]  # ties (a constant argmax) by name
    dtw_order = expected_ranking(ucr_root, study_dir)["source"].tolist()
    assert table.loc[2, "source"] == next(s for s in dtw_order if s not in PRETRAINED)
    for column in ("transfer_accuracy", "scratch_accuracy", "gain"):
        assert column in table.columns
    with_model = table["source"].isin(PRETRAINED)
    assert table.loc[with_model, "transfer_accuracy"].between(0, 1).all()
    assert table.loc[~with_model, "transfer_accuracy"].isna().all()
    assert "no pre-trained model (yet) for" in result.stderr
    scratch = table["scratch_accuracy"].unique()
    assert len(scratch) == 1 and 0 <= scratch[0] <= 1
    np.testing.assert_allclose(
        table.loc[with_model, "gain"],
        table.loc[with_model, "transfer_accuracy"] - scratch[0],
    )
    # accuracies are multiples of 1 / n_test
    n_test = len(load_dataset(ucr_root, HELD_OUT).y_test)
    for value in table.loc[with_model, "transfer_accuracy"]:
        assert math.isclose(value * n_test, round(value * n_test), abs_tol=1e-6)


@pytest.mark.workflow
def test_snakemake_target(study, ucr_root, tmp_path):
    study_dir, config = study
    config = {**config, "recommend": {"dataset": str(ucr_root / HELD_OUT), "top": 2}}
    target = f"results/fcn/recommend/{HELD_OUT}/recommendations.csv"
    run_snakemake(study_dir, config, target)
    table = pd.read_csv(study_dir / target)
    assert table["source"].tolist() == expected_ranking(ucr_root, study_dir)["source"].tolist()[:2]
    assert "transfer_accuracy" not in table.columns
    # with fine-tuning, only the missing models of the top 3 are pre-trained
    config["recommend"].update(finetune=True, top=3)
    dry = run_snakemake(study_dir, config, target, "-n")
    top3 = expected_ranking(ucr_root, study_dir)["source"].tolist()[:3]
    missing = [s for s in top3 if s not in PRETRAINED]
    assert missing  # the ranking of this subset puts an untrained source in the top 3
    for name in STUDY:
        scheduled = f"output: results/fcn/pretrain/{name}/model.h5" in dry.stdout
        assert scheduled == (name in missing), name
    assert "recommend:" in dry.stdout
    # a name that is not the configured dataset matches no rule
    other = run_snakemake(
        study_dir, config, "results/fcn/recommend/Chinatown/recommendations.csv", "-n", check=False
    )
    assert other.returncode != 0

    # recommend.score logme: every source's model is scored, so every missing one is pre-trained
    config["recommend"].update(finetune=False, top=2, score="logme")
    dry = run_snakemake(study_dir, config, target, "-n")
    for name in STUDY:
        assert (f"output: results/fcn/pretrain/{name}/model.h5" in dry.stdout) == (
            name not in PRETRAINED
        )
    # on the pre-trained pair (a copy of the study's files): the table ordered by logme
    copy = tmp_path / "pair"
    shutil.copytree(study_dir / "results/fcn/pretrain", copy / "results/fcn/pretrain")
    shutil.copytree(study_dir / "results/prototypes", copy / "results/prototypes")
    run_snakemake(copy, {**config, "datasets": PRETRAINED}, target)
    table = pd.read_csv(copy / target)
    assert sorted(table["source"]) == PRETRAINED and table["rank"].tolist() == [1, 2]
    assert table["logme_rank"].tolist() == [1, 2] and table["logme"].is_monotonic_decreasing
    assert table[list(SCORES)].notna().all().all()
    assert (
        "logme picks " + table.loc[0, "source"]
        in (copy / f"logs/fcn/recommend/{HELD_OUT}.log").read_text()
    )


@pytest.mark.workflow
def test_errors_name_the_file(study, ucr_root, tmp_path):
    study_dir, _ = study
    results = str(study_dir / "results")

    missing = transfer_tsc("recommend", "--dataset", str(tmp_path / "Nowhere"), "--study", results)
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: ") and str(tmp_path / "Nowhere") in missing.stderr
    assert "Traceback" not in missing.stderr

    half = tmp_path / "Half"
    half.mkdir()
    shutil.copy(ucr_root / HELD_OUT / f"{HELD_OUT}_TRAIN.tsv", half / "Half_TRAIN.tsv")
    no_test = transfer_tsc("recommend", "--dataset", str(half), "--study", results)
    assert no_test.returncode == 1 and "Half_TEST" in no_test.stderr
    assert "Traceback" not in no_test.stderr

    gaps = transfer_tsc(
        "recommend", "--dataset", str(ucr_root / "DodgerLoopDay"), "--study", results
    )
    assert gaps.returncode == 1 and "DodgerLoopDay_TRAIN.tsv: row" in gaps.stderr
    assert "--fill-missing" in gaps.stderr

    empty = tmp_path / "empty_results"
    empty.mkdir()
    nothing = recommend(ucr_root, empty)
    assert nothing.returncode == 1 and "no source to rank" in nothing.stderr

    no_study = recommend(ucr_root, tmp_path / "none")
    assert no_study.returncode == 1 and str(tmp_path / "none") in no_study.stderr

    # a corrupt prototype file is refused by name
    broken = tmp_path / "broken/results"
    shutil.copytree(study_dir / "results/prototypes", broken / "prototypes")
    (broken / "prototypes/Coffee.h5").write_bytes(b"not hdf5")
    corrupt = recommend(ucr_root, broken)
    assert corrupt.returncode == 1 and "Coffee.h5" in corrupt.stderr
    assert "Traceback" not in corrupt.stderr


def test_cli_help_and_usage_errors():
    # the parser loads no TensorFlow (a quick --help)
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from transfer_tsc import cli; cli.parser(); print('tensorflow' in "
            "sys.modules)",
        ],
        capture_output=True,
        text=True,
    )
    assert check.stdout.strip() == "False", check.stderr
    shown = transfer_tsc("--help")
    assert shown.returncode == 0
    assert all(c in shown.stdout for c in ("recommend", "export-zoo", "verify-zoo"))
    both = transfer_tsc("recommend", "--dataset", "X", "--study", "a", "--zoo", "b")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    negative = transfer_tsc("recommend", "--dataset", "X", "--study", "a", "--top", "-1")
    assert negative.returncode == 2 and "negative" in negative.stderr
    bad_score = transfer_tsc("recommend", "--dataset", "X", "--study", "a", "--score", "accuracy")
    assert bad_score.returncode == 2
    assert "argument --score: invalid choice: 'accuracy' (choose from " in bad_score.stderr
    assert all(method in bad_score.stderr for method in ("dtw", "leep", "nce", "logme", "hscore"))
    no_scores = transfer_tsc(
        "recommend", "--dataset", "X", "--study", "a", "--score", "leep", "--no-scores"
    )
    assert (
        no_scores.returncode == 2
        and "--no-scores: not allowed with --score leep" in no_scores.stderr
    )
    described = transfer_tsc("recommend", "--help")
    assert "--score {dtw,leep,nce,logme,hscore}" in described.stdout


@pytest.mark.workflow
def test_snakemake_refuses_a_missing_recommend_dataset(tmp_path, ucr_root):
    config = {
        "ucr_root": str(ucr_root),
        "datasets": ["Coffee", "GunPoint"],
        "recommend": {"dataset": str(tmp_path / "NoSuch")},
    }
    refused = run_snakemake(
        tmp_path / "run",
        config,
        "results/fcn/recommend/NoSuch/recommendations.csv",
        "-n",
        check=False,
    )
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert (
        f"Error: config key recommend.dataset: dataset 'NoSuch': no folder {tmp_path / 'NoSuch'}"
        in output
    )
    assert "Traceback" not in output
    # the study's own targets do not read it
    run_snakemake(tmp_path / "run", config, "results/fcn/scratch_accuracy.csv", "-n")
