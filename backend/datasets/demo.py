"""The demo DeepData set shipped in ``resources/demo/``: imported once, on first run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.datasets.importer import ImportReport, import_paths

if TYPE_CHECKING:
    import sqlite_utils

DEMO_DATASET = "DeepData demo"


def demo_path() -> Path:
    import resources

    return Path(resources.__file__).parent / "demo" / "deepdata_demo.jsonl"


def demo_needed(db: sqlite_utils.Database) -> bool:
    """True until the demo set has been imported once (deleting its samples later is the user's choice)."""
    row = db.conn.execute(
        "SELECT 1 FROM sample_imports WHERE dataset=? AND status='done' LIMIT 1", (DEMO_DATASET,)
    ).fetchone()
    return row is None and demo_path().exists()


def ensure_demo(db: sqlite_utils.Database, progress=None, cancel=None) -> ImportReport | None:
    if not demo_needed(db):
        return None
    report = import_paths(db, [demo_path()], dataset=DEMO_DATASET, fmt="auto", progress=progress, cancel=cancel)
    from backend.datasets.indexing import index_pending

    index_pending(db, cancel=cancel)  # a few hundred rows: searchable before the first search
    return report
