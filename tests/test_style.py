"""The workflow's own style checks: `snakemake --lint` finds nothing and the Snakefile and
rules/ are as `snakefmt` writes them."""

from __future__ import annotations

import subprocess
from pathlib import Path

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


def test_snakemake_lint_is_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--lint"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Lints for" not in output, output
