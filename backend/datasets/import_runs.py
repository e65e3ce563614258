"""Which recorded imports are really still running: each import holds an exclusive lock on a file named
after its ``sample_imports`` row while it runs. The kernel drops the lock when the process ends however
it ends, so at the next start a row still 'running' whose lock is free (or absent) belongs to a killed
import and is marked 'interrupted' — while an import running in another process keeps its row.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: rows are left as they are
    fcntl = None

if TYPE_CHECKING:
    import sqlite_utils

LOCK_DIR = "imports"
INTERRUPTED_MESSAGE = "interrupted: the import stopped before it finished (the app or command was killed)"


class RunLock:
    """Held by one import while it runs. Created and locked before the row exists, then named after it
    inside the transaction that inserts the row: whoever can see the row can see its lock."""

    def __init__(self, root: Path | None) -> None:
        self.fd: int | None = None
        self.path: Path | None = None
        if root is None or fcntl is None:
            return
        folder = root / LOCK_DIR
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.path = folder / f".{os.getpid()}-{uuid.uuid4().hex}.lock"
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError:   # the lock only improves the next start's report
            self.release()

    def bind(self, run_id: int) -> None:
        if self.fd is None or self.path is None:
            return
        target = self.path.with_name(f"{run_id}.lock")
        with contextlib.suppress(OSError):
            os.rename(self.path, target)
            self.path = target

    def release(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
        if self.fd is not None:
            os.close(self.fd)
        self.fd = self.path = None


def mark_interrupted_imports(db: sqlite_utils.Database, root: Path | None) -> int:
    """Mark imports left 'running' by a process that is gone as 'interrupted'; returns how many."""
    if root is None or fcntl is None:
        return 0
    try:
        rows = db.conn.execute("SELECT id FROM sample_imports WHERE status = 'running'").fetchall()
    except Exception:  # noqa: BLE001 - a store without the table yet: nothing to mark
        return 0
    marked = 0
    for (run_id,) in rows:
        lock = root / LOCK_DIR / f"{run_id}.lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            fd = None   # no lock: a killed run of a version without locks, or one whose lock file was lost
        except OSError:
            continue
        try:
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue   # its importer is alive
            cur = db.conn.execute(
                "UPDATE sample_imports SET status = 'interrupted', message = ?, finished_at = ? "
                "WHERE id = ? AND status = 'running'", (INTERRUPTED_MESSAGE, time.time(), run_id))
            marked += cur.rowcount
            if fd is not None:
                with contextlib.suppress(OSError):
                    lock.unlink()
        finally:
            if fd is not None:
                os.close(fd)
    return marked
