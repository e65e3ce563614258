"""Desktop integration on Linux: the .desktop entry, icon, metainfo and the GGUF MIME type.

Used by ``deepones install-desktop`` for a pip install and by the bundle's install script; the entry
points at the ``deepones`` that is running now (the console script, or the bundle's executable), so
it starts this installation and no other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

APP_ID = "io.github.deepones.Studio"


def desktop_resources() -> Path:
    import resources

    return Path(resources.__file__).parent / "desktop"


def launcher_path() -> str:
    """Absolute path of the command that starts this installation."""
    if getattr(sys, "frozen", False):
        return sys.executable
    script = Path(sys.executable).with_name("deepones")
    if script.exists():
        return str(script)
    return shutil.which("deepones") or "deepones"


@dataclass
class Installed:
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _quote_exec(path: str) -> str:
    # The Desktop Entry spec: arguments with spaces or reserved characters go in double quotes.
    if any(c in path for c in ' \t"`$\\'):
        return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$") + '"'
    return path


def install_desktop_entry(data_home: Path | None = None, exec_path: str | None = None) -> Installed:
    """Write the entry, icon, metainfo and MIME type under ``data_home`` (default ~/.local/share)."""
    home = Path(data_home or os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    src = desktop_resources()
    exec_path = exec_path or launcher_path()
    out = Installed()
    entry = (src / f"{APP_ID}.desktop").read_text("utf-8")
    entry = entry.replace("Exec=deepones %F", f"Exec={_quote_exec(exec_path)} %F")
    entry = entry.replace("TryExec=deepones", f"TryExec={exec_path}")
    targets = {
        home / "applications" / f"{APP_ID}.desktop": entry,
        home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg": (src / f"{APP_ID}.svg").read_text("utf-8"),
        home / "metainfo" / f"{APP_ID}.metainfo.xml": (src / f"{APP_ID}.metainfo.xml").read_text("utf-8"),
        home / "mime" / "packages" / f"{APP_ID}.xml": (src / f"{APP_ID}-mime.xml").read_text("utf-8"),
    }
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, "utf-8")
        os.replace(tmp, path)
        out.files.append(path)
    # Refresh the desktop's caches where the tools exist; without them the files still work
    # after the next login.
    for tool, arg in (("update-desktop-database", home / "applications"), ("update-mime-database", home / "mime")):
        if shutil.which(tool):
            subprocess.run([tool, str(arg)], capture_output=True, timeout=60)
        else:
            out.notes.append(f"{tool} not found: the menu picks the entry up at the next login")
    return out
