"""Where DeepOnes keeps its data: one data dir holding the DB, job dirs, models and logs."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import platformdirs

from backend.errors import UserError

APP_NAME = "deepones"
ENV_HOME = "DEEPONES_HOME"


class DataDirError(UserError, RuntimeError):
    """The data dir cannot be created or written to."""


def _location_file() -> Path:
    # The data dir itself is a setting, so it cannot live inside the data dir.
    return Path(platformdirs.user_config_dir(APP_NAME)) / "location.json"


def data_dir() -> Path:
    """The data dir: ``$DEEPONES_HOME``, else the one chosen in Preferences, else the platform default."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    try:
        chosen = json.loads(_location_file().read_text("utf-8")).get("data_dir")
        if chosen:
            return Path(chosen).expanduser()
    except (OSError, ValueError):
        pass
    return Path(platformdirs.user_data_dir(APP_NAME))


def set_data_dir(path: Path) -> None:
    """Remember a data dir chosen by the user (takes effect on the next start)."""
    loc = _location_file()
    loc.parent.mkdir(parents=True, exist_ok=True)
    loc.write_text(json.dumps({"data_dir": str(Path(path).expanduser())}), "utf-8")


def ensure_data_dir(path: Path | None = None) -> Path:
    """Create the data dir and its sub dirs, or raise :class:`DataDirError` with a clear message."""
    root = Path(path) if path is not None else data_dir()
    try:
        for sub in ("", "jobs", "models", "logs"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        # A probe of this process's own (mkstemp names it uniquely): processes starting together on
        # a fresh data dir must not delete each other's probe between its write and its unlink.
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DataDirError(
            f"The data dir {root} cannot be written to ({exc.strerror or exc}). "
            f"Choose another one in Preferences or set {ENV_HOME}."
        ) from exc
    return root


def db_path(root: Path | None = None) -> Path:
    return (root or data_dir()) / "deepones.db"


def jobs_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "jobs"


def models_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "models"


def logs_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "logs"
