"""Lower layers never import higher ones, and the packages import each other without a cycle.

Every module under ``elastic/`` is parsed (not imported) and every import in
it counts: at the top, inside functions, under ``TYPE_CHECKING``, relative,
and ``from elastic import x``. Docstring examples do not count.

LAYERS is the one table of layers; ``docs/architecture.md`` shows it, and
:func:`test_the_architecture_doc_shows_this_table` keeps the two equal.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "elastic"

LAYERS: dict[str, int] = {
    # 0: the contracts, the errors, and leaves that import nothing else of elastic
    "core": 0,
    "errors": 0,
    "files": 0,
    "yamlfile": 0,
    "data": 0,
    # 1: pure models over the core: policies (Kubernetes, KEDA and Knative ones
    # included), forecasters, billing, queueing formulas, the conformance checks
    "policies": 1,
    "forecast": 1,
    "cost": 1,
    "queueing": 1,
    "kubernetes": 1,
    "keda": 1,
    "knative": 1,
    "checks": 1,
    # 2: systems under simulation and their evaluation
    "sim": 2,
    "nodes": 2,
    "evaluate": 2,
    # 3: what builds and runs many simulations
    "scenario": 3,
    "bench": 3,
    "control": 3,
    "tune": 3,
    "testing": 3,
    # 4: entry points and everything re-exported
    "cli": 4,
    "plot": 4,
    "demo": 4,
    "__main__": 4,
    "__init__": 4,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The top-level package or module of ``elastic`` that ``module`` belongs to."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    name = parts[1]
    if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file():
        return name
    return "__init__"  # a name re-exported by elastic/__init__.py


def _imports(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """``(line, imported module)`` for every import in ``source``, the text of ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source_module = ".".join(base + ([node.module] if node.module else []))
            else:
                source_module = node.module or ""
            if source_module == "elastic":  # from elastic import sim, DecisionLoop
                for alias in node.names:
                    yield node.lineno, f"elastic.{alias.name}"
            else:
                yield node.lineno, source_module


Edge = tuple[str, int, str, str, str]
"""``(file, line, importer unit, imported module, imported unit)``."""


def _edges_of(file: str, source: str, module: str, is_package: bool) -> Iterator[Edge]:
    importer = _unit(module)
    for line, imported in _imports(source, module, is_package):
        if imported != "elastic" and not imported.startswith("elastic."):
            continue
        target = _unit(imported)
        if target != importer:
            yield file, line, importer, imported, target


def _edges() -> Iterator[Edge]:
    """The imports from one unit of ``elastic`` to another, in every module."""
    for path in sorted(PACKAGE.rglob("*.py")):
        file = str(path.relative_to(ROOT))
        yield from _edges_of(file, path.read_text(), _module_name(path), path.name == "__init__.py")


def _violations(edges: list[Edge]) -> list[str]:
    found = []
    for file, line, importer, imported, target in edges:
        if LAYERS[target] > LAYERS[importer]:
            found.append(
                f"{file}:{line}: {importer} (layer {LAYERS[importer]}) imports {imported} "
                f"({target}, layer {LAYERS[target]}): a lower layer may not import a higher one"
            )
    return found


def test_every_package_and_module_has_a_layer():
    units = {_unit(_module_name(path)) for path in PACKAGE.rglob("*.py")}
    missing = sorted(units - set(LAYERS))
    assert not missing, (
        f"{missing} under elastic/ have no layer: add them to LAYERS in tests/test_layers.py "
        "and to the table in docs/architecture.md"
    )


def test_no_lower_layer_imports_a_higher_one():
    violations = _violations(list(_edges()))
    assert not violations, "\n".join(violations)


def test_the_packages_import_each_other_without_a_cycle():
    graph: dict[str, set[str]] = defaultdict(set)
    for _, _, importer, _, target in _edges():
        graph[importer].add(target)
    state: dict[str, str] = {}

    def visit(unit: str, path: list[str]) -> list[str] | None:
        state[unit] = "open"
        for nxt in sorted(graph[unit]):
            if state.get(nxt) == "open":
                walk = [*path, unit]
                return [*walk[walk.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, unit])):
                return cycle
        state[unit] = "done"
        return None

    for unit in sorted(graph):
        if unit not in state and (cycle := visit(unit, [])):
            pytest.fail("the packages import each other in a cycle: " + " -> ".join(cycle))


def test_the_checker_sees_every_form_of_import():
    source = (
        "import elastic.sim\n"
        "from elastic import bench, DecisionLoop\n"
        "from ..scenario import build\n"
        "def later():\n"
        "    from elastic.cli import main\n"
    )
    edges = list(_edges_of("elastic/core/probe.py", source, "elastic.core.probe", False))
    assert [(line, imported, target) for _, line, _, imported, target in edges] == [
        (1, "elastic.sim", "sim"),
        (2, "elastic.bench", "bench"),
        (2, "elastic.DecisionLoop", "__init__"),
        (3, "elastic.scenario", "scenario"),
        (5, "elastic.cli", "cli"),
    ]
    violations = _violations(edges)
    assert len(violations) == 5
    assert violations[0] == (
        "elastic/core/probe.py:1: core (layer 0) imports elastic.sim (sim, layer 2): "
        "a lower layer may not import a higher one"
    )


def test_the_architecture_doc_shows_this_table():
    text = (ROOT / "docs" / "architecture.md").read_text()
    shown: dict[str, int] = {}
    for layer, cell in re.findall(r"^\| (\d) \| ([^|]+) \|", text, re.MULTILINE):
        for name in re.findall(r"`([^`]+)`", cell):
            shown[name.removesuffix(".py").removesuffix("/")] = int(layer)
    assert shown == LAYERS
