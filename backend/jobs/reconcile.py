"""Reconciling the store with the job dirs, the heavy part in a child process.

``records.sync_jobs`` brings every unfinished ``jobs`` row up to date; for a job that ended it
parses the whole ``stdout.log`` for metrics: seconds of pure Python for a big log. A GUI calls
:func:`reconcile_jobs`, which does that parsing in a child (``python -m backend.jobs.reconcile DB``)
so its own threads keep the GIL free, then runs the (now cheap) sync in-process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from backend.children import python_argv
from backend.jobs import records
from backend.store import connection


def record_finished_in_child(db_path: Path | str, *, timeout: float = 300) -> bool:
    """Record the jobs that ended on disk (metrics included) in a child process; False when it failed."""
    try:
        proc = subprocess.run(python_argv("-m", "backend.jobs.reconcile", str(db_path)), timeout=timeout,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def reconcile_jobs(db, db_path: Path | str) -> list[str]:
    """Bring the ``jobs`` rows of ``db`` up to date with their job dirs; returns the ids that changed.

    Finished-but-unrecorded jobs are recorded in a child first; if the child fails, the in-process
    sync that follows does the same work (slower for the caller, but nothing is missed).
    """
    changed = []
    if records.finished_unrecorded(db):
        before = {r["id"]: r["status"] for r in records.list_jobs(db, 1000)}
        if record_finished_in_child(db_path):
            changed = [r["id"] for r in records.list_jobs(db, 1000) if before.get(r["id"]) != r["status"]]
    return changed + [i for i in records.sync_jobs(db) if i not in changed]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m backend.jobs.reconcile STORE.db", file=sys.stderr)
        return 2
    with connection(argv[1]) as db:
        records.sync_jobs(db)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
