"""The gathers check every per-item result file they read before they write anything (issue
22, item 5): a damaged ``metrics.csv`` or transferability table stops the gather with one line
naming the file, what is wrong and how to have it made again, and the tables made before are
kept as they were."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake

from transfer_tsc import study
from transfer_tsc.errors import InputError
from transfer_tsc.report import analysis
from transfer_tsc.workflow.jobs import recommend, training, transferability

HEADER = "dataset,test_accuracy,test_loss,train_loss,epochs,best_epoch,train_seconds\n"
GOOD = HEADER + "Coffee,0.5,0.7,0.6,3,2,1.234\n"
PRETRAIN_HINT = "; delete it to have its job (rule pretrain, Coffee) make it again"


def write_metrics(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def pair_text(source: str, target: str, accuracy: float = 0.75) -> str:
    return (
        "source,target,test_accuracy,test_loss,train_loss,epochs,best_epoch,train_seconds\n"
        f"{source},{target},{accuracy},0.5,0.4,2,2,1.0\n"
    )


# --------------------------------------------------------------------------- the reader


def test_the_reader_reads_what_the_writer_writes(tmp_path):
    from transfer_tsc.training.loop import TrainResult
    from transfer_tsc.training.transfer import Outcome, write_outcome

    history = pd.DataFrame(
        {"epoch": [1, 2], "loss": [0.9, 0.6], "accuracy": [0.5, 0.7], "lr": 0.001}
    )
    outcome = Outcome(0.625, 0.71, TrainResult(history, 2, 0.6, 2, 1.23456))
    pretrained = tmp_path / "results/fcn/pretrain/Coffee/metrics.csv"
    write_outcome(
        None,
        outcome,
        None,
        str(pretrained),
        str(pretrained.with_name("history.csv")),
        dataset="Coffee",
    )
    row = study.read_pretrain_metrics(pretrained)
    assert list(row.columns) == [*study.PRETRAIN_IDENTITY, *study.METRICS_COLUMNS]
    assert row.iloc[0].to_dict() == {
        "dataset": "Coffee",
        "test_accuracy": 0.625,
        "test_loss": 0.71,
        "train_loss": 0.6,
        "epochs": 2,
        "best_epoch": 2,
        "train_seconds": 1.235,
    }
    pair = tmp_path / "results/fcn/finetune/Coffee/GunPoint/metrics.csv"
    write_outcome(
        None,
        outcome,
        None,
        str(pair),
        str(pair.with_name("history.csv")),
        source="Coffee",
        target="GunPoint",
    )
    assert list(study.read_pair_metrics(pair).columns) == [
        *study.PAIR_IDENTITY,
        *study.METRICS_COLUMNS,
    ]


@pytest.mark.parametrize(
    "content, problem",
    [
        (
            "this file was overwritten\n",
            "not a metrics table (no column dataset, test_accuracy, test_loss, "
            "train_loss, epochs, best_epoch, train_seconds; unexpected column 'this file was "
            "overwritten')",
        ),
        ("", "empty file"),
        (
            GOOD.replace("test_accuracy", "accuracy"),
            "not a metrics table (no column test_accuracy; unexpected column 'accuracy')",
        ),
        (GOOD.replace("\n", ",extra\n", 1), "not a metrics table (unexpected column 'extra')"),
        (GOOD + "Coffee,0.6,0.7,0.6,3,2,1.2\n", "2 rows, expected one"),
        (HEADER, "0 rows, expected one"),
        (GOOD.replace(",0.5,", ",1.5,"), "test_accuracy is 1.5, outside [0, 1]"),
        (GOOD.replace(",0.5,", ",,"), "test_accuracy has no value"),
        (GOOD.replace(",0.5,", ",nan,"), "test_accuracy is nan, not a finite number"),
        (GOOD.replace(",0.7,", ",inf,"), "test_loss is inf, not a finite number"),
        (GOOD.replace(",0.6,", ",-0.6,"), "train_loss is -0.6, below 0"),
        (GOOD.replace(",0.5,", ",high,"), "test_accuracy is 'high', not a number"),
        (GOOD.replace(",3,2,", ",3.5,2,"), "epochs is '3.5', not a whole number of at least 1"),
        (GOOD.replace(",3,2,", ",3,0,"), "best_epoch is '0', not a whole number of at least 1"),
        (GOOD.replace(",3,2,", ",3,4,"), "best_epoch 4 is after the last epoch, 3"),
        (
            GOOD.replace("Coffee,", "GunPoint,"),
            "dataset is 'GunPoint', expected 'Coffee' (from its path)",
        ),
        (
            GOOD + "Coffee,0.5,0.7,0.6,3,2,1.2,9,9\n",
            "not a readable CSV table (Error tokenizing data.",
        ),
        (
            b"\x89HDF\r\n\x1a\n\xff\xfe" + bytes(range(256)),
            "not a text file ('utf-8' codec can't decode byte",
        ),
    ],
    ids=[
        "text",
        "empty",
        "renamed-column",
        "extra-column",
        "two-rows",
        "header-only",
        "accuracy-1.5",
        "accuracy-blank",
        "accuracy-nan",
        "loss-inf",
        "negative-loss",
        "accuracy-text",
        "fractional-epochs",
        "best-epoch-0",
        "best-epoch-after-last",
        "wrong-dataset",
        "ragged-row",
        "non-utf8",
    ],
)
def test_a_damaged_pretrain_metrics_file_is_refused_by_name(tmp_path, content, problem):
    path = write_metrics(tmp_path / "results/fcn/pretrain/Coffee/metrics.csv", content)
    with pytest.raises(InputError) as refused:
        study.read_pretrain_metrics(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: {problem}"), message
    assert message.endswith(PRETRAIN_HINT), message
    assert "\n" not in message


def test_a_pair_file_must_hold_its_pair_and_says_how_to_remake_it(tmp_path):
    results = tmp_path / "results"
    path = write_metrics(
        results / "fcn/finetune/Coffee/GunPoint/metrics.csv", pair_text("Coffee", "Chinatown")
    )
    with pytest.raises(InputError) as refused:
        study.read_pair_metrics(path)
    assert str(refused.value) == (
        f"{path}: target is 'Chinatown', expected 'GunPoint' (from its path); delete it to have "
        f"its "
        "job (rule finetune, Coffee -> GunPoint) make it again"
    )
    # batched: the pair's file is a hard link of the batch's; damaged in place, both are
    batch = results / "fcn/finetune_batches/GunPoint/Coffee+1_0123abcd"
    linked = batch / "Coffee/metrics.csv"
    linked.parent.mkdir(parents=True)
    os.link(path, linked)
    with pytest.raises(InputError) as refused:
        study.read_pair_metrics(path)
    assert str(refused.value).endswith(
        f"; delete it and {batch} (the batch it is linked from, damaged too) to have their jobs "
        "(rules finetune_batch and finetune_pair, Coffee -> GunPoint) make them again"
    )
    # replaced (a new file): linking the batch's again mends it
    linked.unlink()
    linked.write_text(pair_text("Coffee", "GunPoint"))
    with pytest.raises(InputError) as refused:
        study.read_pair_metrics(path)
    assert str(refused.value).endswith(
        f"; delete it to have its job (rule finetune_pair, Coffee -> GunPoint) link it again from "
        f"{batch}"
    )
    path.write_text(pair_text("Coffee", "GunPoint"))
    assert study.read_pair_metrics(path).loc[0, "test_accuracy"] == 0.75


# --------------------------------------------------------------------------- the gathers


class Outputs(list):
    """A job's one output, by position and by the name ``table``."""

    @property
    def table(self) -> str:
        return self[0]


class Inputs(list):
    """A job's inputs, by position and as the metrics files (one run: no probabilities)."""

    @property
    def metrics(self) -> list[str]:
        return list(self)

    def get(self, name: str, default=None):
        return default


class Job(SimpleNamespace):
    """The parts of a gather job's ``snakemake`` object it reads: input, output, params (a
    study of one run unless ``runs`` is given)."""

    def __init__(self, inputs: list[Path], output: Path, **params):
        super().__init__(
            input=Inputs(str(p) for p in inputs),
            output=Outputs([str(output)]),
            params=SimpleNamespace(**{"runs": 1, "seed": 0, **params}),
        )


def test_scratch_accuracy_checks_every_file_before_it_writes(tmp_path):
    paths = [
        write_metrics(
            tmp_path / f"results/fcn/pretrain/{name}/metrics.csv", GOOD.replace("Coffee", name)
        )
        for name in ("Chinatown", "Coffee", "GunPoint", "Wine")
    ]
    out = tmp_path / "results/fcn/scratch_accuracy.csv"
    training.scratch_accuracy(Job(paths, out), log=lambda line: None)
    before = out.read_bytes()
    assert pd.read_csv(out)["dataset"].tolist() == ["Chinatown", "Coffee", "GunPoint", "Wine"]

    paths[1].write_text("overwritten\n")
    paths[3].write_text("")
    with pytest.raises(InputError) as refused:
        training.scratch_accuracy(Job(paths, out), log=lambda line: None)
    assert str(refused.value) == (
        f"{paths[1]}: not a metrics table (no column dataset, test_accuracy, test_loss, "
        f"train_loss, "
        "epochs, best_epoch, train_seconds; unexpected column 'overwritten')"
        + PRETRAIN_HINT
        + f" (damaged too: {paths[3]})"
    )
    assert out.read_bytes() == before


def test_transfer_accuracy_checks_every_pair_before_it_writes(tmp_path):
    names = ["Chinatown", "Coffee"]
    paths = [
        write_metrics(tmp_path / f"results/fcn/finetune/{s}/{t}/metrics.csv", pair_text(s, t))
        for s in names
        for t in names
        if s != t
    ]
    out = tmp_path / "results/fcn/transfer_accuracy.csv"
    training.transfer_accuracy(Job(paths, out, datasets=names), log=lambda line: None)
    before = out.read_bytes()
    paths[0].write_text(pair_text("Chinatown", "Coffee", accuracy=1.5))
    with pytest.raises(
        InputError, match=f"^{re.escape(str(paths[0]))}: test_accuracy is 1.5, outside"
    ):
        training.transfer_accuracy(Job(paths, out, datasets=names), log=lambda line: None)
    assert out.read_bytes() == before


SCORE_HEADER = "target,source,leep,nce,logme,hscore,seconds\n"


def score_text(target: str, sources: list[str]) -> str:
    return SCORE_HEADER + "".join(f"{target},{s},-1.5,-0.9,0.2,1.1,0.25\n" for s in sources)


@pytest.mark.parametrize(
    "content, problem",
    [
        (
            score_text("Coffee", ["Chinatown", "GunPoint"]),
            "line 2: target is 'Coffee', expected 'Wine' (from its name)",
        ),
        (score_text("Wine", ["Chinatown"]), "no row for source GunPoint"),
        (
            score_text("Wine", ["Chinatown", "GunPoint", "Wine"]),
            "source 'Wine' is not scored on Wine",
        ),
        (
            score_text("Wine", ["Chinatown", "GunPoint", "GunPoint"]),
            "source 'GunPoint' appears twice",
        ),
        (
            score_text("Wine", ["Chinatown", "GunPoint"]).replace(",0.2,", ",x,", 1),
            "line 2: logme is 'x', not a number",
        ),
        (
            score_text("Wine", ["Chinatown", "GunPoint"]).replace(",0.25\n", ",-1\n"),
            "line 2: seconds is -1.0, not a finite",
        ),
        ("scores\n", "not a transferability table (no column target"),
        ("", "empty file"),
    ],
    ids=[
        "wrong-target",
        "missing-source",
        "extra-source",
        "twice",
        "text-score",
        "negative-seconds",
        "text",
        "empty",
    ],
)
def test_transferability_scores_checks_every_target_table(tmp_path, content, problem):
    names = ["Chinatown", "GunPoint", "Wine"]
    paths = [
        write_metrics(
            tmp_path / f"results/fcn/transferability/{t}.csv",
            score_text(t, study.sources_for(t, names)),
        )
        for t in names
    ]
    out = tmp_path / "results/fcn/transferability/scores.csv"
    transferability.transferability_scores(Job(paths, out), log=lambda line: None)
    assert len(analysis.read_scores(out)) == 6
    before = out.read_bytes()
    paths[2].write_text(content)
    with pytest.raises(InputError) as refused:
        transferability.transferability_scores(Job(paths, out), log=lambda line: None)
    assert str(refused.value).startswith(f"{paths[2]}: {problem}")
    assert str(refused.value).endswith(
        "; delete it to have its job (rule transferability, Wine) make it again"
    )
    assert out.read_bytes() == before


def test_the_zoo_export_refuses_a_damaged_metrics_file(tmp_path):
    path = write_metrics(
        tmp_path / "results/fcn/pretrain/Coffee/metrics.csv", GOOD.replace(",0.5,", ",2,")
    )
    snakemake = SimpleNamespace(
        params=SimpleNamespace(config={}, files={"Coffee": {}}),
        input=SimpleNamespace(metrics=[str(path)]),
        output=SimpleNamespace(zoo=str(tmp_path / "zoo")),
    )
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: test_accuracy is 2.0, outside"):
        recommend.export_zoo(snakemake, log=lambda line: None)
    assert not (tmp_path / "zoo").exists()


def test_the_analysis_readers_name_the_table_and_how_to_remake_it(tmp_path):
    table = tmp_path / "scratch_accuracy.csv"
    table.write_text(HEADER + "Coffee,,0.7,0.6,3,2,1.2\n")
    with pytest.raises(InputError) as refused:
        analysis.read_scratch(table)
    assert str(refused.value) == (
        f"{table}: dataset Coffee has no test_accuracy; delete it to have the job that writes it "
        f"make it again"
    )
    table.write_text(HEADER + ",0.5,0.7,0.6,3,2,1.2\n")
    with pytest.raises(
        InputError, match=f"^{re.escape(str(table))}: line 2 names no dataset; delete it"
    ):
        analysis.read_scratch(table)
    table.write_bytes(b"\xff\xfe\x00\x01")
    for reader in (
        analysis.read_scratch,
        analysis.read_transfer,
        analysis.read_neighbours,
        analysis.read_scores,
    ):
        with pytest.raises(
            InputError,
            match=f"^{re.escape(str(table))}: not a readable CSV table: .*; delete it to have",
        ):
            reader(table)
    table.write_text("overwritten\n")
    with pytest.raises(
        InputError,
        match=f"^{re.escape(str(table))}: missing index column source; delete it to have",
    ):
        analysis.read_transfer(table)
    with pytest.raises(
        InputError, match=f"^{re.escape(str(table))}: missing column\\(s\\) target, "
    ):
        analysis.read_table(table, analysis.AGGREGATE_COLUMNS)


# --------------------------------------------------------------------------- the workflow

STUDY = ["Chinatown", "Coffee"]
TABLES = [
    "results/fcn/scratch_accuracy.csv",
    "results/fcn/transfer_accuracy.csv",
    "results/fcn/analysis/aggregates.csv",
]


def trained_study(workdir: Path) -> None:
    """The training jobs' files of a two-dataset study, their metrics as the writer lays them out
    (``test_the_reader_reads_what_the_writer_writes``), without training: the gathers and an
    analysis are what is tested; readable HDF5 stand-ins for the models, which no job here reads."""
    import h5py

    history = pd.DataFrame(
        {"epoch": [1, 2], "loss": [0.9, 0.6], "accuracy": [0.5, 0.7], "lr": 0.001}
    )
    metrics = {
        "test_loss": 0.5,
        "train_loss": 0.6,
        "epochs": 2,
        "best_epoch": 2,
        "train_seconds": 1.5,
    }
    for k, name in enumerate(STUDY):
        folder = workdir / "results/fcn/pretrain" / name
        folder.mkdir(parents=True)
        h5py.File(folder / "model.h5", "w").close()
        history.to_csv(folder / "history.csv", index=False)
        pd.DataFrame([{"dataset": name, "test_accuracy": 0.8 + 0.1 * k, **metrics}]).to_csv(
            folder / "metrics.csv", index=False
        )
    for k, (source, target) in enumerate([("Chinatown", "Coffee"), ("Coffee", "Chinatown")]):
        folder = workdir / "results/fcn/finetune" / source / target
        folder.mkdir(parents=True)
        history.to_csv(folder / "history.csv", index=False)
        pd.DataFrame(
            [{"source": source, "target": target, "test_accuracy": 0.7 + 0.1 * k, **metrics}]
        ).to_csv(folder / "metrics.csv", index=False)


@pytest.mark.workflow
def test_a_damaged_metrics_file_stops_the_gather_and_keeps_the_tables(tmp_path, ucr_root):
    config = {"ucr_root": str(ucr_root), "datasets": STUDY}
    trained_study(tmp_path)
    run_snakemake(tmp_path, config, *TABLES)
    tables = {path: (tmp_path / path).read_bytes() for path in TABLES}

    overwritten, emptied = (
        "results/fcn/pretrain/Chinatown/metrics.csv",
        "results/fcn/pretrain/Coffee/metrics.csv",
    )
    originals = {path: (tmp_path / path).read_bytes() for path in (overwritten, emptied)}
    (tmp_path / overwritten).write_text("this file was overwritten\n")
    (tmp_path / emptied).write_text("")
    refused = run_snakemake(tmp_path, config, *TABLES, check=False)
    stderr = refused.stderr
    assert refused.returncode != 0
    assert (
        f"Error: {overwritten}: not a metrics table (no column dataset, test_accuracy, test_loss, "
        "train_loss, epochs, best_epoch, train_seconds; unexpected column 'this file was "
        "overwritten'); delete it to have its job (rule pretrain, Chinatown) make it again "
        f"(damaged too: {emptied})\n"
    ) in stderr, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    # the tables made before are kept as they were (the gathers' outputs are update()-flagged)
    for path, content in tables.items():
        assert (tmp_path / path).read_bytes() == content, f"{path} changed"

    for path, content in originals.items():
        (tmp_path / path).write_bytes(content)
    run_snakemake(tmp_path, config, *TABLES)
    for path, content in tables.items():
        assert (tmp_path / path).read_bytes() == content, f"{path} changed"


def test_a_distance_matrix_with_a_cell_that_is_not_a_number_is_named(tmp_path):
    """dtw_neighbours reads the matrix: a damaged cell stops it naming the file and the pair."""
    from transfer_tsc.similarity.distances import read_matrix

    path = tmp_path / "dtw_distance.csv"
    path.write_text("dataset,Coffee,GunPoint\nCoffee,0.0,1.5\nGunPoint,oops,0.0\n")
    with pytest.raises(InputError, match=r"dtw_distance.csv: distance GunPoint - Coffee is 'oops'"):
        read_matrix(path)
    path.write_text("dataset,Coffee,GunPoint\nCoffee,0.0,1.5\nGunPoint,1.5,0.0\n")
    assert read_matrix(path).loc["GunPoint", "Coffee"] == 1.5


def test_rank_curves_refuse_a_target_without_scratch_accuracy():
    """Figs 7-9 never draw a curve with an empty scratch accuracy: the target is named."""
    neighbours = pd.DataFrame(
        {
            "target": ["Coffee", "GunPoint"],
            "rank": [1, 1],
            "source": ["GunPoint", "Coffee"],
            "distance": [1.0, 1.0],
        }
    )
    transfer = pd.DataFrame(
        {"Coffee": [np.nan, 0.8], "GunPoint": [0.9, np.nan]}, index=["Coffee", "GunPoint"]
    )
    scratch = pd.Series({"Coffee": 0.7})
    with pytest.raises(InputError, match="no from-scratch accuracy for target.s. GunPoint"):
        analysis.rank_curves(transfer, neighbours, scratch)
    curves = analysis.rank_curves(transfer, neighbours, pd.Series({"Coffee": 0.7, "GunPoint": 0.6}))
    assert curves["scratch_accuracy"].tolist() == [0.7, 0.6]


def test_the_gather_of_repeated_runs_names_a_damaged_run_file(tmp_path):
    folder = tmp_path / "results/fcn/pretrain"
    paths = [
        write_metrics(folder / f"{name}/run{run}/metrics.csv", GOOD.replace("Coffee", name))
        for name in ("Chinatown", "Coffee")
        for run in (1, 2)
    ]
    tables = study.gather_scratch_runs(paths, 2, seed=5)
    assert tables.runs["seed"].tolist() == [5, 6, 5, 6]
    assert tables.spread["std"].tolist() == [0.0, 0.0]
    damaged = write_metrics(folder / "Coffee/run2/metrics.csv", HEADER + "Coffee,x,0.7,0.6,3,2,1\n")
    with pytest.raises(InputError, match=f"^{re.escape(str(damaged))}: test_accuracy is 'x'"):
        study.gather_scratch_runs(paths, 2, seed=5)
    with pytest.raises(InputError, match="runs \\[1\\], expected 1 to 2"):
        study.gather_scratch_runs([p for p in paths if "run2" not in str(p)], 2, seed=5)


def test_the_ensemble_of_saved_probabilities_and_a_damaged_probabilities_file(tmp_path):
    one, two = tmp_path / "run1.csv", tmp_path / "run2.csv"
    one.write_text("true_class,a,b\n0,0.9,0.1\n1,0.6,0.4\n1,0.45,0.55\n")
    two.write_text("true_class,a,b\n0,0.4,0.6\n1,0.1,0.9\n1,0.7,0.3\n")
    # mean probabilities: (0.65, 0.35), (0.35, 0.65), (0.575, 0.425): classes 0, 1, 0
    assert study.ensemble_accuracy([one, two]) == pytest.approx(2 / 3)
    two.write_text("true_class,a,b\n0,0.4,0.6\n1,,0.9\n1,0.7,0.3\n")
    with pytest.raises(InputError, match=f"^{re.escape(str(two))}: a has no value"):
        study.ensemble_accuracy([one, two])
    two.write_text("true_class,a,b\n0,0.4,0.6\n1,1.5,0.9\n1,0.7,0.3\n")
    with pytest.raises(InputError, match="a probability is not a number in \\[0, 1\\]"):
        study.ensemble_accuracy([one, two])
    two.write_text("true_class,a,b\n1,0.4,0.6\n1,0.1,0.9\n1,0.7,0.3\n")
    with pytest.raises(InputError, match="not the test set of"):
        study.ensemble_accuracy([one, two])
