"""The demo run for the screenshot script (blocking by design: only the script calls it)."""

from __future__ import annotations

from pathlib import Path

from backend.store import connection


def ensure_demo_run(db_path: Path, root: Path) -> int:
    from backend.train.demo import find_demo_run, run_demo

    with connection(db_path) as db:
        run = find_demo_run(db) or run_demo(db, root)
        return int(run["id"])
