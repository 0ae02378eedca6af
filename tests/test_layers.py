"""The package's layers (docs/architecture.md): no module imports from a layer above its own."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "copypatch"

#: bottom to top; a module may import from its own layer and the ones below
LAYERS: list[tuple[str, set[str]]] = [
    ("C core and its tables", {"_core", "_errors", "_lazy", "_pgcatalog", "_catalog", "sqltypes", "opcodes", "_fmgr", "_datetime",
                               "jit", "_stencils"}),
    ("the data the stages share", {"nodes", "schema", "steps"}),
    ("layout and engines", {"layout"}),
    ("verifier", {"verify"}),
    ("passes", {"passes"}),
    ("lowering", {"lower"}),
    ("front end: parse, analyse, plan", {"expr", "sql", "analyze", "planner"}),
    ("programs", {"program", "compiler", "rawsteps", "plancache"}),
    ("the public API", {"__init__"}),
    ("drivers", {"pg", "testing", "workload", "peers", "bench", "experiment", "fuzz",
                 "instructions", "_cli", "__main__", "_build", "_pgwatch", "pgprovider",
                 "pgregress", "tpch"}),
]
LAYER_OF = {m: i for i, (_, mods) in enumerate(LAYERS) for m in mods}


def imported(path: Path) -> set[str]:
    """The package modules a module imports, anywhere in it (lazy imports included)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 1:  # from . import x / from .x import y
                out.add(mod.split(".")[0] if mod else "")
                if not mod:
                    out.update(a.name for a in node.names)
            elif mod == "copypatch" or mod.startswith("copypatch."):
                rest = mod.split(".")[1:]
                out.update([rest[0]] if rest else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("copypatch."):
                    out.add(a.name.split(".")[1])
                elif a.name == "copypatch":
                    out.add("__init__")
    out.discard("")
    return {m for m in out if m in LAYER_OF}


def test_every_module_has_a_layer() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} | {"_stencils", "_core"}
    assert modules - set(LAYER_OF) == set(), "add the new module to a layer (and to the doc)"


def test_no_module_imports_from_a_layer_above() -> None:
    bad = []
    for path in sorted(PACKAGE.glob("*.py")):
        mine = LAYER_OF[path.stem]
        for dep in sorted(imported(path)):
            if LAYER_OF[dep] > mine:
                bad.append(f"{path.stem} ({LAYERS[mine][0]}) imports {dep} ({LAYERS[LAYER_OF[dep]][0]})")
    assert not bad, "\n".join(bad)
