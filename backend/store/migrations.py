"""Ordered, recorded schema migrations, in the style of simonw/llm's ``migrations.py``.

Each migration is a named function; its name is recorded in ``_migrations`` once applied, so
re-running is a no-op and an old DB is upgraded step by step. Never edit a released migration:
append a new one at the end of ``schema_areas.py``. Each runs in its own transaction, so a crash
never leaves half a schema.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's own locking and the re-check below
    fcntl = None

if TYPE_CHECKING:
    import sqlite_utils

# Submodules by their full names, never ``from backend.store import ...``: the package's __init__
# imports db, which imports this module, so reading names off the package here would be a cycle.
from backend.store.schema_areas import STEPS as AREA_STEPS
from backend.store.schema_base import STEPS as BASE_STEPS
from backend.store.schema_base import m001_initial, m002_sample_tags_and_fts  # noqa: F401 - used by bench_data
from backend.store.schema_sql import Migration

# Every migration in the order it runs: the schema modules keep them as named functions.
MIGRATIONS: list[Migration] = [*BASE_STEPS, *AREA_STEPS]


# Names these migrations were recorded under before the numbers were made to follow the order
# they run in. A store written then has its rows renamed on open, so it is not mistaken for a
# store from a newer version and nothing runs twice.
LEGACY_NAMES = {
    "m040_design_versions": "m003_design_versions",
    "m010_data_fts_triggers_and_imports": "m004_data_fts_triggers_and_imports",
    "m020_chat_branches": "m005_chat_branches",
    "m011_data_fts_index_per_batch": "m006_data_fts_index_per_batch",
}


def _ensure_table(db: sqlite_utils.Database) -> None:
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )


def _has_migrations_table(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").fetchone() \
        is not None


# These two take the store or its bare sqlite3 connection: the GUI checks the schema before it
# imports sqlite-utils (see backend.store.db.check_store).
def rename_legacy(db: sqlite_utils.Database | sqlite3.Connection) -> None:
    """Rename migration rows recorded under their old names (see :data:`LEGACY_NAMES`)."""
    conn = getattr(db, "conn", db)
    if not _has_migrations_table(conn):
        return
    for old, new in LEGACY_NAMES.items():
        conn.execute("UPDATE _migrations SET name = ? WHERE name = ?", (new, old))


def applied_migrations(db: sqlite_utils.Database | sqlite3.Connection) -> list[str]:
    conn = getattr(db, "conn", db)
    if not _has_migrations_table(conn):
        return []
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY applied_at, rowid")]


@contextlib.contextmanager
def _migration_lock(conn: sqlite3.Connection) -> Iterator[None]:
    """An exclusive lock on a file next to the store, held while migrations are checked and applied:
    processes starting together on a fresh data dir must not each apply the first migrations."""
    row = conn.execute("PRAGMA database_list").fetchone()
    path = row[2] if row else ""
    if not path or fcntl is None:   # an in-memory store, or no flock on this platform
        yield
        return
    # A file of its own, never the database: closing a descriptor of the database file would drop
    # this process's POSIX locks on it (see check_store).
    fd = os.open(f"{path}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)   # closing releases the flock


def migrate(db: sqlite_utils.Database, upto: str | None = None) -> list[str]:
    """Apply every pending migration in order (optionally stopping after ``upto``); returns names applied."""
    with _migration_lock(db.conn):
        return _migrate_locked(db, upto)


def _migrate_locked(db: sqlite_utils.Database, upto: str | None) -> list[str]:
    _ensure_table(db)
    rename_legacy(db)
    done = set(applied_migrations(db))
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ not in done and _apply(db, fn):
            applied.append(fn.__name__)
        if upto is not None and fn.__name__ == upto:
            break
    return applied


def _apply(db: sqlite_utils.Database, fn) -> bool:
    """Apply one migration in its own transaction; False when it turns out to be applied already."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        # Checked again inside the write lock: a process that could not take the flock (a network
        # file system) may have applied it since.
        if db.conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (fn.__name__,)).fetchone():
            db.conn.execute("COMMIT")
            return False
        fn(db)
        db.conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (fn.__name__, time.time()))
        db.conn.execute("COMMIT")
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    return True
