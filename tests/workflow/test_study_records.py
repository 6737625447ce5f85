"""Finished work is neither lost nor redone (issue 22, cases 1-3 and 10), through the real
workflow on a copy of two small real datasets: a setting that cannot change a result re-runs
nothing; a re-run job that fails keeps the previous outputs; a deleted or damaged pre-trained
model is made again, and the fine-tunes that used it are kept when the new model is identical;
a full disk stops a job with one line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_snakemake

from transfer_tsc.io import sha256

DATASETS = ["Chinatown", "ItalyPowerDemand"]
TRAINING = {
    "pretrain": {"epochs": 2},
    "finetune": {"epochs": 1},
    "training": {"progress_every": 1, "checkpoint_every": 1},
}
MODEL = "results/fcn/pretrain/Chinatown/model.h5"
PAIR = "results/fcn/finetune/Chinatown/ItalyPowerDemand"


def _archive(ucr_root: Path, into: Path) -> Path:
    """A copy of the two datasets, so that a test may damage one of their files."""
    for name in DATASETS:
        shutil.copytree(ucr_root / name, into / name)
    return into


def _config(archive: Path, **changes) -> dict:
    """The study's config; ``ucr_root`` relative to the run folder beside the archive, so that a
    copy of the folder is the same study (same input paths, same settings)."""
    return {"ucr_root": f"../{archive.name}", "datasets": DATASETS, **TRAINING, **changes}


# What the finished study holds: the models, prototypes and pairs, the gathered tables, and
# run_info.csv (the analysis table that lists the settings); the other analyses and figures are
# left out to keep the test short.
TARGETS = (
    "results/fcn/scratch_accuracy.csv",
    "results/fcn/transfer_accuracy.csv",
    "results/fcn/analysis/run_info.csv",
    *(f"results/prototypes/{name}.h5" for name in DATASETS),
)


@pytest.fixture(scope="module")
def finished_study(ucr_root, tmp_path_factory) -> Path:
    """A finished study of the two datasets (``TARGETS``), made once."""
    root = tmp_path_factory.mktemp("finished")
    _archive(ucr_root, root / "archive")
    run_snakemake(root / "run", _config(root / "archive"), *TARGETS)
    return root


@pytest.fixture
def study(finished_study, tmp_path) -> Path:
    """A copy of the finished study (mtimes kept) in this test's own folder; its run folder."""
    shutil.copytree(finished_study, tmp_path / "study", symlinks=True)
    return tmp_path / "study"


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.workflow
def test_a_change_of_log_or_checkpoint_cadence_re_runs_nothing(study):
    config = _config(study / "archive", training={"progress_every": 7, "checkpoint_every": 3})
    dry = run_snakemake(study / "run", config, *TARGETS, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]

    epochs = _config(study / "archive", training={"progress_every": 1, "checkpoint_every": 1})
    epochs["pretrain"] = {"epochs": 3}  # a setting that changes a result still re-runs its jobs
    dry = run_snakemake(study / "run", epochs, *TARGETS, "-n")
    assert "rule pretrain:" in dry.stdout and "params have changed" in dry.stdout.lower()


@pytest.mark.workflow
def test_a_deleted_model_is_planned_again_by_the_default_target(study):
    dry = run_snakemake(study / "run", _config(study / "archive"), "-n")
    assert "rule pretrain:" not in dry.stdout  # the analyses left out are planned, not this
    (study / "run" / MODEL).unlink()
    dry = run_snakemake(study / "run", _config(study / "archive"), "-n")
    assert "rule pretrain:" in dry.stdout and MODEL in dry.stdout


@pytest.mark.workflow
def test_a_damaged_model_is_made_again_and_its_fine_tunes_kept_when_identical(study):
    """A model truncated with its mtime kept (bit rot): the pair that used it is asked for; the
    model is made again (same sha256: training is seeded) and the pair's files stay the ones it
    had, not trained again; afterwards nothing is left to do."""
    run = study / "run"
    model = run / MODEL
    original = sha256(model)
    pair_before = _digests(run / PAIR)
    stat = model.stat()
    with open(model, "r+b") as handle:
        handle.truncate(stat.st_size // 2)
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    result = run_snakemake(run, _config(study / "archive"), f"{PAIR}/metrics.csv")
    assert f"made again, damaged: {MODEL} (its sha256 differs" in result.stderr
    assert sha256(model) == original
    assert _digests(run / PAIR) == pair_before
    log = (run / "logs/fcn/finetune/ItalyPowerDemand/Chinatown.log").read_text()
    assert "outputs kept, not made again" in log.splitlines()[-1]

    again = run_snakemake(run, _config(study / "archive"), f"{PAIR}/metrics.csv", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr

    # asked for by name, the same job trains again: forced is not "only an input made again"
    run_snakemake(run, _config(study / "archive"), f"{PAIR}/metrics.csv", "--forcerun", "finetune")
    log = (run / "logs/fcn/finetune/ItalyPowerDemand/Chinatown.log").read_text()
    assert "outputs kept" not in log and "test accuracy" in log.splitlines()[-1]


@pytest.mark.workflow
def test_a_rerun_that_fails_keeps_the_previous_outputs(study):
    """ItalyPowerDemand's TRAIN file damaged after the study: every job that reads it runs again
    and fails naming the file; the files those jobs had made are all still there, unchanged."""
    run = study / "run"
    before = _digests(run / "results")
    train = study / "archive/ItalyPowerDemand/ItalyPowerDemand_TRAIN.tsv"
    lines = train.read_text().splitlines()
    fields = lines[4].split("\t")
    fields[3] = "not-a-number"
    lines[4] = "\t".join(fields)
    train.write_text("\n".join(lines) + "\n")

    result = run_snakemake(run, _config(study / "archive"), *TARGETS, "--keep-going", check=False)
    assert result.returncode != 0
    assert (
        "ItalyPowerDemand_TRAIN.tsv: row 5, column 4: 'not-a-number' is not a number"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    after = _digests(run / "results")
    for path in (
        "fcn/pretrain/ItalyPowerDemand/model.h5",
        "prototypes/ItalyPowerDemand.h5",
        "fcn/finetune/Chinatown/ItalyPowerDemand/metrics.csv",
        "fcn/scratch_accuracy.csv",
    ):
        assert after[path] == before[path], path


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    return mounted.returncode == 0


@pytest.mark.workflow
def test_a_full_disk_stops_the_job_with_one_line(ucr_root, tmp_path):
    """results/ on a 512 KiB file system: the model (about 3 MB) cannot be written; the job
    stops with one line naming the file and the cause, no traceback."""
    archive = _archive(ucr_root, tmp_path / "archive")
    results = tmp_path / "run/results"
    if not _mount_tmpfs(results, "512k"):
        pytest.skip("mounting a small tmpfs needs root (CAP_SYS_ADMIN); CI runs as root")
    try:
        config = _config(archive, training={"progress_every": 1, "checkpoint_every": 100})
        result = run_snakemake(tmp_path / "run", config, MODEL, check=False)
    finally:
        subprocess.run(["umount", str(results)], check=True)
    assert result.returncode != 0
    assert f"Error: {MODEL}: cannot write: No space left on device" in result.stderr
    log = (tmp_path / "run/logs/fcn/pretrain/Chinatown.log").read_text()
    assert log.count("Error: ") == 1 and "Traceback" not in log and "Traceback" not in result.stderr


def test_a_read_only_results_folder_is_one_line_naming_the_file(tmp_path):
    """The package's writers on a file system mounted read-only (root cannot write there either):
    an OutputError naming the file and the cause, and the file already there kept."""
    import pandas as pd

    from transfer_tsc.errors import OutputError
    from transfer_tsc.io import write_csv

    folder = tmp_path / "results"
    if not _mount_tmpfs(folder, "1m"):
        pytest.skip("mounting a small tmpfs needs root (CAP_SYS_ADMIN); CI runs as root")
    try:
        table = folder / "scratch_accuracy.csv"
        write_csv(pd.DataFrame({"dataset": ["Coffee"], "test_accuracy": [0.5]}), table)
        before = table.read_bytes()
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        with pytest.raises(OutputError) as refused:
            write_csv(pd.DataFrame({"dataset": ["Coffee"], "test_accuracy": [0.9]}), table)
        assert str(refused.value) == (
            f"{table}: cannot write: Read-only file system (the previous version, if any, is kept)"
        )
        assert table.read_bytes() == before
    finally:
        subprocess.run(["umount", str(folder)], check=True)
