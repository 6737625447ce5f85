"""The package's modules depend one way: no import cycle, and the DTW modules in the order
``dtw`` <- ``prototypes`` <- ``similarity`` (a lower module never imports a higher one, not
even inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "transfer_tsc"
NAME = "transfer_tsc"


def modules() -> set[str]:
    """The package's modules (``src/transfer_tsc/*.py``), ``__init__`` included."""
    return {path.stem for path in PACKAGE.glob("*.py")}


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The package modules one file imports anywhere in it (module top or inside a function):
    ``from . import x``, ``from .x import y``, ``from transfer_tsc import x``,
    ``from transfer_tsc.x import y`` and ``import transfer_tsc.x``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == NAME:
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = node.module
            elif node.level == 0 and node.module and node.module.split(".")[0] == NAME:
                base = node.module.split(".", 1)[1] if "." in node.module else None
            else:
                continue
            if base is None:  # from . import x, y: each name that is a module
                found |= {alias.name for alias in node.names if alias.name in known}
            else:
                found.add(base.split(".")[0])
    return found & known


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (itself left out)."""
    known = modules()
    return {
        name: imported_modules(PACKAGE / f"{name}.py", known) - {name} for name in sorted(known)
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for other in sorted(graph.get(node, ())):
            if state.get(other) == "open":
                return path[path.index(other) :] + [other]
            if other not in state:
                cycle = visit(other)
                if cycle:
                    return cycle
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "prototypes" in graph["zoo"]  # zoo.describe_prototypes imports it in the function
    assert "transfer" in graph["recommend"]  # recommend.add_scores likewise


def test_find_cycle_names_the_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_dtw_modules_depend_one_way():
    graph = import_graph()
    assert "dtw" in graph, "no module transfer_tsc.similarity.dtw"
    assert not graph["dtw"] & {"prototypes", "similarity"}, graph["dtw"]
    assert "similarity" not in graph["prototypes"], graph["prototypes"]
