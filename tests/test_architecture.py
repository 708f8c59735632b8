"""The house plan, checked: layers import downward, no module needs one that needs it,
`modal` only in infra/, a short top level in ingest_service/, and the storage contract
and bucket layout kept where they belong."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each package and the packages of ours it may import (ARCHITECTURE.md: imports flow
# infra -> handlers -> ingest_service -> storage).
LAYERS = {
    "storage": set(),
    "ingest_service": {"storage"},
    "handlers": {"ingest_service", "storage"},
    "infra": {"handlers", "ingest_service", "storage"},
}
MAX_TOP_LEVEL = 12


def _modules() -> dict[str, ast.Module]:
    modules = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = ast.parse(path.read_text(), str(path))
    return modules


MODULES = _modules()


def _imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Every absolute import, type-only ones too: `from a import b` names `a` and `a.b`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, tree in MODULES.items():
        for _, target in _imports(tree):
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            # A package's own __init__ is not a dependency of its modules.
            if target and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert _cycles(_graph()) == []


def test_layers_import_only_downward_and_modal_only_in_infra() -> None:
    problems = []
    for name, tree in MODULES.items():
        package = name.split(".")[0]
        for line, target in _imports(tree):
            root = target.split(".")[0]
            if root == "modal" and package != "infra":
                problems.append(f"{name}:{line} imports modal")
            elif root in LAYERS and root != package and root not in LAYERS[package]:
                problems.append(f"{name}:{line} imports {target}")
    assert problems == []


def test_the_top_of_ingest_service_stays_short() -> None:
    top = sorted(p.name for p in (ROOT / "ingest_service").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top


def test_no_caller_asks_which_store_it_holds() -> None:
    concrete = re.compile(r"isinstance\([^)]*\b(LocalStore|S3Store|LocalMultipart|S3Multipart)\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in ("ingest_service", "handlers", "infra")
        for path in (ROOT / package).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if concrete.search(line)
    ]
    assert offenders == []


def test_only_the_bucket_layout_spells_a_prefix() -> None:
    spelled = re.compile(r"""["'](\.ingest/|incoming/|published/)""")
    layout = ROOT / "ingest_service" / "jobs" / "layout.py"
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in LAYERS
        for path in (ROOT / package).rglob("*.py")
        if path != layout
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if spelled.search(line)
    ]
    assert offenders == []
