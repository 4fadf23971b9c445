"""The package's shape: small modules, an import graph without cycles, and layers that only import
downwards (every import counts, also those inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "avrobust"
MAX_LINES = 300
#: Lowest first. A module may import its own layer and the layers below, never one above.
LAYERS = [
    {"errors", "specs", "options", "registry", "types", "seeding", "stats", "console", "device", "distributed",
     "runtime", "version"},
    {"io", "record", "results", "tables", "plotting", "media", "cost"},
    {"data", "models", "corruptions"},
    {"checkpoint", "weights"},
    {"attacks"},
    {"evaluation", "certification"},
    {"defences"},
    {"analysis"},
    {"report"},
    {"jobs"},
    {"studies"},
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


# ---- the plug-in shape ------------------------------------------------------------------------------------
def _registries() -> dict[str, tuple[set[str], tuple[str, ...]]]:
    """Per registry: every name and alias, and the packages where its entries may be named (their own modules)."""
    from avrobust.analysis import ANALYSES
    from avrobust.attacks import ATTACKS
    from avrobust.data import DATASETS
    from avrobust.defences import METHODS
    from avrobust.results import RESULT_KINDS

    def names(reg) -> set[str]:  # noqa: ANN001
        return set(reg.names()) | set(reg.names(aliases=True))

    return {"result kind": (names(RESULT_KINDS), ("avrobust.results",)),
            "dataset": (names(DATASETS), ("avrobust.data.recipes",)),
            "attack": (names(ATTACKS), ("avrobust.attacks",)),
            "training method": (names(METHODS), ("avrobust.defences",)),
            "analysis": (names(ANALYSES) - {"eps"}, ("avrobust.analysis",))}  # "eps" is also a budget's field


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def _declarations(tree: ast.AST) -> set[int]:
    """The dicts a plug-in declares its default selections in (``defaults = {...}``): their keys name selections."""
    return {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
            and any(isinstance(t, ast.Name) and t.id == "defaults" for t in node.targets)}


#: how many registered names a literal may list before it is a hand-written list (attack and method names are
#: often listed in pairs; kinds and datasets share words with prose, so three)
LISTED = {"result kind": 3, "dataset": 3, "attack": 2, "training method": 2, "analysis": 3}


def test_no_kind_or_dataset_is_special_cased_and_no_list_of_names_is_written_by_hand() -> None:
    """Outside a plug-in's own package nothing compares a value with a registered kind's or dataset's name,
    and no literal lists registered names (two attacks or methods, three kinds, datasets or analyses), nor
    does a text list them (three): every default list is generated from what the plug-ins declare
    (:func:`avrobust.attacks.default_attacks`, :func:`avrobust.defences.base.ablation_configs`) or from the
    registries; tests/cli/test_help.py checks that help texts name every registered entry."""
    import re

    wrong = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        docs, declared = _docstrings(tree), _declarations(tree)
        for what, (names, home) in _registries().items():
            if module.startswith(home):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Compare) and what in ("result kind", "dataset"):
                    consts = [c.value for c in (node.left, *node.comparators)
                              if isinstance(c, ast.Constant) and isinstance(c.value, str)]
                    consts += [e.value for c in node.comparators if isinstance(c, (ast.Tuple, ast.List, ast.Set))
                               for e in c.elts if isinstance(e, ast.Constant)]
                    wrong += [f"{module}: compares with the {what} {c!r}" for c in consts if c in names]
                elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                    listed = {str(e.value).partition(":")[0] for e in node.elts if isinstance(e, ast.Constant)
                              and isinstance(e.value, str) and str(e.value).partition(":")[0] in names}
                    if len(listed) >= LISTED[what]:
                        wrong.append(f"{module}: a literal lists the {what}s {sorted(listed)}")
                elif isinstance(node, ast.Dict) and id(node) not in declared:
                    keyed = {k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in names}
                    exports = all(isinstance(v, ast.Constant) and str(v.value).startswith("avrobust.")
                                  for v in node.values)  # the package's lazy exports: function name -> module
                    if len(keyed) >= 2 and what in ("result kind", "dataset", "training method") and not exports:
                        wrong.append(f"{module}: a dict keyed by the {what}s {sorted(keyed)}")
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                    words = {w for w in names if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", node.value)}
                    if len(words) >= 3 and len(node.value) < 400:
                        wrong.append(f"{module}: the text {node.value[:50]!r}... lists the {what}s {sorted(words)}")
    assert not wrong, "\n".join(wrong)


def test_the_hand_list_check_catches_a_hand_list(tmp_path: Path) -> None:
    """The check above fails on a module that lists attacks by hand (it would pass anything otherwise)."""
    global MODULES
    fake = tmp_path / "hand.py"
    fake.write_text('DEFAULT = ("fgsm", "pgd:steps=10")\nHELP = "craft with fgsm, mifgsm or tma"\n')
    saved, MODULES = MODULES, {"avrobust.jobs.hand": fake}
    try:
        try:
            test_no_kind_or_dataset_is_special_cased_and_no_list_of_names_is_written_by_hand()
        except AssertionError as e:
            assert "a literal lists the attacks ['fgsm', 'pgd']" in str(e) and "lists the attacks" in str(e).split("\n")[1]
        else:
            raise AssertionError("a hand-written list of attacks passed the check")
    finally:
        MODULES = saved


#: folders whose modules are plug-ins (each registers the entry it is named after, or is the folder's shared
#: base): only there may two modules share a file name
PLUGIN_FOLDERS = ("attacks", "defences", "results", "analysis", "certification", "corruptions", "data/recipes", "models/backbones")


def test_no_file_name_is_used_twice_outside_plug_in_folders() -> None:
    """A file name says what a module holds: two modules share one only when both are plug-ins (the same
    role in sibling plug-in folders, e.g. each folder's ``base.py``)."""
    by_name: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        if path.name != "__init__.py":
            by_name.setdefault(path.name, []).append(path.parent.relative_to(SRC).as_posix())
    shared = {name: folders for name, folders in by_name.items()
              if len(folders) > 1 and not all(f in PLUGIN_FOLDERS for f in folders)}
    assert not shared, f"file names used twice (rename so each says what it holds): {shared}"


def test_no_shim_is_left() -> None:
    """Deprecated modules go in the release after they were deprecated (CHANGELOG.md): none is left."""
    shims = [m for m, p in MODULES.items() if "DeprecationWarning" in p.read_text()]
    assert not shims, f"deprecated shims left: {shims}"


def test_every_kind_and_dataset_module_registers_itself() -> None:
    """A plug-in is its module: each module of the kinds' and datasets' packages registers one entry
    (their shared bases aside), so adding one is that module and its test."""
    from avrobust.data import DATASETS
    from avrobust.results import RESULT_KINDS

    owners = {RESULT_KINDS.get(k).__module__ for k in RESULT_KINDS} | {DATASETS.get(d).__module__ for d in DATASETS}
    bases = {"avrobust.results", "avrobust.results.base", "avrobust.data.recipes", "avrobust.data.recipes.decoded"}
    plugins = {m for m in MODULES if m.startswith(("avrobust.results.", "avrobust.data.recipes.")) or m in bases}
    assert plugins - bases == owners


def test_the_tests_mirror_the_package() -> None:
    """Tests of a package's modules live in ``tests/<package>/`` (``test_<module>.py`` where one module is
    tested); a folder of tests names a package of avrobust."""
    tests = Path(__file__).resolve().parent
    folders = {p.parent.relative_to(tests).as_posix() for p in tests.rglob("test_*.py")} - {"."}
    strays = sorted(f for f in folders if not (SRC / f).is_dir())
    assert not strays, f"test folders that name no package of src/avrobust: {strays}"
