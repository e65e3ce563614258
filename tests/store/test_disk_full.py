"""The disk fills up mid-write: a clear message, the store still opens and passes integrity_check,
and the work resumes later without duplicates."""

from __future__ import annotations

import json

from backend.store import open_db


def _integrity(db_path) -> str:
    db = open_db(db_path, migrate_schema=False)
    try:
        return db.conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.conn.close()


def test_import_on_a_full_disk_says_so_and_resumes_without_duplicates(small_disk, tmp_path):
    from backend.datasets.importer import import_paths

    disk = small_disk("3m")
    source = tmp_path / "big.jsonl"  # lives on the real disk; only the store is on the small one
    n = 6000
    source.write_text("\n".join(json.dumps({
        "instruction": f"Question {i}: which normalisation suits a {i}-layer transformer on small batches?",
        "output": f"Answer {i}: " + "layer normalisation, because batch statistics are noisy. " * 4,
    }) for i in range(n)) + "\n", "utf-8")
    db_path = disk.path / "deepones.db"
    db = open_db(db_path)
    report = import_paths(db, [source], dataset="big", fmt="alpaca")  # must not raise
    db.conn.close()
    message = " ".join(report.errors).lower()
    assert "disk" in message or "space" in message, report.errors
    assert report.imported < n  # it really ran out of room
    assert _integrity(db_path) == "ok"

    disk.resize("64m")
    db = open_db(db_path, migrate_schema=False)
    again = import_paths(db, [source], dataset="big", fmt="alpaca")
    assert again.errors == []
    rows = db.conn.execute("SELECT count(*), count(DISTINCT content_hash) FROM samples").fetchone()
    assert rows == (n, n)
    assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.conn.close()
