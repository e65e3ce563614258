"""Qt's xcb plugin missing a library: one line naming the packages and exit 2, not Qt's abort (134)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend import xcb_check

ROOT = Path(__file__).resolve().parents[1]


def _plugin_missing_icccm(tmp_path: Path) -> Path:
    """A copy of PySide6's libqxcb.so whose needed ``libxcb-icccm.so.4`` is renamed to a version no
    system has (same length, so the ELF stays valid), beside a link to the real Qt libraries: exactly
    what Qt meets on a machine without libxcb-icccm4."""
    real = xcb_check.plugin_path({})
    if real is None:
        pytest.skip("PySide6 has no libqxcb.so here")
    data = real.read_bytes()
    assert data.count(b"libxcb-icccm.so.4\0") == 1
    qt = tmp_path / "Qt"
    (qt / "plugins" / "platforms").mkdir(parents=True)
    (qt / "lib").symlink_to(real.parents[2] / "lib")
    copy = qt / "plugins" / "platforms" / "libqxcb.so"
    copy.write_bytes(data.replace(b"libxcb-icccm.so.4\0", b"libxcb-icccm.so.9\0"))
    return copy


def _gui_env(plugin: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "XDG_SESSION_TYPE", "WAYLAND_DISPLAY")}
    # A display that does not exist: had the check passed, Qt would fail on it (and the test with it).
    return {**env, "DISPLAY": ":87", "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugin.parent), "DEEPONES_HOME": str(home)}


def test_gui_start_with_a_missing_xcb_library_prints_one_line_and_exits_2(tmp_path):
    plugin = _plugin_missing_icccm(tmp_path)
    out = subprocess.run([sys.executable, "-m", "deepones_gui"], capture_output=True, text=True, cwd=ROOT,
                         env=_gui_env(plugin, tmp_path / "home"), timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    line = lines[0]
    assert "libxcb-icccm.so.9" in line
    assert "apt-get install libxcb-icccm4" in line and "dnf install xcb-util-wm" in line
    assert "pacman -S xcb-util-wm" in line
    assert "xcb-cursor0" not in line  # Qt's misleading guess is not repeated


def test_doctor_reports_the_missing_library(tmp_path):
    plugin = _plugin_missing_icccm(tmp_path)
    out = subprocess.run([sys.executable, "-m", "deepones_gui", "doctor", "--json", "--no-canary"],
                         capture_output=True, text=True, cwd=ROOT, env=_gui_env(plugin, tmp_path / "home"),
                         timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)["qt_xcb"]
    assert rep["ok"] is False and rep["missing"] == ["libxcb-icccm.so.9"]
    assert rep["plugin"] == str(plugin) and rep["used_now"] is True
    assert "libxcb-icccm4" in rep["install"]


def test_the_real_plugin_passes_without_importing_qt():
    code = ("import sys; from backend import xcb_check; r = xcb_check.check(); "
            "print(r.ok, r.checked, 'PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    # scripts/system_packages.sh installed the xcb libraries; the check must not import Qt.
    assert out.stdout.split() == ["True", "True", "False"], out.stdout + out.stderr


def test_platform_choice():
    assert xcb_check.uses_xcb({"DISPLAY": ":0"}) if sys.platform.startswith("linux") else True
    assert not xcb_check.uses_xcb({})
    assert not xcb_check.uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    assert not xcb_check.uses_xcb({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"})
    deb, fed, arch = xcb_check.packages_for(["libxcb-keysyms.so.1", "libEGL.so.1", "libfoo.so.3"])
    assert deb == ["libxcb-keysyms1", "libegl1", "<package with libfoo.so.3>"]
    assert fed[:2] == ["xcb-util-keysyms", "libglvnd-egl"] and arch[:2] == ["xcb-util-keysyms", "libglvnd"]
