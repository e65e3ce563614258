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


def test_a_job_whose_log_fills_the_disk_ends_with_a_clear_status(small_disk):
    import sys

    from backend.jobs import JobSpec, run_job
    from backend.jobs.spec import JobLimits

    disk = small_disk("2m")
    db_path = disk.path / "deepones.db"
    db = open_db(db_path)
    flood = "import sys\nfor i in range(400000):\n    print('loss=0.5 step=%d ' % i + 'x' * 60)\n"
    spec = JobSpec(argv=["flood.py"], interpreter=sys.executable, name="flood", files={"flood.py": flood},
                   limits=JobLimits(time_limit_s=120))
    result = run_job(spec, root=disk.path, db=db)  # returns: a full disk never hangs the caller
    db.conn.close()
    assert result.status in {"failed", "lost"}, result
    status_text = json.dumps(result.to_dict()).lower()
    assert "space" in status_text or "disk" in status_text, status_text
    assert _integrity(db_path) == "ok"


def test_a_design_step_on_a_full_disk_is_recorded_as_failed_and_the_store_opens(small_disk, tmp_path):
    from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task

    disk = small_disk("1m")
    db_path = disk.path / "deepones.db"
    db = open_db(db_path)
    store = SessionStore(db)
    designer = tmp_path / "designer.jsonl"
    designer.write_text(json.dumps({"content": "One possible model is an MLP. " + "Detail. " * 300000}) + "\n")
    sid = store.create_session(get_task("demo-digits"), f"replay:{designer}", f"replay:{designer}",
                               SessionSettings(improve=False))
    runner = DesignRunner(db, sid, root=disk.path)
    try:
        step = runner.run_stage()   # a 2.4 MB answer does not fit on a 1 MB disk: no traceback
    except Exception as exc:  # noqa: BLE001 (the runner may raise a clear error instead of recording the step)
        message = str(exc).lower()
        assert "disk" in message or "space" in message or "full" in message, message
    else:
        assert step.status in {"failed", "interrupted", "error"} or step.error_type, step
    finally:
        db.conn.close()
    assert _integrity(db_path) == "ok"
    again = open_db(db_path, migrate_schema=False)
    assert again.conn.execute("SELECT count(*) FROM design_sessions").fetchone()[0] == 1
    again.conn.close()
