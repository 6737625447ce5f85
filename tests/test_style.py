"""The project's style checks: the Python files are as `ruff format` writes them and `ruff check`
(pyproject.toml: 100 columns, pyflakes, pycodestyle, import order) finds nothing; the Snakefile
and rules/ are as `snakefmt` writes them; `snakemake --lint` finds nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import REPO, VENV_BIN

WORKFLOW_FILES = [REPO / "Snakefile", *sorted((REPO / "rules").rglob("*.smk"))]


def test_snakefmt_leaves_the_workflow_unchanged() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "snakefmt"), "--check", *map(str, WORKFLOW_FILES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        f"snakefmt --check: run `snakefmt Snakefile rules/`\n{result.stderr}"
    )


@pytest.mark.workflow
def test_snakemake_lint_is_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--lint"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Lints for" not in output, output


def test_ruff_format_leaves_the_python_files_unchanged() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "ruff"), "format", "--check", "."], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, f"run `ruff format .`\n{result.stdout}{result.stderr}"


def test_ruff_check_is_clean() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "ruff"), "check", "--output-format", "concise", "."],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
