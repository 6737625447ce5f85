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
from transfer_tsc import prototypes, similarity
from transfer_tsc.data import load_dataset

STUDY = ["Coffee", "ECG200", "ItalyPowerDemand", "MoteStrain"]
PRETRAINED = ["ItalyPowerDemand", "MoteStrain"]  # a partial study: two models of four
HELD_OUT = "BME"


def transfer_tsc(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The installed console script."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [str(VENV_BIN / "transfer-tsc"), *args],
        capture_output=True, text=True, timeout=600, cwd=cwd, env=env,
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory, ucr_root):
    """A partial study: prototypes and DTW neighbours of four datasets, two pre-trained."""
    workdir = tmp_path_factory.mktemp("study")
    config = {"ucr_root": str(ucr_root), "datasets": STUDY, **SHORT_TRAINING}
    run_snakemake(
        workdir, config, "results/similarity/neighbours.csv",
        *[f"results/pretrain/{name}/model.h5" for name in PRETRAINED],
    )
    return workdir, config


def expected_ranking(ucr_root, study_dir) -> pd.DataFrame:
    """The held-out dataset's neighbours straight from the similarity module: its prototypes
    from ``prototypes.class_prototypes`` and the study's, through ``similarity.dataset_matrix``
    and ``similarity.neighbours`` (the functions the study's own ranking comes from)."""
    held = load_dataset(ucr_root, HELD_OUT, znormalise="auto")  # as the study did
    mine = prototypes.class_prototypes(HELD_OUT, held.series("train"), held.y_train, held.classes)
    theirs = {n: prototypes.read_prototypes(study_dir / f"results/prototypes/{n}.h5") for n in STUDY}
    assert {p.iterations for p in theirs.values()} == {10}
    matrix, _ = similarity.dataset_matrix(
        {HELD_OUT: mine.prototypes, **{n: p.prototypes for n, p in theirs.items()}}
    )
    table = similarity.neighbours(matrix)
    return table[table["target"] == HELD_OUT].reset_index(drop=True)


def test_ranking_equals_the_distance_function_and_the_csv(study, ucr_root, tmp_path):
    study_dir, _ = study
    out = tmp_path / "recommendations.csv"
    result = transfer_tsc(
        "recommend", "--dataset", str(ucr_root / HELD_OUT), "--study", str(study_dir / "results"),
        "--top", "0", "--out", str(out),
    )
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "dataset", "rank", "source", "distance", "source_classes", "source_train_size",
    ]
    expected = expected_ranking(ucr_root, study_dir)
    assert table["source"].tolist() == expected["source"].tolist()
    assert sorted(table["source"]) == STUDY
    np.testing.assert_allclose(table["distance"], expected["distance"], rtol=1e-9)
    assert table["rank"].tolist() == [1, 2, 3, 4]
    assert (table["dataset"] == HELD_OUT).all()
    # the same distance by hand: min over prototype pairs of squared DTW
    held = load_dataset(ucr_root, HELD_OUT, znormalise="auto")
    mine = prototypes.class_prototypes(HELD_OUT, held.series("train"), held.y_train, held.classes)
    nearest = prototypes.read_prototypes(study_dir / f"results/prototypes/{table.loc[0, 'source']}.h5")
    by_hand = min(similarity.distance(a, b) for a in mine.prototypes for b in nearest.prototypes)
    assert table.loc[0, "distance"] == pytest.approx(by_hand, rel=1e-9)
    # metadata of the sources, from their prototype files
    train_sizes = {"Coffee": 28, "ECG200": 100, "ItalyPowerDemand": 67, "MoteStrain": 20}
    assert dict(zip(table["source"], table["source_train_size"])) == train_sizes
    assert (table["source_classes"] == 2).all()
    # the terminal table lists them in the same order
    shown = [line.split()[1] for line in result.stdout.strip().splitlines()[1:]]
    assert shown == table["source"].tolist()

    top2 = transfer_tsc(
        "recommend", "--dataset", str(ucr_root / HELD_OUT), "--study", str(study_dir / "results"),
        "--top", "2",
    )
    assert top2.returncode == 0, top2.stderr
    assert len(top2.stdout.strip().splitlines()) == 3  # header + 2 rows


def test_finetune_on_a_partial_study(study, ucr_root, tmp_path):
    study_dir, _ = study
    out = tmp_path / "finetuned.csv"
    result = transfer_tsc(
        "recommend", "--dataset", str(ucr_root / HELD_OUT), "--study", str(study_dir / "results"),
        "--top", "4", "--finetune", "--epochs", "1", "--out", str(out),
    )
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
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


def test_snakemake_target(study, ucr_root):
    study_dir, config = study
    config = {**config, "recommend": {"dataset": str(ucr_root / HELD_OUT), "top": 2}}
    target = f"results/recommend/{HELD_OUT}/recommendations.csv"
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
        scheduled = f"output: results/pretrain/{name}/model.h5" in dry.stdout
        assert scheduled == (name in missing), name
    assert "recommend:" in dry.stdout
    # a name that is not the configured dataset matches no rule
    other = run_snakemake(study_dir, config, "results/recommend/Chinatown/recommendations.csv",
                          "-n", check=False)
    assert other.returncode != 0


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

    gaps = transfer_tsc("recommend", "--dataset", str(ucr_root / "DodgerLoopDay"), "--study", results)
    assert gaps.returncode == 1 and "DodgerLoopDay_TRAIN.tsv: row" in gaps.stderr
    assert "--fill-missing" in gaps.stderr

    empty = tmp_path / "empty_results"
    empty.mkdir()
    nothing = transfer_tsc("recommend", "--dataset", str(ucr_root / HELD_OUT), "--study", str(empty))
    assert nothing.returncode == 1 and "no source to rank" in nothing.stderr

    no_study = transfer_tsc("recommend", "--dataset", str(ucr_root / HELD_OUT), "--study",
                            str(tmp_path / "none"))
    assert no_study.returncode == 1 and str(tmp_path / "none") in no_study.stderr

    # a corrupt prototype file is refused by name
    broken = tmp_path / "broken/results"
    shutil.copytree(study_dir / "results/prototypes", broken / "prototypes")
    (broken / "prototypes/Coffee.h5").write_bytes(b"not hdf5")
    corrupt = transfer_tsc("recommend", "--dataset", str(ucr_root / HELD_OUT), "--study", str(broken))
    assert corrupt.returncode == 1 and "Coffee.h5" in corrupt.stderr
    assert "Traceback" not in corrupt.stderr


def test_cli_help_and_usage_errors():
    # the parser loads no TensorFlow (a quick --help)
    check = subprocess.run(
        [sys.executable, "-c",
         "import sys; from transfer_tsc import cli; cli.parser(); print('tensorflow' in sys.modules)"],
        capture_output=True, text=True,
    )
    assert check.stdout.strip() == "False", check.stderr
    shown = transfer_tsc("--help")
    assert shown.returncode == 0
    assert all(c in shown.stdout for c in ("recommend", "export-zoo", "verify-zoo"))
    both = transfer_tsc("recommend", "--dataset", "X", "--study", "a", "--zoo", "b")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    negative = transfer_tsc("recommend", "--dataset", "X", "--study", "a", "--top", "-1")
    assert negative.returncode == 2 and "negative" in negative.stderr


def test_snakemake_refuses_a_missing_recommend_dataset(tmp_path, ucr_root):
    config = {
        "ucr_root": str(ucr_root), "datasets": ["Coffee", "GunPoint"],
        "recommend": {"dataset": str(tmp_path / "NoSuch")},
    }
    refused = run_snakemake(tmp_path / "run", config, "results/recommend/NoSuch/recommendations.csv",
                            "-n", check=False)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert f"Error: config key recommend.dataset: dataset 'NoSuch': no folder {tmp_path / 'NoSuch'}" in output
    assert "Traceback" not in output
    # the study's own targets do not read it
    run_snakemake(tmp_path / "run", config, "results/scratch_accuracy.csv", "-n")
