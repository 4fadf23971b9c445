"""The package's shape: small modules, an import graph without cycles, and layers that only import
downwards (every import counts, also those inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "avrobust"
MAX_LINES = 300
#: Lowest first. A module may import its own layer and the layers below, never one above.
LAYERS = [
    {"errors", "specs", "options", "registry", "types", "seeding", "stats", "console", "distributed", "runtime"},
    {"io", "record", "results", "tables", "plotting", "media", "cost"},
    {"data", "models"},
    {"checkpoint"},
    {"attacks"},
    {"evaluation"},
    {"defences", "defenses"},  # defenses: the deprecated spelling, a shim
    {"analysis"},
    {"report"},
    {"jobs"},
    {"api", "cli", "__main__", "__init__"},
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The avrobust modules ``name`` imports (``from a.b import c`` counts as ``a.b.c`` when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                      for a in node.names}
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        _layer(module)


def test_every_module_is_short() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


def test_no_lower_layer_imports_a_higher_one() -> None:
    wrong = [f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets if _layer(b) > _layer(a)]
    assert not wrong, "imports that go up a layer: " + ", ".join(sorted(wrong))


def test_the_import_graph_has_no_cycles() -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
