"""Rules of the package's layout that a reader relies on, checked on the source.

- :mod:`ballsy.testing` (clients and harnesses that drive a server from outside) is never
  imported by the server: only by itself, and lazily inside a command of the CLI;
- :mod:`ballsy.config` is the only module that reads the environment.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
TESTING = "ballsy.testing"
CLI_MODULES = frozenset({"ballsy.cli", "ballsy.capacity.cli"})
"""Command-line modules: they may import ``ballsy.testing``, inside a command only."""


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((SRC / "ballsy").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported(node: ast.AST, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolve against the importing module's package
            base = module.split(".")[: -node.level]
            return [".".join([*base, node.module] if node.module else base)]
        return [node.module or ""]
    return []


def _is_testing(name: str) -> bool:
    return name == TESTING or name.startswith(TESTING + ".")


def _top_level_imports(tree: ast.Module) -> set[int]:
    """Ids of the import nodes that run when the module is imported (not in a function)."""
    found: set[int] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.add(id(node))
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_the_server_never_imports_ballsy_testing() -> None:
    offenders = []
    for module, tree in modules():
        if _is_testing(module):
            continue
        eager = _top_level_imports(tree)
        for node in ast.walk(tree):
            if not any(_is_testing(name) for name in _imported(node, module)):
                continue
            line = getattr(node, "lineno", 0)
            if module not in CLI_MODULES:
                offenders.append(f"{module}:{line} imports {TESTING}")
            elif id(node) in eager:
                offenders.append(f"{module}:{line} imports {TESTING} at import time")
    assert not offenders, offenders


def test_serving_loads_no_test_client() -> None:
    """The same rule, observed: the app and the CLI import without ``ballsy.testing``."""
    code = (
        "import sys, ballsy.app, ballsy.cli; "
        f"print(sorted(m for m in sys.modules if m.startswith({TESTING!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def _reads_environment(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id == "os" and node.attr in {"environ", "environb", "getenv"}
    if isinstance(node, ast.ImportFrom) and node.module == "os":
        return any(alias.name in {"environ", "environb", "getenv"} for alias in node.names)
    return False


def test_only_config_reads_the_environment() -> None:
    offenders = [
        f"{module}:{node.lineno}"
        for module, tree in modules()
        if module != "ballsy.config"
        for node in ast.walk(tree)
        if _reads_environment(node) and isinstance(node, ast.expr | ast.stmt)
    ]
    assert not offenders, f"read the environment through ballsy.config: {offenders}"
