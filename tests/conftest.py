"""Shared fixtures: the real UCR subset beside the repository and a Snakemake runner."""

from __future__ import annotations

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
