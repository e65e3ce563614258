"""backend is the Qt-free core: importing every module of it must not import Qt."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_backend_never_imports_qt():
    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys, json
        import backend
        names = []
        for mod in pkgutil.walk_packages(backend.__path__, "backend."):
            importlib.import_module(mod.name)
            names.append(mod.name)
        qt = sorted(m for m in sys.modules if m.split(".")[0] in {"PySide6", "shiboken6", "PyQt5", "PyQt6", "deepones_gui", "pyqtgraph", "qasync"})
        print(json.dumps({"imported": names, "qt": qt}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert out.returncode == 0, out.stderr
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["imported"]) >= 10, result["imported"]
    assert "backend.store.migrations" in result["imported"]
    assert result["qt"] == []


def test_backend_source_has_no_qt_import_statements():
    # A second, static line of defence: lazy imports inside functions would slip past the runtime test.
    import ast

    offenders = []
    for path in (ROOT / "backend").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in {"PySide6", "shiboken6", "deepones_gui", "pyqtgraph", "qasync"}:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []
