"""Opening the store safely: refuse foreign or newer files with a clear message, never delete."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from backend import paths
from backend.store.migrations import MIGRATIONS, applied_migrations, migrate, rename_legacy

if TYPE_CHECKING:  # sqlite-utils costs ~180 ms to import (numpy); the GUI shows its window first
    import sqlite_utils

class StoreError(RuntimeError):
    """The store cannot be opened; ``str(exc)`` is a message fit for the user."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


class CorruptStoreError(StoreError):
    """The file is not a SQLite database (or is damaged)."""


class NewerSchemaError(StoreError):
    """The file was written by a newer DeepOnes with migrations this version does not know."""


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    # WAL + NORMAL is durable at transaction boundaries against app crashes and much faster.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")


def _sqlite_utils():
    """sqlite_utils, imported without its optional numpy/pandas type support.

    It imports numpy (and pandas) only to map their scalar types in ``insert``; nothing here inserts
    them, and numpy alone costs ~100 ms (far more on a busy machine) on the way to the app's first
    workspace. Blocked only for that import: numpy stays importable for everyone else.
    """
    import sys

    if "sqlite_utils.db" in sys.modules:
        import sqlite_utils

        return sqlite_utils
    blocked = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import numpy` raise ImportError
    try:
        import sqlite_utils
    finally:
        for name in blocked:
            if sys.modules.get(name) is None:
                del sys.modules[name]
    return sqlite_utils


def open_db(path: Path | str, *, migrate_schema: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the store at ``path`` and bring its schema up to date."""
    path = Path(path)
    # No peeking at the header with open(): closing any other descriptor of the file drops this
    # process's POSIX locks, and SQLite would then delete the WAL under live connections.
    # SQLite reads the header itself and says "file is not a database".
    conn = None
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        _configure(conn)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        what = ("is not a DeepOnes database (not a SQLite file)" if "not a database" in str(exc)
                else f"cannot be read as a database ({exc})")
        raise CorruptStoreError(
            f"{path} {what}. "
            "It can be moved aside so a fresh database is created; nothing will be deleted.",
            path,
        ) from exc
    sqlite_utils = _sqlite_utils()
    db = sqlite_utils.Database(conn)
    rename_legacy(db)
    known = {m.__name__ for m in MIGRATIONS}
    unknown = [name for name in applied_migrations(db) if name not in known]
    if unknown:
        conn.close()
        raise NewerSchemaError(
            f"{path} was written by a newer DeepOnes Studio (unknown migrations: {', '.join(unknown)}). "
            "Upgrade the app, or move this database aside to start fresh; nothing will be deleted.",
            path,
        )
    if migrate_schema:
        migrate(db)
    return db


def open_store(root: Path | None = None) -> sqlite_utils.Database:
    """Open the store in the data dir (``DEEPONES_HOME`` or the platform default)."""
    root = paths.ensure_data_dir(root)
    return open_db(paths.db_path(root))


def schema_version(db: sqlite_utils.Database) -> int:
    """How many known migrations have been applied: the schema version."""
    known = [m.__name__ for m in MIGRATIONS]
    done = set(applied_migrations(db))
    return sum(1 for name in known if name in done)


def move_aside(path: Path | str) -> Path:
    """Rename a bad DB file (and its WAL/SHM companions) out of the way; returns the new path."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.moved-aside-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.moved-aside-{stamp}-{n}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    return target


class transaction:  # noqa: N801 - used like a function: ``with transaction(db):``
    """One atomic write: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception.

    The store's connection is in autocommit mode, so grouping writes is always explicit.
    Nested use joins the outer transaction.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.conn = db.conn
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        self.outer = not self.conn.in_transaction
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, etype, value, tb) -> None:
        if not self.outer:
            return
        if etype is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error:
                # A COMMIT that fails (disk full, I/O error) can leave the transaction open; the
                # next write would then join it. Roll back so the store stays as it was.
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


class connection:  # noqa: N801 - used like a function: ``with connection(path) as db:``
    """A short-lived connection of its own (for a worker thread or a child), closed on exit.

    Replaces ``db = open_db(...); try: ... finally: db.conn.close()`` wherever a view's worker
    needs the store: SQLite connections are not shared across threads.
    """

    def __init__(self, path: Path | str, *, migrate_schema: bool = False) -> None:
        self.path, self.migrate_schema = Path(path), migrate_schema
        self.db: sqlite_utils.Database | None = None

    def __enter__(self) -> sqlite_utils.Database:
        self.db = open_db(self.path, migrate_schema=self.migrate_schema)
        return self.db

    def __exit__(self, etype, value, tb) -> None:
        if self.db is not None:
            self.db.conn.close()
