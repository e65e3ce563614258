"""The main window fits a laptop screen: in a real X display (Xvfb) at 1280x800 and 1366x768, with
every workspace opened on the demo data, the minimum size Qt gives the window manager and the
window's geometry lie inside the screen's available area.

The offscreen platform cannot show this (its screen takes any size, and the clipped-text test resizes
the window), so the app runs in a child process on Xvfb (tests/window_fit_probe.py) and reports JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "window_fit_probe.py"
# A 1366x768 laptop keeps ~40 px for its taskbar: the window's minimum height must leave that room.
TASKBAR_PX = 40


def _free_display() -> int:
    for n in range(140, 240):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    pytest.skip("no free X display number")


def _xcb_missing() -> str:
    from backend import xcb_check

    found = xcb_check.check()
    if found.plugin is None:
        return "PySide6 has no xcb platform plugin"
    return f"Qt's xcb plugin lacks {', '.join(found.missing)} ({xcb_check.install_hint(found.missing)})" \
        if found.missing else ""


@pytest.fixture
def xvfb(request):
    width, height = request.param
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    why = _xcb_missing()
    if why:
        pytest.skip(why)
    display = _free_display()
    proc = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{display}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.skip(f"Xvfb did not start on :{display}")
        time.sleep(0.05)
    yield f":{display}", (width, height)
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("xvfb", [(1280, 800), pytest.param((1366, 768), marks=pytest.mark.slow)], indirect=True,
                         ids=["1280x800", "1366x768"])  # the second size in the slow tier
def test_window_fits_the_screen_in_every_workspace(xvfb, tmp_path):
    display, (width, height) = xvfb
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", DEEPONES_HOME=str(tmp_path / "home"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), DEEPONES_NO_WIZARD="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, str(PROBE), "--settle-ms", "3000"], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=55, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("FIT ")), None)
    assert line, out.stdout[-2000:] + out.stderr[-2000:]
    rows = json.loads(line[4:])
    assert {r["workspace"] for r in rows} >= {"overview", "data", "chat", "models", "design", "jobs", "bench",
                                              "traces", "train", "generate", "bench+sweep form"}
    problems = []
    for r in rows:
        ax, ay, aw, ah = r["availableGeometry"]
        assert (r["screen"][2], r["screen"][3]) == (width, height), r
        min_w, min_h = (max(a, b) for a, b in zip(r["minimumSize"], r["minimumSizeHint"], strict=True))
        if min_w > aw or min_h > ah - TASKBAR_PX:
            problems.append(f"{r['workspace']}: minimum {min_w}x{min_h} > {aw}x{ah - TASKBAR_PX}")
        fx, fy, fw, fh = r["frameGeometry"]
        if fx < ax or fy < ay or fx + fw > ax + aw or fy + fh > ay + ah:
            problems.append(f"{r['workspace']}: frame {fx},{fy} {fw}x{fh} outside {ax},{ay} {aw}x{ah}")
    assert not problems, "\n".join(problems)
