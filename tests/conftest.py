"""Shared fixtures: the real UCR subset beside the repository and a Snakemake runner."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
UCR_ROOT = REPO.parent / "shared" / "ucr" / "UCRArchive_2018"
VENV_BIN = Path(sys.executable).parent

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def ucr_root() -> Path:
    if not UCR_ROOT.is_dir():
        pytest.fail(f"the shared UCR subset is missing: {UCR_ROOT}")
    return UCR_ROOT


def snakefile_command(
    workdir: Path, config: dict, *args: str, config_name: str = "test-config.yaml"
) -> list[str]:
    """The command that runs the project's Snakefile in ``workdir`` (made if missing) on 2 cores
    with ``config`` as an overlay config file, written there as ``config_name``."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / config_name
    config_path.write_text(yaml.safe_dump(config))
    return [
        str(VENV_BIN / "snakemake"),
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config_path),
        "--cores",
        "2",
        *args,
    ]


def run_snakemake(
    workdir: Path, config: dict, *args: str, timeout: int = 900, check: bool = True
) -> subprocess.CompletedProcess:
    """Run the project's Snakefile in ``workdir`` with ``config`` as an overlay config file."""
    command = snakefile_command(workdir, config, *args)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed "
            f"({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


SHORT_TRAINING = {
    "pretrain": {"epochs": 3},
    "finetune": {"epochs": 2},
    "training": {"progress_every": 1, "checkpoint_every": 2},
}


def pytest_collection_modifyitems(config, items) -> None:
    """Tests that run Snakemake (``workflow``, ``slurm``) first: with ``-n 2 --dist loadfile``
    (pyproject.toml) the long files start at once and the short ones fill the gaps."""
    items.sort(key=lambda item: not item.get_closest_marker("workflow"))


def job_counts(dry_run_output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def run_on_both_backends(script: str, ucr_root: Path, folder_of) -> dict[str, tuple[dict, Path]]:
    """Run ``python script ucr_root out.json`` on TensorFlow and on JAX (CPU) in two interpreters
    at once (their compiles are single-threaded); ``folder_of(backend)`` is each one's own
    folder (its TMPDIR). Returns {backend: (the report the script wrote, out.json)}, after
    checking each child succeeded and ran on its backend."""
    children = {}
    for backend in ("tensorflow", "jax"):
        out = Path(folder_of(backend)) / "runs.json"
        env = dict(
            os.environ,
            KERAS_BACKEND=backend,
            JAX_PLATFORMS="cpu",
            TF_CPP_MIN_LOG_LEVEL="3",
            TMPDIR=str(out.parent),
        )
        log = (out.parent / "stderr.txt").open("w")
        process = subprocess.Popen(
            [sys.executable, script, str(ucr_root), str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        children[backend] = (process, out, log)
    reports = {}
    try:
        for backend, (process, out, log) in children.items():
            returncode = process.wait(timeout=600)
            log.close()
            stderr = (out.parent / "stderr.txt").read_text()
            assert returncode == 0, f"{backend}: {stderr[-4000:]}"
            report = json.loads(out.read_text())
            assert report["backend"] == backend
            reports[backend] = (report, out)
    finally:
        for process, _, log in children.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    return reports


# The Python API's tests (tests/api): a tiny model zoo made once per session without Snakemake:
# the package's own pre-training (``transfer.pretrain``, 2 epochs), prototypes and export
# (``zoo.export_zoo``) on three small datasets, laid out as a study's ``results`` folder.
TINY_ZOO_SOURCES = ["Chinatown", "Coffee", "ItalyPowerDemand"]
TINY_ZOO_EPOCHS = 2


def make_tiny_study(results: Path, ucr_root: Path) -> dict:
    """Pre-trained FCNs (``TINY_ZOO_EPOCHS`` epochs), their metrics and the class prototypes of
    ``TINY_ZOO_SOURCES`` under ``results`` as a study writes them; the study's config."""
    from transfer_tsc import settings
    from transfer_tsc.data import load_dataset
    from transfer_tsc.similarity.prototypes import class_prototypes, write_prototypes
    from transfer_tsc.training.backend import import_keras_quietly
    from transfer_tsc.training.transfer import pretrain, write_outcome

    import_keras_quietly()
    config = settings.validate(
        {
            "ucr_root": str(ucr_root),
            "datasets": TINY_ZOO_SOURCES,
            "pretrain": {"epochs": TINY_ZOO_EPOCHS},
            "finetune": {"epochs": TINY_ZOO_EPOCHS},
        }
    )
    recipe = settings.recipe(config, "pretrain")
    dtw = config["dtw"]
    for name in TINY_ZOO_SOURCES:
        dataset = load_dataset(ucr_root, name, **config["data"])
        model, outcome = pretrain(dataset, recipe, log=lambda line: None)
        folder = results / "fcn" / "pretrain" / name
        write_outcome(
            model,
            outcome,
            str(folder / "model.h5"),
            str(folder / "metrics.csv"),
            str(folder / "history.csv"),
            dataset=name,
        )
        found = class_prototypes(
            name,
            dataset.series("train"),
            dataset.y_train,
            dataset.classes,
            window=dtw["window"],
            iterations=dtw["dba_iterations"],
        )
        write_prototypes(results / "prototypes" / f"{name}.h5", found, **config["data"])
    return config


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory, ucr_root) -> tuple[Path, dict]:
    """A study's ``results`` folder of the three sources, and its config."""
    results = tmp_path_factory.mktemp("study") / "results"
    return results, make_tiny_study(results, ucr_root)


@pytest.fixture(scope="session")
def tiny_zoo(tiny_study, tmp_path_factory, ucr_root) -> Path:
    """The tiny study exported as a checksummed zoo archive (``transfer-tsc export-zoo``)."""
    from transfer_tsc import zoo
    from transfer_tsc.data import load_dataset

    results, config = tiny_study
    references = zoo.study_references(results)
    out = tmp_path_factory.mktemp("zoo") / "zoo.tar.gz"
    describe = zoo.describer(lambda name: load_dataset(ucr_root, name, **config["data"]))
    zoo.export_zoo(references, out, config, describe)
    return out
