"""The README's maps stay true: its module table lists exactly the package's modules, the
package docstring names its top modules and folders, and each folder's docstring its modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import transfer_tsc

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "transfer_tsc"


def _has_code(init: Path) -> bool:
    """Whether a folder's ``__init__.py`` holds more than its docstring."""
    body = ast.parse(init.read_text()).body
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)


def package_modules() -> set[str]:
    """The package's modules as the README names them: ``data`` at the top, ``training.loop`` in
    a folder, a folder whose ``__init__`` holds code (``networks``), and a package in a folder as
    one (``workflow.jobs``)."""
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    for folder in (p.parent for p in PACKAGE.glob("*/__init__.py")):
        modules |= {f"{folder.name}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"}
        modules |= {f"{folder.name}.{p.parent.name}" for p in folder.glob("*/__init__.py")}
        if _has_code(folder / "__init__.py"):
            modules.add(folder.name)
    return modules


def test_the_readme_module_table_lists_every_module_and_no_other():
    readme = (REPO / "README.md").read_text()
    table = readme.split("| module | what |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"^\| `([\w.]+)` \|", table, re.M))
    assert listed == package_modules()


def test_the_package_docstring_names_every_module():
    """The package's docstring names its top modules and folders; each folder's names its own."""
    named = set(re.findall(r"``(\w+)``", transfer_tsc.__doc__))
    tops = {m.split(".")[0] for m in package_modules()}
    assert tops <= named, tops - named
    for folder in (p.parent for p in PACKAGE.glob("*/__init__.py")):
        named = set(
            re.findall(
                r"``(\w+)``",
                ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or "",
            )
        )
        own = {m.split(".")[1] for m in package_modules() if m.startswith(folder.name + ".")}
        assert own <= named, (folder.name, own - named)
