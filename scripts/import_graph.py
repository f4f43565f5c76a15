"""The package's import graph and its cycles.

Every ``import`` and ``from … import`` of a ``ballsy`` module counts, wherever it
stands in the file: at the top, inside a function, under ``if TYPE_CHECKING``. A
cycle is a strongly connected component of more than one module.

    python scripts/import_graph.py          # prints the components, exit 1 if any
    python scripts/import_graph.py --json   # the graph as JSON
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "ballsy"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, current: str, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(name: str) -> None:
        # ``import a.b.c`` binds ``a`` but loads ``a.b.c``: the longest known prefix.
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != current:
            found.add(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(current, is_package, node)
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                add(candidate if candidate in modules else target)
    return found


def build_graph(src: Path) -> dict[str, set[str]]:
    files = {module_name(p, src): p for p in (src / PACKAGE).rglob("*.py")}
    modules = set(files)
    return {name: imports_of(path, name, modules) for name, path in sorted(files.items())}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components in discovery order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def cycles(src: Path) -> list[list[str]]:
    return [c for c in strongly_connected(build_graph(src)) if len(c) > 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    parser.add_argument("--json", action="store_true", help="print the whole graph as JSON")
    args = parser.parse_args()
    graph = build_graph(args.src)
    if args.json:
        print(json.dumps({k: sorted(v) for k, v in graph.items()}, indent=2))
        return 0
    found = [c for c in strongly_connected(graph) if len(c) > 1]
    edges = sum(len(v) for v in graph.values())
    print(f"{len(graph)} modules, {edges} imports, {len(found)} cycles")
    for component in sorted(found, key=len, reverse=True):
        print(f"\n{len(component)} modules:")
        for name in component:
            print(f"  {name}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
