"""The README's maps stay true: its module table lists exactly the package's modules, and the
package docstring names each of them."""

from __future__ import annotations

import re
from pathlib import Path

import transfer_tsc

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "transfer_tsc"


def package_modules() -> set[str]:
    return {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def test_the_readme_module_table_lists_every_module_and_no_other():
    readme = (REPO / "README.md").read_text()
    table = readme.split("| module | what |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    assert listed == package_modules()


def test_the_package_docstring_names_every_module():
    named = set(re.findall(r"``(\w+)``", transfer_tsc.__doc__))
    assert package_modules() <= named
