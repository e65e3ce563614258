"""A real headless Chromium for the HTML export tests: Debian's package, installed here if missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio"]


def chromium_or_skip() -> str:
    """The chromium binary; installs Debian's ``chromium`` when missing, skips (with why) if it cannot."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed and there is no apt-get to install it")
    if os.geteuid() != 0:
        pytest.skip("Chromium is not installed and installing it needs root (apt-get install chromium)")
    out = subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", "chromium"],
        capture_output=True, text=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("chromium")
    if out.returncode != 0 or not found:
        pytest.skip(f"Chromium could not be installed: apt-get said {out.stderr.strip()[-300:]!r}")
    return found


def run_chromium(binary: str, page: Path, profile: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Open ``page`` (a local file) with a fresh profile; extra args e.g. --dump-dom or --screenshot=..."""
    cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
