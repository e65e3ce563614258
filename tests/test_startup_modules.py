"""What the real app has imported when its window is shown and when its first workspace is painted.

The app is started as ``deepones`` starts it, offscreen, by ``tests/benchmarks/startup_probe.py`` (the
launcher's and ``deepones_gui.app.run``'s public steps), which prints ``sorted(sys.modules)`` at both moments. The second start is the one checked: the
first creates the database and the plugin entry-point cache, as a first run does.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "benchmarks" / "startup_probe.py"
# Each costs from tens of milliseconds (pyqtgraph, numpy) to seconds (torch, transformers, ray).
HEAVY = {"numpy", "pyqtgraph", "torch", "transformers", "pyarrow", "ray", "llama_cpp", "pandas", "openai",
         "huggingface_hub", "sklearn", "keyring", "psutil"}
# Not needed for the first workspace (Overview): sqlite-utils (~100 ms with the numpy it imports; the
# store is wrapped in it on first use), asyncio and qasync (~50 ms; the loop starts once the
# workspace is painted). importlib.metadata (the scan for third-party plugins) comes after the window
# is shown, and not at all when they are turned off.
AFTER_FIRST_WORKSPACE = {"sqlite_utils", "asyncio", "qasync"}


def _start(home: Path, workspace: str = "overview", **extra_env: str) -> dict[str, set[str]]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DEEPONES_HOME": str(home),
           "DEEPONES_NO_WIZARD": "1",
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"), **extra_env}
    out = subprocess.run([sys.executable, str(PROBE), "--modules"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    modules = {}
    for line in out.stdout.splitlines():
        if line.startswith("WORKSPACE "):
            assert line.split()[1] == workspace
        if line.startswith("MODULES "):
            _, moment, names = line.split(" ", 2)
            modules[moment] = set(json.loads(names))
    assert set(modules) == {"SHOWN", "READY"}, out.stdout[-2000:]
    return modules


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names} | names


@pytest.mark.parametrize("load_plugins", ["1", "0"])
def test_nothing_heavy_before_the_window_or_the_first_workspace(tmp_path, load_plugins):
    _start(tmp_path, DEEPONES_LOAD_PLUGINS=load_plugins)   # first run: database and caches
    modules = _start(tmp_path, DEEPONES_LOAD_PLUGINS=load_plugins)
    shown, ready = _top(modules["SHOWN"]), _top(modules["READY"])
    assert "PySide6.QtWidgets" in shown
    assert sorted(HEAVY & shown) == [], "imported before the window was shown"
    assert sorted(HEAVY & ready) == [], "imported before the first workspace was painted"
    assert sorted(AFTER_FIRST_WORKSPACE & ready) == [], "imported before the first workspace was painted"
    # The third-party scan (~35 ms of CPU) waits until the window is shown.
    assert "importlib.metadata" not in shown, "entry points scanned before the window was shown"
    if load_plugins == "0":
        assert "importlib.metadata" not in ready, "entry points scanned with third-party plugins off"


def test_a_workspace_using_the_store_gets_it_on_the_gui_thread(tmp_path):
    """Design reads the store on the GUI thread, and its modules import sqlite-utils themselves:
    opened first, it pays for sqlite-utils and the numpy sqlite-utils imports (no import is
    intercepted to avoid that: issue 26, item 11), and for nothing else heavy."""
    _start(tmp_path)
    settings = tmp_path / "config" / "DeepOnes" / "DeepOnes Studio.conf"   # QSettings: reopen on Design
    settings.write_text("[main]\nworkspace=design\n")
    ready = _top(_start(tmp_path, workspace="design")["READY"])
    assert "sqlite_utils" in ready
    assert sorted((HEAVY - {"numpy"}) & ready) == [], "imported before the first workspace was painted"
