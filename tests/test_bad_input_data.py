"""Bad input of issue 22, end to end: data files that are not UTF-8 text or rows without a class
label (in the workflow's jobs and in ``transfer-tsc recommend``), a ``ucr_root`` that holds no
dataset folders, a dataset name with a space (under ``datasets: all`` as in a list), and config
values that none of a key's forms accepts: each stops with one line ``Error: <message>`` naming
the file (and row) or config key, no traceback. TRAIN and TEST series of different lengths are
not refused: they are resampled, with one log line.

The damaged datasets are the cases of ``test_bad_input.py`` (copies of the UCR file Chinatown
under ``tmp_path``); the messages checked here are the ones those cases produce.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest
from conftest import VENV_BIN, run_snakemake
from test_bad_input import (
    BASE,
    UCR,
    assert_each_job_failed,
    assert_refused,
    good,
    message_of,
    rows,
    write_dataset,
)

from transfer_tsc import data, settings
from transfer_tsc.errors import InputError
from transfer_tsc.similarity import prototypes

UNREADABLE = ["gzip_file", "latin1_file", "empty_label", "nan_label"]
# the datasets the cases above write under the archive
UNREADABLE_DATASETS = {
    "gzip_file": "Gzip",
    "latin1_file": "Latin1",
    "empty_label": "NoLabel",
    "nan_label": "NaNLabel",
}
FAST_PROTOTYPES = {"dtw": {"dba_iterations": 1}}


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    return run_snakemake(workdir, config, *args, check=False)


# -- TRAIN and TEST of different lengths: resampled, with one log line -----------------------------


def write_unequal_splits(root: Path, name: str = "Lengths") -> Path:
    """Chinatown with its TRAIN series cut to 12 values, its TEST series whole (24): no NaN
    padding, each split of one length."""
    return write_dataset(root, name, [r[:13] for r in rows("TRAIN")], rows("TEST"))


LENGTH_LINE = (
    "Lengths: TRAIN series of length 12 (Lengths_TRAIN.tsv), TEST series of length 24 "
    "(Lengths_TEST.tsv): the network reads every series resampled to length 24 (linear "
    "interpolation), as for variable-length series"
)


def test_splits_of_different_lengths_are_resampled_with_one_log_line(tmp_path, caplog):
    write_unequal_splits(tmp_path)
    with caplog.at_level(logging.INFO, logger="transfer_tsc"):
        dataset = data.load_dataset(tmp_path, "Lengths")
    assert [r.getMessage() for r in caplog.records if "resampled" in r.getMessage()] == [
        LENGTH_LINE
    ]
    assert dataset.network_input("train").shape == (20, 24, 1)
    assert dataset.network_input("test").shape[1:] == (24, 1)


@pytest.mark.parametrize("name", [BASE, "GesturePebbleZ1"])
def test_datasets_whose_split_lengths_overlap_log_no_length_line(name, caplog):
    # Chinatown: one length; GesturePebbleZ1: NaN-padded variable lengths in both splits
    with caplog.at_level(logging.INFO, logger="transfer_tsc"):
        data.load_dataset(UCR, name)
    assert not [r for r in caplog.records if "resampled" in r.getMessage()]


@pytest.mark.workflow
def test_the_length_line_is_in_the_job_log(tmp_path):
    archive = tmp_path / "archive"
    write_unequal_splits(archive)
    config = {"ucr_root": str(archive), **FAST_PROTOTYPES}
    run_snakemake(tmp_path / "run", config, "results/prototypes/Lengths.h5")
    log = (tmp_path / "run/logs/prototypes/Lengths.log").read_text()
    assert log.count(LENGTH_LINE) == 1


# -- data files that are not UTF-8 text, rows without a label --------------------------------------


@pytest.mark.workflow
def test_jobs_stop_on_unreadable_files_with_one_line(tmp_path):
    """Each prototypes job (the first to read a dataset's two files) fails with its one-line
    message in its log and on stderr; no output is written."""
    archive = tmp_path / "archive"
    messages = {name: message_of(name, archive) for name in UNREADABLE}
    datasets = [UNREADABLE_DATASETS[name] for name in UNREADABLE]
    config = {"ucr_root": str(archive), "datasets": datasets, **FAST_PROTOTYPES}
    targets = [f"results/prototypes/{name}.h5" for name in datasets]
    result = snakemake(tmp_path / "run", config, "--keep-going", *targets)
    assert_each_job_failed(
        tmp_path / "run",
        result,
        messages.values(),
        logs=[f"logs/prototypes/{name}.log" for name in datasets],
        outputs=targets,
    )


@pytest.mark.workflow
def test_snakemake_refuses_a_compressed_file_at_start(tmp_path):
    archive = tmp_path / "archive"
    message = message_of("gzip_named_file", archive)
    good(archive)
    result = snakemake(tmp_path / "run", {"ucr_root": str(archive)}, "-n")
    assert_refused(result, f"Error: {message}")


@pytest.fixture(scope="module")
def study_results(tmp_path_factory) -> Path:
    """A study's results folder with one source's prototypes (ItalyPowerDemand, 1 DBA
    iteration), written by the package as the prototypes job writes them."""
    results = tmp_path_factory.mktemp("study") / "results"
    options = {"znormalise": "auto", "fill_missing": False}
    dataset = data.load_dataset(UCR, "ItalyPowerDemand", **options)
    made = prototypes.class_prototypes(
        "ItalyPowerDemand", dataset.series("train"), dataset.y_train, dataset.classes, iterations=1
    )
    prototypes.write_prototypes(results / "prototypes/ItalyPowerDemand.h5", made, **options)
    return results


@pytest.mark.parametrize("name", UNREADABLE)
def test_recommend_names_the_unreadable_file_in_one_line(name, study_results, tmp_path):
    message = message_of(name, tmp_path)
    dataset = tmp_path / UNREADABLE_DATASETS[name]
    result = subprocess.run(
        [
            str(VENV_BIN / "transfer-tsc"),
            "recommend",
            "--dataset",
            str(dataset),
            "--study",
            str(study_results),
            "--no-scores",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"Error: {message}"
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("label", ["NA", "None", "null"])
def test_words_pandas_reads_as_missing_are_class_labels(label, tmp_path):
    # only an empty label and a number that is not finite are refused
    train = [[label if r[0] == "1" else r[0], *r[1:]] for r in rows("TRAIN")]
    write_dataset(tmp_path, "Words", train, [r for r in rows("TEST") if r[0] == "2"])
    assert data.load_dataset(tmp_path, "Words").classes == tuple(sorted(["2", label]))


# -- ucr_root without dataset folders --------------------------------------------------------------

# the case of test_bad_input.py, and the ucr_root it points at under the case's folder
UCR_ROOTS = {
    "ucr_root_empty": lambda root: root,
    "ucr_root_dataset_folder": lambda root: root / BASE,
    "ucr_root_archive_parent": lambda root: root,
}


@pytest.mark.parametrize("name", list(UCR_ROOTS))
@pytest.mark.workflow
def test_snakemake_says_what_ucr_root_holds_and_what_was_meant(name, tmp_path):
    root = tmp_path / "given"
    root.mkdir()
    message = message_of(name, root)
    result = snakemake(tmp_path / "run", {"ucr_root": str(UCR_ROOTS[name](root))}, "-n")
    assert_refused(result, f"Error: {message}")
    assert (
        "scores" not in result.stderr
    )  # no phantom dataset from results/fcn/transferability/scores.csv
    assert not (tmp_path / "run/results").exists()


@pytest.mark.workflow
def test_a_dataset_folder_named_like_a_result_file_is_refused(tmp_path):
    archive = tmp_path / "archive"
    good(archive)
    good(archive, "scores")
    result = snakemake(tmp_path / "run", {"ucr_root": str(archive)}, "-n")
    assert_refused(
        result,
        f"Error: dataset 'scores' ({archive}/scores): the name is taken by the table of every "
        "target's transferability scores, results/<network>/transferability/scores.csv; "
        "rename the folder",
    )


# -- dataset names: a space is refused under datasets: all as in a list ----------------------------


@pytest.mark.workflow
def test_a_name_with_a_space_stops_under_all_as_in_a_list(tmp_path):
    """The same folder ``My Data``: refused at start under ``datasets: all``, in a list and in a
    list file, each time one line naming the name and the rule."""
    archive = tmp_path / "archive"
    under_all = message_of("dataset_folder_bad_name", archive)
    listed = message_of("listed_dataset_bad_name", archive)
    names = tmp_path / "names.txt"
    names.write_text(f"{BASE}\nMy Data\n")
    in_file = (
        f"config key datasets: {names}, line 2: 'My Data' is not a dataset name (one name a line: "
        f"{data.NAME_RULE})"
    )
    for datasets, message in (
        ("all", under_all),
        ([BASE, "My Data"], listed),
        (str(names), in_file),
    ):
        result = snakemake(tmp_path / "run", {"ucr_root": str(archive), "datasets": datasets}, "-n")
        assert_refused(result, f"Error: {message}")
        assert "'My Data'" in message and data.NAME_RULE in message
        assert result.stderr.count("Error: ") == 1
    assert not (tmp_path / "run/results").exists()


def test_the_schema_names_datasets_by_the_package_rule():
    spec = settings.schema()["properties"]
    array = lambda node: next(b for b in node["oneOf"] if b["type"] == "array")  # noqa: E731
    for node in (spec["datasets"], spec["analysis"]["properties"]["rank_curve_targets"]):
        assert array(node)["items"]["pattern"] == data.NAME.pattern
        assert data.NAME_RULE in array(node)["items"]["description"]


# -- config values that none of a key's forms accepts ----------------------------------------------


@pytest.mark.parametrize(
    "config, message",
    [
        (
            {"dtw": {"window": 2}},
            "config key dtw.window: 2 is not valid: expected null or a number in (0, 1]",
        ),
        (
            {"finetune": {"group_size": "some"}},
            "config key finetune.group_size: 'some' is not valid: expected an integer >= 1 or a "
            "string "
            "matching ^(auto|[1-9][0-9]*)$",
        ),
        (
            {"recommend": {"dataset": ""}},
            "config key recommend.dataset: '' is not valid: expected null or a non-empty string",
        ),
        (
            {"analysis": {"heatmap_limit": -1}},
            "config key analysis.heatmap_limit: -1 is not valid: expected null or a number > 0",
        ),
        (
            {"analysis": {"rank_curve_targets": ["Meat", "Ham}"]}},
            "config key analysis.rank_curve_targets (item 2): 'Ham}' is not valid: expected a "
            "dataset name",
        ),
        (
            {"datasets": 5},
            "config key datasets: 5 is not valid: expected all, ucr2015 or the path of a file of "
            "dataset "
            "names; or a non-empty list of distinct items, each a dataset name",
        ),
        ({"datasets": []}, "config key datasets: [] is not valid: expected all, ucr2015"),
        (
            {"finetune": {"sources": "closest:2"}},
            "config key finetune.sources: 'closest:2' is not valid: expected all, nearest:K",
        ),
    ],
)
def test_one_of_errors_name_the_value_and_the_accepted_forms(config, message):
    with pytest.raises(InputError) as error:
        settings.validate(config)
    assert str(error.value).startswith(message), str(error.value)
    assert "is not valid under any of the given schemas" not in str(error.value)


@pytest.mark.workflow
def test_snakemake_names_the_accepted_forms_of_a_key(tmp_path):
    config = {
        "ucr_root": str(UCR),
        "datasets": [BASE, "ItalyPowerDemand"],
        "dtw": {"window": {"fraction": 0.1}},
    }
    result = snakemake(tmp_path, config, "-n")
    assert_refused(result, f"Error: {message_of('config_value_of_no_form', tmp_path)}")
