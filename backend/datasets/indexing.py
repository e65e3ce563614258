"""The full-text index built behind the rows: imported samples are browsable and filterable at
once, and search catches up as this indexes them in large batches.

Rows with ``id <= search_index_state.indexed_upto`` are in ``samples_fts``; every batch indexes
the next id range and moves that mark in one transaction, so a killed indexer resumes where it
stopped and two indexers (the GUI and a CLI) never index a row twice.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.store import transaction

if TYPE_CHECKING:
    import sqlite_utils

# Rows per indexing transaction: large batches let FTS5 write fewer, bigger segments (cheaper
# merges), and a batch still commits in about a second on a slow machine.
INDEX_BATCH = 50_000

# FTS5 flushes its in-memory terms as a new segment whenever they pass 'hashsize' (1 MiB by default),
# and merges those segments over and over as they pile up; 128 MiB makes each batch one or a few
# segments (measured: ~25% less CPU than the default at 20k rows). Bounded memory, persistent and
# harmless for small writers, which commit long before reaching it.
FTS_HASH_SIZE = 128 * 2**20

# While importing or indexing in bulk: a 128 MiB page cache (negative = KiB, SQLite's convention) keeps
# the content-hash index (random inserts) and the FTS segments being merged in memory.
BULK_CACHE_KIB = -131072
# WAL pages between checkpoints (default 1,000): the samples indexes' pages and the FTS segments
# change in every batch, and each checkpoint copies (and syncs) them again; 65,536 pages (256 MiB at
# 4 KiB) lets them be copied once per many batches. Commits stay atomic; a killed run still resumes.
BULK_WAL_PAGES = 65_536

INDEX_RANGE_SQL = (
    "INSERT INTO samples_fts(rowid, instruction, input, output)"
    " SELECT id, instruction, input, output FROM samples WHERE id > ? AND id <= ?"
)


@dataclass(frozen=True)
class Coverage:
    indexed_upto: int
    max_id: int
    pending: int      # rows not yet searchable
    total: int        # rows in the store

    @property
    def complete(self) -> bool:
        return self.pending == 0

    @property
    def searchable(self) -> int:
        return self.total - self.pending

    def describe(self) -> str:
        return (f"still indexing: search covers {self.searchable:,} of {self.total:,} samples"
                if self.pending else f"search covers all {self.total:,} samples")


def indexed_upto(conn) -> int:
    return conn.execute("SELECT indexed_upto FROM search_index_state WHERE id = 1").fetchone()[0]


def coverage(db: sqlite_utils.Database) -> Coverage:
    """How much of the store search covers (two indexed lookups and one range count: cheap)."""
    conn = db.conn
    upto = indexed_upto(conn)
    max_id = conn.execute("SELECT coalesce(max(id), 0) FROM samples").fetchone()[0]
    pending = conn.execute("SELECT count(*) FROM samples WHERE id > ?", (upto,)).fetchone()[0]
    total = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    return Coverage(upto, max_id, pending, total)


def index_new_rows(conn, last_before: int) -> None:
    """Inside an insert's transaction: index rows the caller just added when the index was complete
    before them (small writers stay searchable at once); otherwise the indexer gets them in order."""
    upto = indexed_upto(conn)
    new_max = conn.execute("SELECT coalesce(max(id), 0) FROM samples").fetchone()[0]
    if upto >= last_before and new_max > upto:
        conn.execute(INDEX_RANGE_SQL, (upto, new_max))
        conn.execute("UPDATE search_index_state SET indexed_upto = ? WHERE id = 1", (new_max,))
    elif new_max <= upto and new_max > last_before:
        # Ids at or below the mark were reused after the top rows were deleted: index them now.
        conn.execute(INDEX_RANGE_SQL, (last_before, new_max))


# How often the background checkpointer copies committed WAL pages into the database file.
CHECKPOINT_EVERY_S = 0.5


class _BackgroundCheckpointer:
    """Copies committed WAL pages into the database file from its own connection, off the writer's path.

    A checkpoint ends with an fsync of the database file: at 1M rows the import writes ~2 GB, and
    a commit that checkpoints waits seconds for the disk while the parsing workers stall behind it.
    A PASSIVE checkpoint never blocks the writer, which keeps inserting meanwhile; it copies only
    committed frames, so atomicity and "a killed import resumes" are unchanged. The writer's own
    autocheckpoint (BULK_WAL_PAGES) stays as the safety net should this fall behind.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        # A bare connection: it only checkpoints (open_db would also look at the schema).
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:  # the writer's autocheckpoint still bounds the WAL
            return
        try:
            while not self.stopping.wait(CHECKPOINT_EVERY_S):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:  # busy or gone: the next round (or the writer) checkpoints
                    continue
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


def _database_file(conn) -> str:
    """The main database's file ('' for an in-memory store)."""
    row = conn.execute("PRAGMA database_list").fetchone()
    return row[2] if row and row[2] else ""


@contextmanager
def bulk_write_settings(conn, *, background_checkpoint: bool = False) -> Iterator[None]:
    """The page cache and checkpoint interval for a bulk import or index build, restored after; with
    ``background_checkpoint`` (a large import), a checkpointer thread for its duration."""
    previous_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    previous_wal_pages = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    conn.execute(f"PRAGMA cache_size={BULK_CACHE_KIB}")
    conn.execute(f"PRAGMA wal_autocheckpoint={BULK_WAL_PAGES}")
    wal = conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    path = _database_file(conn) if wal and background_checkpoint else ""
    checkpointer = _BackgroundCheckpointer(path) if path else None
    try:
        yield
    finally:
        if checkpointer is not None:
            checkpointer.stop()
        conn.execute(f"PRAGMA cache_size={int(previous_cache)}")
        conn.execute(f"PRAGMA wal_autocheckpoint={int(previous_wal_pages)}")


def index_pending(db: sqlite_utils.Database, *, batch: int = INDEX_BATCH,
                  progress: Callable[[float, str], None] | None = None,
                  cancel: Callable[[], bool] | object | None = None) -> int:
    """Index every row not yet searchable, batch by batch; returns how many were indexed."""
    conn = db.conn
    start = coverage(db)
    if start.complete:
        return 0
    try:
        with transaction(db):
            conn.execute("INSERT INTO samples_fts(samples_fts, rank) VALUES ('hashsize', ?)", (FTS_HASH_SIZE,))
    except sqlite3.OperationalError:  # an SQLite without the option: the default still works
        pass
    with bulk_write_settings(conn):
        return _index_batches(db, start, batch, progress, cancel)


def _index_batches(db: sqlite_utils.Database, start: Coverage, batch: int,
                   progress: Callable[[float, str], None] | None, cancel) -> int:
    conn = db.conn
    done = 0
    began = time.perf_counter()
    while True:
        if cancel is not None and (cancel() if callable(cancel) else cancel):
            break
        with transaction(db):
            upto = indexed_upto(conn)
            max_id = conn.execute("SELECT coalesce(max(id), 0) FROM samples").fetchone()[0]
            if upto >= max_id:
                break
            # A range of `batch` existing rows (ids may have gaps after a cancelled import).
            end = conn.execute("SELECT max(id) FROM (SELECT id FROM samples WHERE id > ? ORDER BY id LIMIT ?)",
                               (upto, batch)).fetchone()[0]
            cur = conn.execute(INDEX_RANGE_SQL, (upto, end))
            conn.execute("UPDATE search_index_state SET indexed_upto = ? WHERE id = 1", (end,))
        done += max(cur.rowcount, 0)
        if progress is not None:
            rate = done / max(1e-6, time.perf_counter() - began)
            progress(min(1.0, done / max(1, start.pending)),
                     f"indexing for search: {start.searchable + done:,} of {start.total:,} samples · "
                     f"{rate:,.0f} rows/s")
    return done
