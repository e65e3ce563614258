"""PNG export of a diagram without Qt: headless Chromium draws the SVG (the GUI uses QSvgRenderer)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def svg_size(svg: str) -> tuple[int, int]:
    m = re.search(r'<svg[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"', svg)
    return (int(m.group(1)), int(m.group(2))) if m else (800, 600)


def svg_to_png(svg: str, target: Path | str, *, timeout: float = 90.0) -> Path:
    """Write ``svg`` as a PNG of its own size; ``RuntimeError`` with the reason when Chromium cannot."""
    binary = chromium_binary()
    if binary is None:
        raise RuntimeError("PNG export needs Chromium (apt-get install chromium); write .svg instead")
    target = Path(target).resolve()
    width, height = svg_size(svg)
    with tempfile.TemporaryDirectory(prefix="deepones-png-") as tmp:
        page = Path(tmp) / "diagram.svg"
        page.write_text(svg, "utf-8")
        cmd = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
               f"--window-size={width},{height}", f"--screenshot={target}", page.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Chromium did not finish within {timeout:g} s") from None
    if not target.is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"Chromium wrote no PNG ({last})")
    return target
