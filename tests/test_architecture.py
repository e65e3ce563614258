"""The shape of the code: layers, no import cycles, small modules (static checks with ``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backend", "deepones_gui", "plugins")
QT = {"PySide6", "shiboken6", "PyQt5", "PyQt6", "pyqtgraph", "qasync"}
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, module: str, is_package: bool) -> list[tuple[str, int]]:
    """(imported module, line) for every import, lazy ones inside functions included; not the
    ones under ``if TYPE_CHECKING:`` (they never run)."""
    tree = ast.parse(path.read_text("utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
            for n in ast.walk(node)}
    out = []
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = ".".join(base[: len(base) - node.level + 1])
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            # ``from pkg import module`` imports a submodule.
            out += [(f"{target}.{a.name}", node.lineno) for a in node.names]
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for target, _ in _imports(path, mod, path.name == "__init__.py"):
            if target in mods and target != mod and not mod.startswith(target + "."):
                graph[mod].add(target)
    return graph


def test_backend_imports_no_plugins_no_gui_no_qt():
    offenders = []
    for mod, path in _modules().items():
        if not mod.startswith("backend"):
            continue
        for target, line in _imports(path, mod, path.name == "__init__.py"):
            top = target.split(".")[0]
            if top in {"plugins", "deepones_gui"} | QT:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not offenders, "\n".join(offenders)


def test_views_hold_no_sql():
    offenders = []
    for path in (ROOT / "deepones_gui").rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
                if any(n.split(".")[0] == "sqlite3" or n == "open_db" for n in names):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports sqlite3/open_db")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {
                    "execute", "executemany", "executescript", "open_db"}:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} calls .{node.func.attr}()")
    assert not offenders, "\n".join(offenders)


def test_no_import_cycles():
    graph = _graph()
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(cycles)


def test_no_module_over_500_lines():
    big = []
    for pkg in (*PACKAGES, "resources", "scripts", "packaging"):
        for path in (ROOT / pkg).rglob("*.py"):
            n = len(path.read_text("utf-8").splitlines())
            if n > MAX_LINES:
                big.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not big, "\n".join(big)
