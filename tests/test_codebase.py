"""The codebase's own rules, checked on every run: layering, no import cycles, small
modules and functions, and each package's `__all__` naming what it exports."""
from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("monitor", "transcribe", "store", "dalel")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 59
# What each part may import of the others (README, "Architecture").
MAY_IMPORT = {"monitor": set(), "transcribe": set(), "store": set(), "dalel": {"monitor", "transcribe", "store"}}


def _modules() -> dict[str, Path]:
    out = {}
    for part in PARTS:
        for path in (ROOT / part).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
            out[name] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the project `name` imports, at any depth (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def test_parts_import_only_what_the_architecture_allows():
    wrong = [f"{a} imports {b}" for a, deps in _graph().items() for b in deps
             if (pa := a.split(".")[0]) != (pb := b.split(".")[0]) and pb not in MAY_IMPORT[pa]]
    # store.text is linguistics: it imports nothing else of store
    wrong += [f"{a} imports {b}" for a, deps in _graph().items() if a.startswith("store.text")
              for b in deps if not b.startswith("store.text")]
    assert not wrong


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    # a package's __init__ re-exports its modules; those edges are not dependencies
    # of the modules on their package, so only module → module edges count
    edges = {a: {b for b in deps if not (a.startswith(b + ".") and b in PARTS + ("store.text",))}
             for a, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif not state.get(nxt):
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if not state.get(node):
            visit(node, [node])
    assert not cycles, " ; ".join(" → ".join(c) for c in cycles)


def _python_files():
    for folder in PARTS + ("bench", "scripts", "tests"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_module_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in _python_files()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
            and p.parts[-2] != "tests"}
    assert not long


def test_no_function_of_60_lines_or_more():
    long = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long


@pytest.mark.parametrize("package", ["monitor", "transcribe", "store", "store.text", "dalel", "dalel.cli", "dalel.web"])
def test_all_names_what_the_package_exports(package):
    mod = importlib.import_module(package)
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{package} has no __all__"
    assert [n for n in exported if not hasattr(mod, n)] == []
    assert len(set(exported)) == len(exported)
    tree = ast.parse(Path(mod.__file__).read_text(encoding="utf-8"))
    # every name the package imports from its own modules is exported (modules imported to
    # register something, such as the CLI's command modules, are not names)
    imported = {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom) and node.level == 1
                for a in node.names}
    assert sorted(n for n in imported - set(exported) if not inspect.ismodule(getattr(mod, n))) == []
