"""Bad input: every case stops with one InputError naming the file or config key and the problem,
at the package level and, for the key cases, through ``snakemake`` (non-zero exit, the message
on stderr, no traceback).

Each case is built from real UCR files (Chinatown: 20 train series of length 24, two classes)
copied and damaged under ``tmp_path``. The same cases write the table of docs/errors.md:
``python tests/test_bad_input.py`` regenerates it, ``test_docs_table_is_current`` keeps it true.
"""

from __future__ import annotations

import gzip
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from transfer_tsc import data, settings
from transfer_tsc.errors import InputError

REPO = Path(__file__).resolve().parents[1]
UCR = REPO.parent / "shared/ucr/UCRArchive_2018"
DOC = REPO / "docs" / "errors.md"
BASE = "Chinatown"


# -- building bad archives ------------------------------------------------------------------------


def rows(split: str, name: str = BASE) -> list[list[str]]:
    """The real file's rows as lists of cells."""
    text = (UCR / name / f"{name}_{split}.tsv").read_text()
    return [line.split("\t") for line in text.splitlines() if line.strip()]


def write_dataset(
    root: Path, name: str, train, test, suffix: str = ".tsv", stem: str | None = None
):
    """Write ``root/name/<stem>_TRAIN<suffix>`` and ``_TEST`` from rows (or raw text); None
    skips."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for split, content in (("TRAIN", train), ("TEST", test)):
        if content is None:
            continue
        text = (
            content if isinstance(content, str) else "\n".join("\t".join(r) for r in content) + "\n"
        )
        (folder / f"{stem or name}_{split}{suffix}").write_text(text)
    return folder


def good(root: Path, name: str = BASE) -> Path:
    return write_dataset(root, name, rows("TRAIN"), rows("TEST"))


def load(root: Path, name: str, **options):
    return lambda: data.load_dataset(root, name, **options)


# -- the cases -------------------------------------------------------------------------------------
# Each returns (action, substrings the message must hold); the action must raise InputError.

Case = Callable[[Path], tuple[Callable[[], object], list[str]]]
CASES: dict[str, tuple[str, Case]] = {}


def case(title: str):
    def register(build: Case) -> Case:
        CASES[build.__name__] = (title, build)
        return build

    return register


@case("missing `_TRAIN` file")
def missing_train(root):
    folder = write_dataset(root, "NoTrain", None, rows("TEST"))
    return load(root, "NoTrain"), [str(folder), "missing NoTrain_TRAIN.tsv"]


@case("missing `_TEST` file")
def missing_test(root):
    folder = write_dataset(root, "NoTest", rows("TRAIN"), None)
    return load(root, "NoTest"), [str(folder), "missing NoTest_TEST.tsv"]


@case("empty file")
def empty_file(root):
    folder = write_dataset(root, "Empty", "", rows("TEST"))
    return load(root, "Empty"), [f"{folder}/Empty_TRAIN.tsv: the file is empty"]


@case("header row")
def header_row(root):
    train = rows("TRAIN")
    header = ["label"] + [f"t{i}" for i in range(1, len(train[0]))]
    folder = write_dataset(root, "Header", [header] + train, rows("TEST"))
    return load(root, "Header"), [f"{folder}/Header_TRAIN.tsv: row 1 looks like a header"]


@case("wrong separator (commas in a `.tsv`)")
def wrong_separator(root):
    text = "\n".join(",".join(r) for r in rows("TRAIN")) + "\n"
    folder = write_dataset(root, "Commas", text, rows("TEST"))
    return load(root, "Commas"), [
        f"{folder}/Commas_TRAIN.tsv: row 1 has no tab separator (it looks comma-separated)"
    ]


@case("ragged rows (a row shorter than the others)")
def ragged_rows(root):
    train = rows("TRAIN")
    train[4] = train[4][:-3]
    folder = write_dataset(root, "Ragged", train, rows("TEST"))
    return load(root, "Ragged"), [
        f"{folder}/Ragged_TRAIN.tsv: row 5 has 22 fields but row 1 has 25",
        "unequal length",
    ]


@case("infinite value inside a series")
def infinite_value(root):
    train = rows("TRAIN")
    train[5][4] = "inf"
    folder = write_dataset(root, "Infinite", train, rows("TEST"))
    return load(root, "Infinite"), [
        f"{folder}/Infinite_TRAIN.tsv: row 6, column 5: 'inf' is infinite"
    ]


@case("non-numeric cell")
def non_numeric_cell(root):
    test = rows("TEST")
    test[2][7] = "12,5"
    folder = write_dataset(root, "Text", rows("TRAIN"), test)
    return load(root, "Text"), [f"{folder}/Text_TEST.tsv: row 3, column 8: '12,5' is not a number"]


@case("data file gzip-compressed (a `.gz` under the `.tsv` name)")
def gzip_file(root):
    train = good(root, "Gzip") / "Gzip_TRAIN.tsv"
    train.write_bytes(gzip.compress(train.read_bytes()))
    return load(root, "Gzip"), [f"{train}: gzip-compressed, not a text file of series"]


@case("data file compressed under its own name (`_TRAIN.tsv.gz`)")
def gzip_named_file(root):
    folder = good(root, "Packed")
    train = folder / "Packed_TRAIN.tsv"
    (folder / "Packed_TRAIN.tsv.gz").write_bytes(gzip.compress(train.read_bytes()))
    train.unlink()
    return load(root, "Packed"), [
        f"{folder}: expected Packed_TRAIN.tsv",
        "but found Packed_TRAIN.tsv.gz, compressed; decompress it (gunzip) first",
    ]


@case("data file not UTF-8 (Latin-1, accented labels)")
def latin1_file(root):
    folder = root / "Latin1"
    folder.mkdir(parents=True)
    relabel = {"1": "café", "2": "thé"}
    for split in data.SPLITS:
        table = [[relabel[r[0]], *r[1:]] for r in rows(split)]
        text = "\n".join("\t".join(r) for r in table) + "\n"
        (folder / f"Latin1_{split}.tsv").write_bytes(text.encode("latin-1"))
    return load(root, "Latin1"), [
        f"{folder}/Latin1_TRAIN.tsv: row 1, column 1 is not UTF-8 text: byte 0xe9 in 'café' "
        "(read as Latin-1)",
        "save the file as UTF-8",
    ]


@case("row with an empty label")
def empty_label(root):
    train = rows("TRAIN")
    train[3][0] = ""
    folder = write_dataset(root, "NoLabel", train, rows("TEST"))
    return load(root, "NoLabel"), [f"{folder}/NoLabel_TRAIN.tsv: row 4 has an empty label"]


@case("`NaN` as a row's label")
def nan_label(root):
    test = rows("TEST")
    test[6][0] = "NaN"
    folder = write_dataset(root, "NaNLabel", rows("TRAIN"), test)
    return load(root, "NaNLabel"), [
        f"{folder}/NaNLabel_TEST.tsv: row 7 has 'NaN' as its label, a missing value"
    ]


@case("NaN in the middle of a series (`data.fill_missing: false`)")
def nan_inside(root):
    train = rows("TRAIN")
    train[6][10] = "NaN"
    folder = write_dataset(root, "Gap", train, rows("TEST"))
    return load(root, "Gap"), [
        f"{folder}/Gap_TRAIN.tsv: row 7 has 1 missing value(s) inside the series",
        "data.fill_missing",
    ]


@case("a single class in the train set")
def single_class(root):
    train = [r for r in rows("TRAIN") if r[0] == "1"]
    test = [r for r in rows("TEST") if r[0] == "1"]
    folder = write_dataset(root, "OneClass", train, test)
    return load(root, "OneClass"), [f"{folder}/OneClass_TRAIN.tsv: only one class ('1')"]


@case("test labels unseen in train")
def unseen_test_label(root):
    test = rows("TEST")
    test[0][0] = "3"
    folder = write_dataset(root, "Unseen", rows("TRAIN"), test)
    return load(root, "Unseen"), [
        f"{folder}/Unseen_TEST.tsv: label(s) 3 are not in the train set",
        "has 1, 2",
    ]


@case("train set smaller than the number of classes")
def train_smaller_than_classes(root):
    # 2 train series for the 3 classes the dataset's two files name
    train = [next(r for r in rows("TRAIN") if r[0] == c) for c in ("1", "2")]
    test = rows("TEST")
    test[0][0] = "3"
    folder = write_dataset(root, "TooFew", train, test)
    return load(root, "TooFew"), [
        f"{folder}/TooFew_TRAIN.tsv: 2 train series for 3 classes",
        "every class needs at least one train series",
    ]


@case("dataset folder name differs from its file names")
def folder_name_differs(root):
    folder = write_dataset(root, "ChinaTown", rows("TRAIN"), rows("TEST"), stem="Chinatown")
    return load(root, "ChinaTown"), [
        str(folder),
        "found Chinatown_TRAIN.tsv",
        "the file names must match the folder name",
    ]


@case("`ucr_root` an empty folder")
def ucr_root_empty(root):
    return lambda: data.archive_datasets(root), [
        "ucr_root: no dataset folders with <Name>/<Name>_TRAIN.tsv",
        f"under {root}: the folder is empty",
    ]


@case("`ucr_root` one dataset's own folder")
def ucr_root_dataset_folder(root):
    folder = good(root)
    return lambda: data.archive_datasets(folder), [
        f"under {folder}: it holds {BASE}_TEST.tsv, {BASE}_TRAIN.tsv itself",
        f"did you mean its parent, {root}?",
    ]


@case("`ucr_root` the archive's parent folder")
def ucr_root_archive_parent(root):
    good(root / "UCRArchive_2018")
    return lambda: data.archive_datasets(root), [
        f"under {root}: it holds folders of datasets, not datasets",
        f"did you mean {root / 'UCRArchive_2018'} (1 dataset folder)?",
    ]


@case("dataset folder name with a space (`datasets: all`)")
def dataset_folder_bad_name(root):
    good(root)
    folder = good(root, "My Data")
    return lambda: data.dataset_selection(data.archive_datasets(root), "all", root), [
        f"ucr_root: dataset folder 'My Data' ({folder}): a dataset name has {data.NAME_RULE}",
        "rename the folder",
    ]


@case("unknown dataset in the config")
def unknown_dataset(root):
    good(root)
    known = data.list_datasets(root)
    return lambda: data.dataset_selection(known, ["Chinatwn"], root).names, [
        "config key datasets: Chinatwn (did you mean Chinatown?) not found in ucr_root",
        str(root),
    ]


@case("unknown config key")
def unknown_config_key(root):
    return lambda: settings.validate({"training": {"batchsize": 8}}), [
        "config key training.batchsize: unknown key",
        "batch_size",
    ]


@case("negative epoch count")
def negative_epochs(root):
    return lambda: settings.validate({"pretrain": {"epochs": -5}}), [
        "config key pretrain.epochs: -5 is less than the minimum of 1"
    ]


@case("dataset name with a space in a `datasets` list")
def listed_dataset_bad_name(root):
    return lambda: settings.validate({"datasets": [BASE, "My Data"]}), [
        f"config key datasets (item 2): 'My Data' is not valid: expected a dataset name: "
        f"{data.NAME_RULE}"
    ]


@case("a value that none of a key's forms accepts (`dtw.window: {fraction: 0.1}`)")
def config_value_of_no_form(root):
    return lambda: settings.validate({"dtw": {"window": {"fraction": 0.1}}}), [
        "config key dtw.window: {'fraction': 0.1} is not valid: expected null or a number in (0, 1]"
    ]


@case("source model file missing")
def model_missing(root):
    from transfer_tsc.training.transfer import load_model

    path = root / "results/fcn/pretrain/Chinatown/model.h5"
    return lambda: load_model(path), [f"{path}: model file not found"]


@case("source model file corrupt (not HDF5)")
def model_corrupt(root):
    from transfer_tsc.training.transfer import load_model

    path = root / "model.h5"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return lambda: load_model(path), [
        f"{path}: not a readable Keras model (corrupt or truncated?)",
        "file signature not found",
    ]


@case("source model file truncated")
def model_truncated(root):
    from transfer_tsc.networks.fcn import build_fcn
    from transfer_tsc.training.transfer import load_model, save_model

    whole = root / "whole.h5"
    save_model(build_fcn(2, seed=0), whole)
    path = root / "model.h5"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return lambda: load_model(path), [
        f"{path}: not a readable Keras model (corrupt or truncated?)",
        "truncated file",
    ]


@case("source model file is HDF5 but not a Keras model")
def model_not_fcn(root):
    from transfer_tsc.training.transfer import load_model

    path = root / "model.h5"
    with h5py.File(path, "w") as f:
        f["weights"] = np.zeros(3)
    return lambda: load_model(path), [f"{path}: not a readable Keras model", "No model config"]


@case("source model file is a Keras model but not one of the networks")
def model_not_a_network(root):
    import keras

    from transfer_tsc.training.transfer import load_model, save_model

    path = root / "model.h5"
    inputs = keras.Input(shape=(24,))
    save_model(keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs)), path)
    return lambda: load_model(path), [
        f"{path}: a Keras model but not one of this package's networks (no 'gap' and 'softmax' "
        "layers)"
    ]


@case("source model of another network (a ResNet source in the FCN's study)")
def model_other_network(root):
    import keras

    from transfer_tsc.networks import FEATURES, HEAD
    from transfer_tsc.training.transfer import load_model, save_model

    path = root / "model.h5"
    inputs = keras.Input(shape=(None, 1))
    features = keras.layers.GlobalAveragePooling1D(name=FEATURES)(
        keras.layers.Conv1D(4, 3, name="conv")(inputs)
    )
    outputs = keras.layers.Dense(2, activation="softmax", name=HEAD)(features)
    save_model(keras.Model(inputs, outputs, name="resnet"), path)
    return lambda: load_model(path), [
        f"{path}: a ResNet model, but this study's network is the FCN (fcn); a source must be "
        "of the target's network"
    ]


@case("HDF5 output that fails to open")
def hdf5_corrupt(root):
    from transfer_tsc.io import open_hdf5

    path = root / "prototypes.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    return lambda: open_hdf5(path), [f"{path}: not a readable HDF5 file (corrupt or truncated?)"]


@case("a result file a gather reads is damaged (`metrics.csv` overwritten with text)")
def metrics_overwritten(root):
    from transfer_tsc import study

    path = root / "results/fcn/pretrain/Chinatown/metrics.csv"
    path.parent.mkdir(parents=True)
    path.write_text("this file was overwritten\n")
    return lambda: study.gather_scratch([str(path)]), [f"{path}: not a metrics table", "delete it"]


@case("a result file a gather reads is empty (a fine-tuned pair's `metrics.csv`)")
def metrics_empty(root):
    from transfer_tsc import study

    path = root / "results/fcn/finetune/Coffee/Chinatown/metrics.csv"
    path.parent.mkdir(parents=True)
    path.write_text("")
    return lambda: study.gather_transfer([str(path)], ["Chinatown", "Coffee"]), [
        f"{path}: empty file"
    ]


@case("series shorter than the FCN's receptive field")
def shorter_than_receptive_field(root):
    from transfer_tsc.networks.fcn import RECEPTIVE_FIELD
    from transfer_tsc.training.transfer import check_trainable

    cut = lambda table: [r[: 1 + RECEPTIVE_FIELD - 1] for r in table]  # noqa: E731
    write_dataset(root, "Short", cut(rows("TRAIN")), cut(rows("TEST")))
    return lambda: check_trainable(data.load_dataset(root, "Short")), [
        f"dataset 'Short': series of length {RECEPTIVE_FIELD - 1} are shorter than the FCN's "
        f"receptive field ({RECEPTIVE_FIELD} time steps)"
    ]


def message_of(name: str, root: Path) -> str:
    action, expected = CASES[name][1](root)
    try:
        action()
    except InputError as error:
        message = str(error)
    else:
        raise AssertionError(f"{name}: no InputError raised")
    for part in expected:
        assert part in message, f"{name}: {part!r} not in {message!r}"
    return message


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_one_line_naming_the_file_or_key(name, tmp_path):
    message = message_of(name, tmp_path)
    assert "\n" not in message
    assert "Traceback" not in message


def test_a_short_series_that_still_fits_the_receptive_field_is_accepted(tmp_path):
    from transfer_tsc.networks.fcn import RECEPTIVE_FIELD
    from transfer_tsc.training.transfer import check_trainable

    cut = lambda table: [r[: 1 + RECEPTIVE_FIELD] for r in table]  # noqa: E731
    write_dataset(tmp_path, "Fits", cut(rows("TRAIN")), cut(rows("TEST")))
    check_trainable(data.load_dataset(tmp_path, "Fits"))


def test_real_missing_values_stop_unless_filled():
    # DodgerLoopDay has real NaN inside series: refused by default, interpolated on request
    with pytest.raises(InputError, match=r"DodgerLoopDay_TRAIN.tsv: row \d+ has \d+ missing value"):
        data.load_dataset(UCR, "DodgerLoopDay")
    assert not np.isnan(data.load_dataset(UCR, "DodgerLoopDay", fill_missing=True).x_train).any()


def test_a_class_missing_from_test_is_accepted(tmp_path):
    # the reverse of "unseen in train": a train class with no test series is valid
    write_dataset(tmp_path, "Partial", rows("TRAIN"), [r for r in rows("TEST") if r[0] == "1"])
    dataset = data.load_dataset(tmp_path, "Partial")
    assert dataset.n_classes == 2 and set(dataset.y_test) == {0}


def test_a_corrupt_checkpoint_is_reported_not_used(tmp_path):
    from transfer_tsc.networks.fcn import build_fcn
    from transfer_tsc.settings import default_recipe
    from transfer_tsc.training.loop import train_together

    checkpoint = tmp_path / "checkpoint.h5"
    checkpoint.write_bytes(b"not hdf5")
    dataset = data.load_dataset(UCR, BASE)
    with pytest.raises(InputError, match=re.escape(f"{checkpoint}: corrupt checkpoint")):
        train_together(
            [build_fcn(2, seed=0)],
            dataset.network_input(),
            dataset.y_train,
            2,
            default_recipe(epochs=2),
            checkpoint=checkpoint,
            log=lambda line: None,
        )


# -- end to end through snakemake ------------------------------------------------------------------


def snakemake(workdir: Path, config: dict, *args: str):
    from conftest import run_snakemake

    return run_snakemake(workdir, config, *args, check=False)


def assert_refused(result, *messages: str, traceback: bool = False):
    assert result.returncode != 0, result.stderr[-3000:]
    for message in messages:
        assert message in result.stderr, f"{message!r} not in stderr:\n{result.stderr[-3000:]}"
    if not traceback:
        assert "Traceback" not in result.stderr, result.stderr[-3000:]


def assert_each_job_failed(run: Path, result, messages, logs: list[str], outputs: list[str]):
    """A ``--keep-going`` run in ``run`` whose jobs each stopped on bad input: every message on
    stderr as ``Error: <message>``, each job's log (``logs``) with its one error line and no
    traceback, none of ``outputs`` written."""
    assert_refused(result, *(f"Error: {m}" for m in messages), traceback=True)
    # the scripts end with exit 1, not an exception: no Python traceback from our code
    assert "Traceback (most recent call last)" not in result.stderr
    for log_path, output in zip(logs, outputs, strict=True):
        log = (run / log_path).read_text()
        assert log.count("Error: ") == 1 and "Traceback" not in log
        assert not (run / output).exists()


PARSE_TIME = ["missing_train", "missing_test", "folder_name_differs"]


@pytest.mark.parametrize("name", PARSE_TIME)
@pytest.mark.workflow
def test_snakemake_refuses_bad_archive_at_start(name, tmp_path):
    archive = tmp_path / "archive"
    message = message_of(name, archive)
    good(archive)
    dataset = next(p.name for p in archive.iterdir() if p.name != BASE)
    result = snakemake(tmp_path / "run", {"ucr_root": str(archive), "datasets": [BASE, dataset]})
    assert_refused(result, f"Error: {message}")
    assert not (tmp_path / "run" / "results").exists()


@pytest.mark.parametrize(
    "overlay, message",
    [
        (
            {"datasets": [BASE, "Chinatwn"]},
            "Error: config key datasets: Chinatwn (did you mean Chinatown?)",
        ),
        ({"trainig": {"batch_size": 8}}, "Error: config key trainig: unknown key"),
        ({"training": {"batchsize": 8}}, "Error: config key training.batchsize: unknown key"),
        (
            {"pretrain": {"epochs": -5}},
            "Error: config key pretrain.epochs: -5 is less than the minimum of 1",
        ),
        (
            {"finetune": {"epochs": 0}},
            "Error: config key finetune.epochs: 0 is less than the minimum of 1",
        ),
        ({"ucr_root": "/no/such/archive"}, "Error: ucr_root: /no/such/archive is not a folder"),
        (
            {"data": {"znormalise": "yes"}},
            "Error: config key data.znormalise: 'yes' is not one of ['auto', True, False]",
        ),
        (
            {"analysis": {"names": 2016}},
            "Error: config key analysis.names: 2016 is not one of [2015, 2018, '2015', '2018']",
        ),
    ],
)
@pytest.mark.workflow
def test_snakemake_refuses_bad_config_at_start(overlay, message, tmp_path):
    config = {"ucr_root": str(UCR), "datasets": [BASE, "ItalyPowerDemand"], **overlay}
    result = snakemake(tmp_path, config)
    assert_refused(result, message)


@pytest.mark.workflow
def test_snakemake_jobs_stop_on_bad_files_with_the_message(tmp_path):
    """Content errors are found by the job that reads the file: each pretrain job fails with its
    one-line message in its log and on stderr; nothing is written to results/."""
    archive = tmp_path / "archive"
    names = ["header_row", "nan_inside", "single_class", "shorter_than_receptive_field"]
    messages = {name: message_of(name, archive) for name in names}
    datasets = sorted(p.name for p in archive.iterdir())
    config = {
        "ucr_root": str(archive),
        "datasets": datasets,
        "pretrain": {"epochs": 2},
        "finetune": {"epochs": 1},
    }
    result = snakemake(tmp_path / "run", config, "--keep-going", "results/fcn/scratch_accuracy.csv")
    assert_each_job_failed(
        tmp_path / "run",
        result,
        messages.values(),
        logs=[f"logs/fcn/pretrain/{dataset}.log" for dataset in datasets],
        outputs=[f"results/fcn/pretrain/{dataset}/model.h5" for dataset in datasets],
    )


@pytest.mark.workflow
def test_snakemake_refuses_a_corrupt_source_model(tmp_path):
    """A pre-trained model.h5 replaced by garbage: fine-tuning stops naming the file."""
    run = tmp_path / "run"
    config = {
        "ucr_root": str(UCR),
        "datasets": [BASE, "ItalyPowerDemand"],
        "finetune": {"epochs": 1},
    }
    source = run / "results/fcn/pretrain/ItalyPowerDemand"
    source.mkdir(parents=True)
    (source / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(2000))
    for name in ("history.csv", "metrics.csv"):
        (source / name).write_text("dataset\nItalyPowerDemand\n")
    target = f"results/fcn/finetune/ItalyPowerDemand/{BASE}/metrics.csv"
    result = snakemake(run, config, target)
    assert_refused(
        result,
        "Error: results/fcn/pretrain/ItalyPowerDemand/model.h5: not a readable Keras model "
        "(corrupt or truncated?)",
        traceback=True,
    )
    assert "Traceback (most recent call last)" not in result.stderr
    assert "Cannot restore" not in result.stderr  # no update() flags outside cluster jobs
    assert not (run / target).exists()


@pytest.mark.workflow
def test_a_job_over_its_mem_mb_stops_with_a_message(tmp_path):
    """The memory watchdog of rule scripts: a job whose RSS passes its mem_mb stops saying so
    (TensorFlow alone takes more than 300 MB) rather than being killed without a word."""
    config = {
        "ucr_root": str(UCR),
        "datasets": [BASE, "ItalyPowerDemand"],
        "pretrain": {"epochs": 2},
    }
    target = f"results/fcn/pretrain/{BASE}/metrics.csv"
    result = snakemake(tmp_path, config, target, "--set-resources", "pretrain:mem_mb=300")
    assert_refused(
        result,
        f"Error: rule pretrain (network=fcn, dataset={BASE}): memory use",
        "MB exceeded mem_mb=300; give it more (--set-resources pretrain:mem_mb=<MB>",
        traceback=True,
    )
    assert "Traceback (most recent call last)" not in result.stderr
    log = (tmp_path / f"logs/fcn/pretrain/{BASE}.log").read_text()
    assert "exceeded mem_mb=300" in log
    assert not (tmp_path / target).exists()


# -- docs/errors.md --------------------------------------------------------------------------------

DOC_HEAD = """# Bad input: what stops the pipeline, and the message

Every case below stops with **one line** `Error: <message>` on stderr (and in the rule's log),
exit status 1, no traceback. The message names the file (or the config key) and the problem.
*Where* says when it is caught: **start** = while Snakemake reads the workflow, before any
job runs; **job** = by the job that reads the file (pre-training or fine-tuning).

The messages are the real ones, produced by `tests/test_bad_input.py` on copies of the UCR
file `Chinatown` damaged under a temporary folder (shown as `<archive>`; `<tmp>` for other
temporary files). Regenerate this table with `python tests/test_bad_input.py`; the test
`test_docs_table_is_current` fails when it is out of date.

| Case | Where | Message |
|---|---|---|
"""

DOC_TAIL = """
Also checked (see the tests): real missing values (DodgerLoopDay) stop unless
`data.fill_missing: true`; a checkpoint that fails to open stops with
`<path>: corrupt checkpoint (...); delete it to start over` instead of being ignored; a job
whose memory exceeds its `mem_mb` stops with
`Error: rule <rule> (<wildcards>): memory use <N> MB exceeded mem_mb=<M> ...` (see
docs/resources.md).

Dataset names (folders under `ucr_root`, names in a `datasets` list or list file) have ASCII
letters, digits and `_ . -` only, under `datasets: all` as in a list: a folder `My Data` stops
the run at start, naming the folder and the rule (a list file's line too: `config key datasets:
<file>, line <N>: 'My Data' is not a dataset name (one name a line: ASCII letters, digits and
_ . - only)`). A dataset folder named `scores` stops at start too: its
`results/<network>/transferability/{target}.csv` would be
`results/<network>/transferability/scores.csv`, the table of every target's scores.

Not refused: TRAIN and TEST series of lengths that do not overlap (48 against 80, not NaN-padded
variable lengths) are read by the package's rule for variable lengths, and never silently: one
line in the job's log (and on the stderr of `transfer-tsc`) names the dataset, both lengths and
what was done:
`<Name>: TRAIN series of length 48 (<Name>_TRAIN.tsv), TEST series of length 80 (<Name>_TEST.tsv):
the network reads every series resampled to length 80 (linear interpolation), as for
variable-length series`.

A gather (`scratch_accuracy`, `transfer_accuracy`, `transferability_scores`, `export_zoo`)
checks every file it reads before it writes anything: columns, one row, numbers, accuracies
within [0, 1], the dataset or pair its path names. The tables made before stay as they were.

Damaged results of finished jobs (`tests/workflow/test_study_records.py`, `tests/test_zoo.py`): a
pre-trained model or prototypes file whose sha256 is no longer the one its job recorded
(`results/records/`) is made again at the next run, with
`Note: made again, damaged: results/fcn/pretrain/<Name>/model.h5 (its sha256 differs from the one
recorded when its job finished)`; `transfer-tsc export-zoo` refuses it with
`results/fcn/pretrain/<Name>/model.h5: sha256 differs from the one recorded when its job finished
(results/records/pretrain/dataset=<Name>,network=fcn.json): corrupt or altered since; not
exported (re-run the study: snakemake makes it again)`, and a model that does not load with
`<path>: not a readable Keras model (corrupt or truncated?): ...; not exported (delete it and
re-run the study: snakemake makes it again)`; `verify-zoo` refuses a zoo model that does not
load with `<zoo>/models/<Name>.h5: not a readable Keras model (...); refused (export the zoo
again from an intact study)`.

Not input errors, and also one line: a results folder that is read-only, or a full disk, stops
the job writing there with `<file>: cannot write: No space left on device (the previous version,
if any, is kept)` (or `Read-only file system`, `Permission denied`), and the files the job had
made before stay as they were (`tests/workflow/test_study_records.py`).

Interrupted runs (kill, pre-emption, power loss) are not input errors: re-run the same command;
see docs/resources.md, "Interruptions".
"""

WHERE = {
    "missing_train": "start",
    "missing_test": "start",
    "folder_name_differs": "start",
    "unknown_dataset": "start",
    "unknown_config_key": "start",
    "negative_epochs": "start",
    "gzip_named_file": "start",
    "ucr_root_empty": "start",
    "ucr_root_dataset_folder": "start",
    "ucr_root_archive_parent": "start",
    "dataset_folder_bad_name": "start",
    "listed_dataset_bad_name": "start",
    "config_value_of_no_form": "start",
}


def doc_table(tmp: Path) -> str:
    lines = []
    for name, (title, _) in CASES.items():
        root = tmp / name
        root.mkdir()
        message = message_of(name, root)
        if name.startswith(("model_", "hdf5_", "metrics_")):
            message = message.replace(str(root), "<tmp>")
        message = message.replace(str(root), "<archive>").replace("|", "\\|")
        message = re.sub(r"\(known: [^)]*\)", "(known: <the keys of that section>)", message)
        message = re.sub(
            r"\(truncated file: [^)]*\)", "(truncated file: eof = <bytes>, ...)", message
        )
        lines.append(f"| {title} | {WHERE.get(name, 'job')} | `{message}` |")
    return DOC_HEAD + "\n".join(lines) + "\n" + DOC_TAIL


def test_docs_table_is_current(tmp_path):
    assert DOC.read_text() == doc_table(tmp_path), (
        "docs/errors.md is stale: python tests/test_bad_input.py"
    )


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as tmp:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(doc_table(Path(tmp)))
    print(f"wrote {DOC}")
