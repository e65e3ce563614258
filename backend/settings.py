"""User settings shared by the GUI and the CLI, kept as JSON in the data dir.

Window geometry lives in QSettings (GUI only); everything a headless run also needs lives here.
Secrets never do: they go to the OS keyring (:mod:`backend.secrets`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from backend import paths

DEFAULT_DESIGNER = "embedded"


@dataclass
class Settings:
    # The Python interpreter that runs jobs (the "execution environment"); empty = the app's own.
    execution_python: str = ""
    # Model specs: "embedded", a GGUF path, an http(s) URL, or "replay:PATH".
    designer_model: str = DEFAULT_DESIGNER
    programmer_model: str = DEFAULT_DESIGNER
    jobs_per_gpu: int = 1
    extra: dict = field(default_factory=dict)
    # Keys this version does not know (written by a newer version, read after a downgrade): kept as
    # they were and written back on save, so going back and forth between versions loses nothing.
    unknown: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def interpreter(self) -> str:
        if self.execution_python:
            return self.execution_python
        if getattr(sys, "frozen", False):  # the desktop bundle is no Python for programs: the system's
            import shutil

            return shutil.which("python3") or "python3"
        return sys.executable


def settings_path(root: Path | None = None) -> Path:
    return (root or paths.data_dir()) / "settings.json"


def load_settings(root: Path | None = None) -> Settings:
    try:
        raw = json.loads(settings_path(root).read_text("utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    known = {f.name for f in fields(Settings)} - {"unknown"}
    return Settings(**{k: v for k, v in raw.items() if k in known},
                    unknown={k: v for k, v in raw.items() if k not in known})


def save_settings(settings: Settings, root: Path | None = None) -> None:
    """Write atomically so a crash never leaves a half-written settings file."""
    target = settings_path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".settings-", suffix=".json")
    data = asdict(settings)
    unknown = data.pop("unknown")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({**unknown, **data}, fh, indent=2)   # a known key always wins over a stale copy
    os.replace(tmp, target)
