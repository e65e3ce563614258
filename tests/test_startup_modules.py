"""What the real app has imported when its window is shown and when its first workspace is painted.

The app is started as users start it (``python -m deepones_gui``, offscreen) with the start-up probe
asking it to print ``sorted(sys.modules)`` at both moments. The second start is the one checked: the
first creates the database and the plugin entry-point cache, as a first run does.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each costs from tens of milliseconds (pyqtgraph, numpy) to seconds (torch, transformers, ray).
HEAVY = {"numpy", "pyqtgraph", "torch", "transformers", "pyarrow", "ray", "llama_cpp", "pandas", "openai",
         "huggingface_hub", "sklearn", "keyring", "psutil"}
# Not needed for the first workspace (Overview): sqlite-utils (~100 ms; the store is wrapped in it on
# first use), asyncio and qasync (~50 ms; the loop starts once the workspace is painted) and
# importlib.metadata (an entry-point scan of every distribution: cached, and sqlite-utils' own
# plugins are not loaded).
AFTER_FIRST_WORKSPACE = {"sqlite_utils", "asyncio", "qasync", "importlib.metadata"}


def _start(home: Path) -> dict[str, set[str]]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DEEPONES_HOME": str(home),
           "DEEPONES_STARTUP_PROBE": "modules", "DEEPONES_NO_WIZARD": "1",
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")}
    out = subprocess.run([sys.executable, "-m", "deepones_gui"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    modules = {}
    for line in out.stdout.splitlines():
        if line.startswith("WORKSPACE "):
            assert line.split()[1] == "overview"           # a new data dir opens on the Overview
        if line.startswith("MODULES "):
            _, moment, names = line.split(" ", 2)
            modules[moment] = set(json.loads(names))
    assert set(modules) == {"SHOWN", "READY"}, out.stdout[-2000:]
    return modules


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names} | names


def test_nothing_heavy_before_the_window_or_the_first_workspace(tmp_path):
    _start(tmp_path)                                       # first run: database and caches
    modules = _start(tmp_path)
    shown, ready = _top(modules["SHOWN"]), _top(modules["READY"])
    assert "PySide6.QtWidgets" in shown
    assert sorted(HEAVY & shown) == [], "imported before the window was shown"
    assert sorted(HEAVY & ready) == [], "imported before the first workspace was painted"
    assert sorted(AFTER_FIRST_WORKSPACE & ready) == [], "imported before the first workspace was painted"
