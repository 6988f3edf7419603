"""The shape of the house (issue 14): no import cycles, and the layout the architecture promises.

The import graph is read from the source with `ast`, not from `sys.modules`, so that a lazy
import inside a function counts (a function-level import that closes a cycle is still a
cycle, only deferred), while imports under `if TYPE_CHECKING:` do not (they never run).

Edges are the modules named: `import a.b` and `from a.b import c` give an edge to `a.b.c`
when `c` is a submodule, else to `a.b`. The implicit import of a parent package (importing
`station.store.base` first runs `station/store/__init__.py`) is not an edge: a package face
re-exporting its submodules, which import each other by their full names, is the layout
this test protects, not a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("station", "drivers", "sim")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run (the body of `if TYPE_CHECKING:` excluded)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = _resolve(name, path.name == "__init__.py", node)
                targets = [
                    f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source
                    for a in node.names
                ]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
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
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_lazy_imports_and_skips_type_checking_ones() -> None:
    graph = import_graph()
    assert "station.config_check" in graph["station.cli"]  # imported inside a command
    # ui.app imports ui.screens; screens names the App only for the type checker.
    assert "station.ui.screens" in graph["station.ui.app"]
    assert "station.ui.app" not in graph["station.ui.screens"]


def test_no_import_cycle_among_the_product_modules() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles (break each; see docs/architecture.md):\n" + "\n".join(
        " <-> ".join(c) for c in found
    )


def test_subsystems_are_packages_with_no_prefixed_modules_at_the_top() -> None:
    top = sorted(p.name for p in (ROOT / "station").glob("_*.py") if p.name != "__init__.py")
    assert top == []
    for package in ("store", "sync", "demo", "bench", "core", "ui", "schemas", "config", "master"):
        assert (ROOT / "station" / package / "__init__.py").is_file(), package
    assert not (ROOT / "bench").exists() and (ROOT / "benchmarks").is_dir()


def test_the_workflow_is_the_top_of_the_bench_and_drivers_stand_alone() -> None:
    graph = import_graph()
    # Issue 14.3: the workflow's helpers do not call back into it.
    into_workflow = sorted(m for m, targets in graph.items() if "station.bench.workflow" in targets)
    assert [m for m in into_workflow if m.startswith("station.bench.")] == []
    # Issue 14.5: drivers/ never depends on the station.
    assert [
        (m, t)
        for m, ts in graph.items()
        if m.startswith("drivers")
        for t in ts
        if t.startswith("station")
    ] == []
