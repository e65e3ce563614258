"""Opening the store safely: refuse foreign or newer files with a clear message, never delete."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from backend import paths
from backend.errors import UserError
from backend.store.migrations import MIGRATIONS, applied_migrations, migrate, rename_legacy

if TYPE_CHECKING:  # sqlite-utils costs ~100 ms to import; the GUI shows its first workspace without it
    import sqlite_utils


class StoreError(UserError, RuntimeError):
    """The store cannot be opened; ``str(exc)`` is a message fit for the user."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


class CorruptStoreError(StoreError):
    """The file is not a SQLite database (or is damaged)."""


class NewerSchemaError(StoreError):
    """The file was written by a newer DeepOnes with migrations this version does not know."""


def _configure(conn: sqlite3.Connection) -> None:
    # The wait first: switching a fresh file to WAL takes a lock, and processes starting together
    # would otherwise get "database is locked" at once instead of waiting their turn.
    conn.execute("PRAGMA busy_timeout=5000")
    _wal(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    # WAL + NORMAL is durable at transaction boundaries against app crashes and much faster.
    conn.execute("PRAGMA synchronous=NORMAL")


def _wal(conn: sqlite3.Connection, wait_s: float = 10.0) -> None:
    """Switch to WAL, retrying while another process holds the lock it needs: SQLite may answer
    "database is locked" here at once, without its busy handler, when processes open a fresh file
    together (seen in the eight-process test of tests/store/test_fresh_start_concurrency.py)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + random.random() * 0.04)


def _sqlite_utils():
    """sqlite_utils, imported on first use (~100 ms with the numpy it loads for its type mapping):
    the GUI shows its first workspace before anything needs it, and warms it up on a background
    thread right after (``MainWindow.after_first_workspace``)."""
    import sqlite_utils

    return sqlite_utils


def check_store(path: Path | str) -> tuple[sqlite3.Connection, list[str]]:
    """A configured connection to the store at ``path`` and the migrations it still needs.

    Raises :class:`StoreError` for a file that is no SQLite database or was written by a newer
    version. Plain sqlite3: the GUI checks the store without importing sqlite-utils.
    """
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
    rename_legacy(conn)
    applied = applied_migrations(conn)
    known = [m.__name__ for m in MIGRATIONS]
    unknown = [name for name in applied if name not in known]
    if unknown:
        conn.close()
        raise NewerSchemaError(
            f"{path} was written by a newer DeepOnes Studio (unknown migrations: {', '.join(unknown)}). "
            "Upgrade the app, or move this database aside to start fresh; nothing will be deleted.",
            path,
        )
    done = set(applied)
    return conn, [name for name in known if name not in done]


def as_database(conn: sqlite3.Connection, *, migrate_schema: bool = True) -> sqlite_utils.Database:
    """The sqlite-utils view of a connection from :func:`check_store`, its schema brought up to date."""
    # execute_plugins=False: no sqlite-utils plugins on the app's store (loading them scans every
    # installed distribution's entry points: ~50 ms, and a stranger's plugin could alter the store).
    db = _sqlite_utils().Database(conn, execute_plugins=False)
    if migrate_schema:
        migrate(db)
    return db


def open_db(path: Path | str, *, migrate_schema: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the store at ``path`` and bring its schema up to date."""
    conn, pending = check_store(path)
    return as_database(conn, migrate_schema=migrate_schema and bool(pending))


class DeferredStore:
    """A store checked by :func:`check_store`, its schema current, wrapped in sqlite-utils on first
    use of :attr:`db`: the GUI's first workspace need not wait for that import (~100 ms)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._db: sqlite_utils.Database | None = None
        self._lock = threading.Lock()

    @property
    def db(self) -> sqlite_utils.Database:
        if self._db is None:
            with self._lock:
                if self._db is None:
                    if self._conn is None:
                        raise StoreError("The store was closed.", Path())
                    self._db = as_database(self._conn, migrate_schema=False)
        return self._db

    def close(self) -> None:
        conn, self._conn, self._db = self._conn, None, None
        if conn is not None:
            conn.close()


def open_store_deferred(root: Path | None = None) -> DeferredStore:
    """:func:`open_store` for the GUI: pending migrations run now, sqlite-utils waits for first use."""
    root = paths.ensure_data_dir(root)
    conn, pending = check_store(paths.db_path(root))
    store = DeferredStore(conn)
    if pending:
        migrate(store.db)
    return store


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
