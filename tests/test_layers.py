"""The shape of the code (docs/architecture.md): layers that only look down, no import
circles, no modules loaded by string, and no module too large to read.

The import graph is read from the source (``ast``), not by importing: every ``import``
and ``from … import`` of a non-test module, at module level or inside a function,
except those under ``if TYPE_CHECKING:`` (type-only imports create no run-time edge).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Package -> its layer.  A package may import packages of lower layers only; two
#: packages on one layer do not import each other.
LAYERS: dict[str, int] = {
    "protocol": 0,
    "store": 1,
    "ingest": 2,
    "aggregates": 2,
    "forward": 2,
    "alerts": 3,
    "web": 4,
    "simulators": 5,
    "bench": 6,
    "envgrid": 7,
}
#: Tools beside the product: they may use any package but the composition root.
TOOLS = {"simulators", "bench"}
MAX_LINES = 800
LARGE_LINES = 500
MAX_LARGE_MODULES = 8


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "node_modules" not in path.parts:
                out[_module_name(path)] = path
    return out


MODULES = _modules()
#: C extension modules (setup.py builds them from ``<package>/_<name>.c``): they import
#: nothing of the project, so an import of one is a leaf, not an edge to its package
EXTENSIONS = {_module_name(c) for package in LAYERS for c in (ROOT / package).glob("_*.c")}


def _resolve(name: str) -> str | None:
    """The project module ``name`` refers to (a package's ``__init__`` for a name in it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, skipping the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for node in child.orelse:
                yield node
                yield from _nodes(node)
            continue
        yield child
        yield from _nodes(child)


def _edges(module: str, path: Path) -> Iterator[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (target := _resolve(alias.name)) is not None:
                    yield Edge(module, target, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                full = f"{origin}.{alias.name}"
                if full in EXTENSIONS or origin in EXTENSIONS:
                    continue
                target = _resolve(full) if full in MODULES else _resolve(origin)
                if target is not None:
                    yield Edge(module, target, node.lineno)


EDGES = [edge for module, path in MODULES.items() for edge in _edges(module, path)]


def _package(module: str) -> str:
    return module.partition(".")[0]


def _allowed(source: str, target: str) -> bool:
    if source == target:
        return True
    if target == "envgrid":
        return False
    if source in TOOLS and target not in TOOLS:
        return True
    return LAYERS[target] < LAYERS[source]


def test_the_graph_is_read() -> None:
    # the test is worth nothing if it sees no modules or no edges
    assert len(MODULES) > 100
    assert any(e.source.startswith("envgrid.") and _package(e.target) == "web" for e in EDGES)


def test_layers_only_look_down() -> None:
    wrong = sorted(
        f"{MODULES[e.source].relative_to(ROOT)}:{e.line}: {e.source} imports {e.target}"
        for e in EDGES
        if not _allowed(_package(e.source), _package(e.target))
    )
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(wrong)


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for e in EDGES:
        if e.target != e.source:
            graph[e.source].add(e.target)
    # Tarjan's strongly connected components, iteratively
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0
    for start, successors_of_start in graph.items():
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(successors_of_start)))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
    assert not circles, "import circles:\n" + "\n".join(" ↔ ".join(c) for c in circles)


_STRING_LOADERS = {"import_module", "__import__", "find_spec", "spec_from_file_location"}


def test_the_c_extensions_are_known() -> None:
    assert {"ingest._copyrows", "protocol._fastpath"} <= EXTENSIONS


def test_no_module_is_loaded_by_string() -> None:
    found = []
    for path in MODULES.values():
        for node in _nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in _STRING_LOADERS:
                continue
            first = node.args[0] if node.args else None
            third_party = (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _package(first.value) not in LAYERS
            )
            if not third_party:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "project modules loaded by string:\n" + "\n".join(found)


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_module_sizes() -> None:
    sizes = {module: _lines(path) for module, path in MODULES.items()}
    too_long = sorted(f"{m} ({n} lines)" for m, n in sizes.items() if n > MAX_LINES)
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"
    large = sorted(f"{m} ({n})" for m, n in sizes.items() if n > LARGE_LINES)
    assert len(large) <= MAX_LARGE_MODULES, (
        f"{len(large)} modules over {LARGE_LINES} lines (at most {MAX_LARGE_MODULES}): {large}"
    )


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("web", "alerts", True),
        ("alerts", "web", False),
        ("store", "ingest", False),
        ("ingest", "aggregates", False),
        ("bench", "web", True),
        ("bench", "envgrid", False),
        ("simulators", "bench", False),
        ("protocol", "store", False),
        ("envgrid", "bench", True),
    ],
)
def test_the_rule_itself(source: str, target: str, allowed: bool) -> None:
    assert _allowed(source, target) is allowed


def test_every_package_is_installed_and_type_checked() -> None:
    """A new top-level package is in the wheel (pyproject's packages.find) and in
    ``make typecheck`` — an editable install hides a package missing from the first."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    makefile = (ROOT / "Makefile").read_text()
    [mypy_line] = [line for line in makefile.splitlines() if "$(BIN)/mypy " in line]
    checked = set(mypy_line.split("$(BIN)/mypy ", 1)[1].split())
    packages = {name for name in LAYERS if (ROOT / name / "__init__.py").exists()}
    assert packages <= installed, packages - installed
    assert packages <= checked, packages - checked
