"""The shape of the code: layers, no import cycles, small modules (static checks with ``ast``)."""

from __future__ import annotations

import ast
import functools
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backend", "deepones_gui", "plugins")
QT = {"PySide6", "shiboken6", "PyQt5", "PyQt6", "pyqtgraph", "qasync"}
MAX_LINES = 500


@functools.lru_cache(maxsize=4)
def _modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    mods = {}
    for pkg in packages:
        for path in (root / pkg).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, module: str, is_package: bool, *, type_checking: bool = True,
             mods: dict[str, Path] | None = None) -> list[tuple[str, int]]:
    """(imported module, line) for every import, lazy ones inside functions included, and those under
    ``if TYPE_CHECKING:`` unless ``type_checking`` is False: they never run, but a back-edge there is
    still a dependency in the design (it only hides the cycle from the interpreter).

    ``from pkg import name`` depends on ``pkg`` (it runs ``pkg/__init__`` and reads ``name`` off the
    package) and on ``pkg.name`` when that is a submodule. ``import pkg.sub`` depends on ``pkg.sub``:
    a submodule imported by its full name needs no names from its parent's ``__init__``."""
    tree = ast.parse(path.read_text("utf-8"))
    skip = set() if type_checking else {
        id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
        for n in ast.walk(node)}
    mods = _modules() if mods is None else mods
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
            # The package itself always: the statement runs its __init__ and reads names off it.
            out.append((target, node.lineno))
            out += [(f"{target}.{a.name}", node.lineno) for a in node.names if f"{target}.{a.name}" in mods]
    return out


def _graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """module -> modules it imports. Edges to a module's own parent packages are kept: a submodule
    that imports names from its package's ``__init__`` while that ``__init__`` imports it is a cycle."""
    mods = _modules(root, packages)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for target, _ in _imports(path, mod, path.name == "__init__.py", mods=mods):
            if target in mods and target != mod:
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


def _cycles(graph: dict[str, set[str]]) -> list[str]:
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
    return cycles


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "\n".join(cycles)


def _write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_cycle_check_sees_package_init_cycles(tmp_path):
    # backend.store's old shape: the package's __init__ imports db, db imports migrations, and
    # migrations reads a name off the package (``from pkg import ...``), which needs its __init__.
    _write_package(tmp_path, {
        "pkg/__init__.py": "from pkg.db import open_db\n",
        "pkg/db.py": "from pkg.migrations import MIGRATIONS\n\ndef open_db(): ...\n",
        "pkg/migrations.py": "from pkg import schema\n\nMIGRATIONS = schema.STEPS\n",
        "pkg/schema.py": "STEPS = []\n",
    })
    assert _cycles(_graph(tmp_path, ("pkg",))) == ["pkg -> pkg.db -> pkg.migrations -> pkg"]
    # The fix: the submodule by its full name; importing pkg.schema needs no names from pkg/__init__.
    (tmp_path / "pkg/migrations.py").write_text("from pkg.schema import STEPS\n\nMIGRATIONS = STEPS\n")
    _modules.cache_clear()
    assert _cycles(_graph(tmp_path, ("pkg",))) == []


def test_the_cycle_check_sees_type_checking_back_edges(tmp_path):
    _write_package(tmp_path, {
        "app/__init__.py": "",
        "app/page.py": "from app.table import Table\n\nclass Page: ...\n",
        "app/table.py": """\
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from app.page import Page

            class Table:
                def __init__(self, page: Page) -> None: ...
            """,
    })
    assert _cycles(_graph(tmp_path, ("app",))) == ["app.page -> app.table -> app.page"]


def test_no_module_over_500_lines():
    big = []
    for pkg in (*PACKAGES, "resources", "scripts", "packaging"):
        for path in (ROOT / pkg).rglob("*.py"):
            n = len(path.read_text("utf-8").splitlines())
            if n > MAX_LINES:
                big.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not big, "\n".join(big)


def _child_to_page_edges(root: Path = ROOT) -> list[str]:
    """A workspace's parts that reach back into its page: an import of ``<workspace>.page`` (under
    TYPE_CHECKING too), or a ``Protocol`` named ``*Host``/``*Page`` declaring what a part needs from the
    page that holds it (the same back-edge, hidden from the import graph). Parts report with signals."""
    edges = []
    for package in sorted(p for p in (root / "deepones_gui" / "workspaces").iterdir() if p.is_dir()):
        page = f"deepones_gui.workspaces.{package.name}.page"
        for path in sorted(package.rglob("*.py")):
            if path.name == "page.py":
                continue
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            for target, line in _imports(path, module, path.name == "__init__.py", mods={}):
                if target == page or target.startswith(f"{page}."):
                    edges.append(f"{path.relative_to(root)}:{line} imports {target}")
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ClassDef) and node.name.endswith(("Host", "Page")) and any(
                        (isinstance(b, ast.Name) and b.id == "Protocol")
                        or (isinstance(b, ast.Attribute) and b.attr == "Protocol") for b in node.bases):
                    edges.append(f"{path.relative_to(root)}:{node.lineno} declares its page as {node.name}")
    return edges


def test_no_workspace_part_reaches_back_into_its_page():
    edges = _child_to_page_edges()
    assert not edges, "\n".join(edges)


def test_the_back_edge_check_sees_imports_and_host_protocols(tmp_path):
    _write_package(tmp_path, {
        "deepones_gui/workspaces/notes/page.py": "from deepones_gui.workspaces.notes.table import Table\n",
        "deepones_gui/workspaces/notes/table.py": "class Table:\n    pass\n",
    })
    assert _child_to_page_edges(tmp_path) == []
    # data/review_table.py's old shape: the page declared as a Protocol, and (elsewhere) imported lazily.
    (tmp_path / "deepones_gui/workspaces/notes/table.py").write_text(textwrap.dedent("""\
        from typing import Protocol

        class ReviewHost(Protocol):
            def step(self, delta: int) -> None: ...

        def open_page():
            from deepones_gui.workspaces.notes.page import NotesPage
        """))
    assert _child_to_page_edges(tmp_path) == [
        "deepones_gui/workspaces/notes/table.py:7 imports deepones_gui.workspaces.notes.page",
        "deepones_gui/workspaces/notes/table.py:3 declares its page as ReviewHost",
    ]


def test_workspace_sessions_are_qt_free():
    """A workspace's session (the state and rules its page views) runs and is tested without Qt."""
    offenders = []
    for path in sorted((ROOT / "deepones_gui" / "workspaces").glob("*/session.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        offenders += [f"{path.relative_to(ROOT)}:{line} imports {target}"
                      for target, line in _imports(path, module, False) if target.split(".")[0] in QT]
    assert (ROOT / "deepones_gui/workspaces/data/session.py").exists()
    assert not offenders, "\n".join(offenders)
