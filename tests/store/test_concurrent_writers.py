"""Several processes write the store at once (a GUI, a CLI import, a design session, more imports)
while a reader pages through samples: nobody sees "database is locked", nothing is lost."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from backend.store import open_db

WRITER = Path(__file__).with_name("writer_process.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("seconds", [6.0, pytest.param(20.0, marks=pytest.mark.slow)])
def test_four_writer_processes_and_a_paging_reader(tmp_path, seconds):
    """Writers for ``seconds`` (6 s in the fast tier, 20 s in slow)."""
    from backend.datasets import query

    db_path = tmp_path / "deepones.db"
    open_db(db_path).conn.close()  # schema first, as the app does before anything else writes
    writers = [("import", "imp-a"), ("import", "imp-b"), ("chat", "chat-a"), ("design", "design-a")]
    procs = [
        subprocess.Popen([sys.executable, str(WRITER), kind, str(db_path), str(seconds), tag],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for kind, tag in writers
    ]

    reader_errors: list[str] = []
    pages = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal pages
        db = open_db(db_path, migrate_schema=False)
        try:
            while not stop.is_set():
                flt = query.SampleFilter()
                after = None
                for _ in range(5):
                    rows = query.page(db, flt, after_id=after, limit=200)
                    pages += 1
                    if not rows:
                        break
                    after = rows[-1]["id"]
                query.count(db, flt)
        except Exception as exc:  # noqa: BLE001 (the test fails with it below)
            reader_errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            db.conn.close()

    reader = threading.Thread(target=read)
    reader.start()
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=seconds + 120)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        stop.set()
        reader.join(timeout=60)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()

    failed = [r for r in results if not r["ok"]]
    assert failed == [], failed
    assert reader_errors == [], reader_errors
    assert pages > 10  # the reader really paged while the writers ran

    db = open_db(db_path, migrate_schema=False)
    conn = db.conn
    for result in results:
        if "samples" in result:
            stored = conn.execute("SELECT count(*) FROM samples WHERE dataset = ?", (result["dataset"],)).fetchone()[0]
            assert result["samples"] > 0
            assert stored == result["samples"], result
        elif "messages" in result:
            stored = conn.execute("SELECT count(*) FROM messages WHERE chat_id = ?", (result["chat_id"],)).fetchone()[0]
            assert result["messages"] > 0 and stored == result["messages"], result
        else:
            stored = conn.execute("SELECT count(*) FROM design_steps WHERE session_id = ?",
                                  (result["session_id"],)).fetchone()[0]
            assert result["steps"] > 0 and stored == result["steps"], result
    # Every sample becomes findable: rows are browsable at once and the index is built behind
    # them (backend.datasets.indexing); after the catch-up the index covers every row exactly once.
    from backend.datasets.indexing import coverage, index_pending

    index_pending(db)
    assert coverage(db).complete
    total = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    indexed = conn.execute("SELECT count(*) FROM samples_fts WHERE samples_fts MATCH 'residual'").fetchone()[0]
    assert indexed == total
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.conn.close()
