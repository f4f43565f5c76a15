"""The package's layering, read from its import graph (``scripts/import_graph.py``).

Every import counts, wherever it stands in a file: at the top, inside a function,
under ``if TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTAINER = "ballsy.services"
# The composition root: what builds the container and hands its parts out.
CONTAINER_READERS = {"ballsy.app", "ballsy.cli", "ballsy.api.deps"}


def _import_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts/import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def import_graph() -> ModuleType:
    return _import_graph()


@pytest.fixture(scope="module")
def graph(import_graph: ModuleType) -> dict[str, set[str]]:
    built: dict[str, set[str]] = import_graph.build_graph(ROOT / "src")
    return built


def test_no_import_cycles(import_graph: ModuleType, graph: dict[str, set[str]]) -> None:
    components: list[list[str]] = import_graph.strongly_connected(graph)
    cycles = [c for c in components if len(c) > 1]
    assert cycles == [], f"import cycles: {cycles}"


def test_only_the_composition_root_imports_the_container(graph: dict[str, set[str]]) -> None:
    readers = {module for module, imported in graph.items() if CONTAINER in imported}
    assert sorted(readers - CONTAINER_READERS) == [], (
        f"these modules import {CONTAINER}; hand them the services they use instead"
    )


def test_security_never_names_the_container(graph: dict[str, set[str]]) -> None:
    security = {m for m in graph if m == "ballsy.security" or m.startswith("ballsy.security.")}
    assert security, "the graph lost the security package"
    assert {m for m in security if CONTAINER in graph[m]} == set()
