"""What every workspace gets: the data dir, the store, settings, and a change signal."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from backend import paths
from backend.settings import Settings, load_settings, save_settings
from backend.store import as_database, connection

if TYPE_CHECKING:
    import sqlite3

    import sqlite_utils


class AppContext(QObject):
    settings_changed = Signal()
    # Workspaces announce things other workspaces may care about, e.g. ("send_to_design", {...}).
    broadcast = Signal(str, object)

    def __init__(self, data_dir: Path, db: sqlite_utils.Database | None, log_path: Path | None = None) -> None:
        super().__init__()
        self.data_dir = data_dir
        # None until the store is open (the window shows first, see app.run); workspaces are
        # only built after that.
        self._db = db
        self._store_conn: sqlite3.Connection | None = None   # checked and migrated, not wrapped yet
        self._db_lock = threading.Lock()
        self.log_path = log_path
        self.settings: Settings = load_settings(data_dir)
        self.window = None  # set by MainWindow

    @property
    def db(self) -> sqlite_utils.Database | None:
        """The store, None until it is open.

        A store attached with :meth:`attach_store` is wrapped in sqlite-utils on first use: that
        import costs ~100 ms, and a first workspace that needs no store (Overview) need not wait.
        """
        if self._db is None and self._store_conn is not None:
            with self._db_lock:
                if self._db is None and self._store_conn is not None:
                    self._db = as_database(self._store_conn, migrate_schema=False)
                    self._store_conn = None
        return self._db

    @db.setter
    def db(self, value: sqlite_utils.Database | None) -> None:
        self._db, self._store_conn = value, None

    def attach_store(self, conn: sqlite3.Connection) -> None:
        """The store's connection from ``backend.store.check_store``, its schema already current."""
        self._db, self._store_conn = None, conn

    @property
    def store_open(self) -> bool:
        return self._db is not None or self._store_conn is not None

    def close_store(self) -> None:
        conn = self._db.conn if self._db is not None else self._store_conn
        self._db = self._store_conn = None
        if conn is not None:
            conn.close()

    @property
    def db_path(self) -> Path:
        return paths.db_path(self.data_dir)

    def connection(self):
        """``with ctx.connection() as db:`` a connection of its own for a worker thread (SQLite
        connections are not shared across threads), closed when the block ends."""
        return connection(self.db_path)

    def save_settings(self) -> None:
        save_settings(self.settings, self.data_dir)
        self.settings_changed.emit()


def describe_model(spec: str) -> str:
    if spec in ("", "embedded"):
        return "SmolLM2-135M (embedded)"
    if spec.startswith("replay:"):
        return f"replay: {Path(spec[7:]).name}"
    if spec.startswith(("http://", "https://")):
        return spec
    return Path(spec).name
