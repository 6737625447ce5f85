"""The package's folders are its layers and dependencies go one way (README, "The package"):

    workflow  ->  settings, zoo, recommend, cli (the applications)
              ->  training  ->  networks
              ->  similarity, report
              ->  the core at the top: errors, io, data, demo, study, transferability, console

A module imports its own layer or a lower one, never a higher one, not even inside a function;
``training``, ``similarity`` and ``report`` do not import each other (only ``training`` uses
``networks``); nothing imports ``workflow``; there is no import cycle; and the DTW modules go
``dtw`` <- ``prototypes`` <- ``distances``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "transfer_tsc"
NAME = "transfer_tsc"

# Layer of each folder (a module at the top is in the core unless named here).
APPLICATIONS = {"settings", "zoo", "recommend", "cli", "classifier"}
LAYER = {"core": 0, "networks": 1, "similarity": 1, "report": 1, "training": 2}
LAYER |= {"applications": 3, "workflow": 4}
# Folders of one layer that may not import each other.
APART = {"similarity", "report", "training"}


def modules() -> set[str]:
    """The package's modules as dotted names under the package: ``data``, ``training.loop``,
    ``training`` (its ``__init__``); the package's own ``__init__`` is ``__init__``."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found.add(".".join(parts))
    return found


def path_of(module: str) -> Path:
    path = PACKAGE.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _resolve(base: str, known: set[str]) -> str | None:
    """The longest known module that ``base`` (dotted, under the package) names or lies in."""
    parts = base.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def imported_modules(module: str, known: set[str]) -> set[str]:
    """The package modules one module imports anywhere in it (module top or inside a function),
    absolute (``from transfer_tsc.x import y``, ``import transfer_tsc.x``) or relative."""
    path = path_of(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == NAME:
                    found.add(_resolve(alias.name.partition(".")[2], known) or "__init__")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            elif node.module and node.module.split(".")[0] == NAME:
                base = node.module.partition(".")[2]
            else:
                continue
            for alias in node.names:  # from x import module, or from x import name
                name = f"{base}.{alias.name}" if base else alias.name
                found.add(_resolve(name, known) or _resolve(base, known) or "__init__")
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (itself left out)."""
    known = modules()
    return {name: imported_modules(name, known) - {name} for name in sorted(known)}


def folder(module: str) -> str:
    """``training`` for ``training.loop``, ``applications`` or ``core`` for a top module."""
    top = module.split(".")[0]
    if (PACKAGE / top).is_dir():
        return top
    return "applications" if top in APPLICATIONS else "core"


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


def layer_breaches(graph: dict[str, set[str]]) -> list[str]:
    """Every import that goes up a layer, or across folders of one layer."""
    breaches = []
    for module, imported in sorted(graph.items()):
        for other in sorted(imported - {"__init__"}):
            mine, theirs = folder(module), folder(other)
            upward = LAYER[theirs] > LAYER[mine]
            across = (
                mine != theirs and LAYER[mine] == LAYER[theirs] and mine in APART | {"networks"}
            )
            if upward or across:
                breaches.append(f"{module} ({mine}) imports {other} ({theirs})")
    return breaches


def test_the_graph_sees_imports_inside_functions_and_in_folders():
    graph = import_graph()
    assert "similarity.prototypes" in graph["zoo"]  # zoo.describe_prototypes, in the function
    assert "training.transfer" in graph["recommend"]  # recommend.add_scores likewise
    assert "networks.fcn" in graph["training.transfer"] or "networks" in graph["training.transfer"]
    assert "similarity.dtw" in graph["similarity.prototypes"]


def test_find_cycle_names_the_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize(
    "graph, breach",
    [
        ({"data": {"training.loop"}, "training.loop": set()}, "data (core) imports training.loop"),
        ({"report.figures": {"similarity.dtw"}, "similarity.dtw": set()}, "(similarity)"),
        ({"zoo": {"workflow.runner"}, "workflow.runner": set()}, "zoo (applications) imports"),
    ],
)
def test_a_breach_is_found(graph, breach):
    assert any(breach in line for line in layer_breaches(graph)), layer_breaches(graph)


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_layers_depend_one_way():
    assert layer_breaches(import_graph()) == []


def test_nothing_imports_the_workflow_layer():
    graph = import_graph()
    users = {m for m, imported in graph.items() for o in imported if o.startswith("workflow")}
    assert {m for m in users if folder(m) != "workflow"} == set()


def test_the_dtw_modules_depend_one_way():
    graph = import_graph()
    assert "similarity.dtw" in graph, "no module transfer_tsc.similarity.dtw"
    assert not graph["similarity.dtw"] & {"similarity.prototypes", "similarity.distances"}
    assert "similarity.distances" not in graph["similarity.prototypes"]


def test_every_folder_is_a_layer():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= set(LAYER), folders - set(LAYER)
