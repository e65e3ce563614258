"""GUI start-up stays fast: loading every plugin and building the main window's chrome must not
import heavy libraries. They belong inside factories and functions, imported when first used."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ["sqlite_utils", "numpy", "torch", "llama_cpp", "openai", "pyarrow", "huggingface_hub",
         "pyqtgraph", "sklearn", "gguf", "markdown", "datasketch", "psutil", "keyring", "pygments", "httpx"]


def test_plugins_and_main_window_chrome_import_nothing_heavy(tmp_path):
    code = textwrap.dedent(
        f"""
        import json, sys
        from PySide6.QtWidgets import QApplication
        from backend import plugins
        from backend.workspaces import workspaces
        app = QApplication([])
        plugins.load_plugins()
        specs = workspaces()
        for hook in ("register_tasks", "register_backends", "register_formats", "register_executors",
                     "register_log_parsers"):
            plugins.collect(hook)
        from deepones_gui.context import AppContext
        from deepones_gui.main_window import MainWindow
        from pathlib import Path
        window = MainWindow(AppContext(Path({str(tmp_path)!r}), None, None), activate=False)
        heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
        print(json.dumps({{"heavy": heavy, "workspaces": [s.name for s in specs]}}))
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DEEPONES_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["workspaces"], "no workspace registered"
    assert result["heavy"] == [], f"imported at start-up: {result['heavy']}"
