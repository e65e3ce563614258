"""The desktop entry and AppStream metainfo pass the freedesktop validators, and
`deepones install-desktop` writes a valid entry that starts this installation."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from backend.desktop import APP_ID, desktop_resources, install_desktop_entry


def _tool(name: str, package: str) -> str:
    """The validator, or a skip that says which package brings it (tests never install packages)."""
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed: apt-get install {package} (scripts/system_packages.sh does it)")
    return found


def test_desktop_entry_validates():
    tool = _tool("desktop-file-validate", "desktop-file-utils")
    out = subprocess.run([tool, str(desktop_resources() / f"{APP_ID}.desktop")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "error" not in (out.stdout + out.stderr).lower()


def test_metainfo_validates():
    tool = _tool("appstreamcli", "appstream")
    out = subprocess.run([tool, "validate", "--no-net", str(desktop_resources() / f"{APP_ID}.metainfo.xml")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_install_desktop_writes_a_valid_entry_for_this_installation(tmp_path):
    tool = _tool("desktop-file-validate", "desktop-file-utils")
    result = install_desktop_entry(tmp_path, exec_path="/opt/deep ones/deepones")
    entry = tmp_path / "applications" / f"{APP_ID}.desktop"
    assert entry in result.files
    text = entry.read_text()
    assert 'Exec="/opt/deep ones/deepones" %F' in text and "MimeType=application/x-gguf;" in text
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").exists()
    assert (tmp_path / "mime" / "packages" / f"{APP_ID}.xml").read_text().count("*.gguf") == 1
    out = subprocess.run([tool, str(entry)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_install_desktop_cli(tmp_path):
    out = subprocess.run([sys.executable, "-m", "deepones_gui", "install-desktop", "--data-home", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "applications" / f"{APP_ID}.desktop").exists()
