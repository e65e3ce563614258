"""The whole GUI start as ``deepones`` runs it (``deepones_gui.app.run``: window, first workspace, the
asyncio event loop), then a quit from inside the loop: the run ends with 0, its session marker is
removed (the next start is not taken for one after a crash) and the workspace shown is remembered."""

import os
import subprocess
import sys
from pathlib import Path

from backend import recovery

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from deepones_gui.launcher import prepare_gui_process
prepare_gui_process()
app = QApplication([sys.argv[0]])
QTimer.singleShot(1500, lambda: app.activeWindow() and app.activeWindow().show_workspace("jobs"))
QTimer.singleShot(2500, app.quit)
from deepones_gui.app import run
sys.exit(run())
"""


def test_run_shows_the_window_runs_the_loop_and_quits_cleanly(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DEEPONES_HOME": str(tmp_path / "home"),
           "DEEPONES_NO_WIZARD": "1", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    home = tmp_path / "home"
    assert (home / "deepones.db").exists()
    assert not (home / recovery.MARKER).exists(), "a clean quit left its session marker"
    conf = (tmp_path / "config" / "DeepOnes" / "DeepOnes Studio.conf").read_text()
    assert "workspace=jobs" in conf
