"""What every workspace gets: the data dir, the store, settings, and a change signal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from backend import paths
from backend.settings import Settings, load_settings, save_settings
from backend.store import DeferredStore, connection

if TYPE_CHECKING:
    import sqlite_utils


class AppContext(QObject):
    settings_changed = Signal()
    # Workspaces announce things other workspaces may care about, e.g. ("send_to_design", {...}).
    broadcast = Signal(str, object)
    # "Show workspace NAME": what a page asks of the window (which connects it), instead of reaching
    # for ``ctx.window`` and checking what it has.
    show_requested = Signal(str)
    status_message = Signal(str, int)   # text, milliseconds: for the window's status bar

    def __init__(self, data_dir: Path, db: sqlite_utils.Database | None, log_path: Path | None = None) -> None:
        super().__init__()
        self.data_dir = data_dir
        # None until the store is open (the window shows first, see app.run); workspaces are
        # only built after that.
        self._db = db
        self._deferred: DeferredStore | None = None   # see attach_store
        self.log_path = log_path
        self.settings: Settings = load_settings(data_dir)
        self.window = None  # set by MainWindow

    def say(self, message: str, ms: int = 15000) -> None:
        """A line in the window's status bar for ``ms`` milliseconds (nothing without a window)."""
        self.status_message.emit(message, ms)

    def show_workspace(self, name: str) -> None:
        """Ask the window to show workspace ``name`` (nothing happens without a window)."""
        self.show_requested.emit(name)

    @property
    def db(self) -> sqlite_utils.Database | None:
        """The store, None until it is open (a store from :meth:`attach_store` is wrapped in
        sqlite-utils here, on first use: a first workspace that needs none does not wait for it)."""
        if self._db is None and self._deferred is not None:
            self._db = self._deferred.db
        return self._db

    @db.setter
    def db(self, value: sqlite_utils.Database | None) -> None:
        self._db, self._deferred = value, None

    def attach_store(self, store: DeferredStore) -> None:
        """The store as ``backend.store.open_store_deferred`` opens it for the GUI."""
        self._db, self._deferred = None, store

    def close_store(self) -> None:
        if self._deferred is not None:
            self._deferred.close()
        elif self._db is not None:
            self._db.conn.close()
        self._db = self._deferred = None

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


def describe_model(spec: str, *, third_party: bool = True) -> str:
    from backend.llm.model_spec import ModelSpec

    return ModelSpec.parse(spec, third_party=third_party).describe()
