"""The package's import graph: no circle, and imports where a reader looks for them.

Read statically (the source, not a running interpreter, so an import hidden in a function counts too):

* no two modules import each other, directly or around a circle; an edge is any ``import`` of a lab
  module (at the top or inside a function), importing a module's parent packages as Python does, and a
  registry's ``"module:Class"`` entry (spaces/, strategies/, estimators/ import those on first use);
* an import inside a function only defers a heavy or optional third-party package (torch's extras,
  Ray, Optuna, plotly, matplotlib, scipy, ...) and says why on its line: a lab module, or anything loaded
  anyway, is imported at the top of its file.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"nasbench_lab": ROOT / "nasbench_lab", "nasbench_lab.widgets": ROOT / "widgets"}


def _modules() -> dict:
    """module name -> (path, is_package)."""
    out = {}
    for prefix, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            name = ".".join([prefix] + (parts[:-1] if is_pkg else parts))
            out[name] = (path, is_pkg)
    return out


MODULES = _modules()
# Lab modules that import an optional heavy package at their top: importing one of them inside a function
# defers that package (the widgets work without anywidget, drawing static figures).
WRAPS_OPTIONAL = {"nasbench_lab.widgets.liveplot": "anywidget"}


def _imports(tree) -> list:
    """(node, inside a function) for every import statement, skipping ``if TYPE_CHECKING:`` blocks."""
    found = []

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, in_function))
            walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))
    walk(tree, False)
    return found


def _targets(name: str, is_pkg: bool, node) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    if node.level:
        base = base[:len(base) - node.level + 1]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module
    return [f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names]


def _parents(name: str) -> set:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _registry(tree) -> list[str]:
    """The ``module`` of every ``"module:Class"`` value in a module-level ``_REGISTRY = {...}``."""
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_REGISTRY" for t in node.targets)
                and isinstance(node.value, ast.Dict)):
            return [v.value.split(":")[0] for v in node.value.values if isinstance(v, ast.Constant)]
    return []


def _graph() -> dict:
    edges = {m: set() for m in MODULES}
    for name, (path, is_pkg) in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, _ in _imports(tree):
            for target in _targets(name, is_pkg, node):
                if not target.startswith("nasbench_lab"):
                    continue
                # importing a module runs its parent packages first (those of the importer already run)
                for t in {target} | (_parents(target) - _parents(name)):
                    if t in MODULES and t != name:
                        edges[name].add(t)
        edges[name] |= {f"{name}.{m}" for m in _registry(tree) if f"{name}.{m}" in MODULES}
    return edges


def _cycles(edges: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    edges = _graph()
    assert "nasbench_lab.estimators.table" in edges["nasbench_lab.estimators"]          # a registry entry
    assert "nasbench_lab.estimators" in edges["nasbench_lab.search"]                     # a top-level import
    assert "nasbench_lab.spaces.nb201" in edges["nasbench_lab.spaces"]                 # a registry entry
    assert "nasbench_lab.spaces" in edges["nasbench_lab.viz.dag"]                        # a parent package


def test_no_import_circle():
    assert _cycles(_graph()) == []


def test_a_circle_would_be_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_function_level_imports_only_defer_heavy_packages_and_say_why(name):
    path, is_pkg = MODULES[name]
    lines = path.read_text(encoding="utf-8").splitlines()
    for node, in_function in _imports(ast.parse("\n".join(lines))):
        if not in_function:
            continue
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        lab = [t for t in _targets(name, is_pkg, node) if t.startswith("nasbench_lab") and t not in WRAPS_OPTIONAL]
        assert not lab, f"{where}: a lab module is imported inside a function; import it at the top"
        assert "#" in lines[node.lineno - 1], f"{where}: a deferred import says why on its line"
