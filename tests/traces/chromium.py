"""A real headless Chromium for the HTML export tests: Debian's package (scripts/system_packages.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio"]


def chromium_or_skip() -> str:
    """The chromium binary, or a skip that says how to get it (tests never install packages)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("Chromium is not installed: apt-get install chromium (scripts/system_packages.sh does it)")


def run_chromium(binary: str, page: Path, profile: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Open ``page`` (a local file) with a fresh profile; extra args e.g. --dump-dom or --screenshot=..."""
    cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
