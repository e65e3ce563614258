"""Trace files are someone else's text (issue 22, "the rest"): wrong types are refused at import with a
clear line, a bad row already in a store never breaks the listing of every trace, and
``deepones trace import`` is the drop path without a window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.traces.export_json import TraceFileError, read_traces

ROOT = Path(__file__).resolve().parents[2]


def _export(tmp_path: Path, steps: int = 2) -> Path:
    from backend.pipeline import SessionSettings, SessionStore, get_task
    from backend.store import open_db
    from backend.traces.export_json import write_json
    from backend.traces.model import load_trace

    db = open_db(tmp_path / "sender.db")
    store = SessionStore(db)
    sid = store.create_session(get_task("demo-digits"), "embedded", "embedded", SessionSettings(), title="t")
    parent = store.add_step(sid, None, "propose", status="done", response="An MLP.").id
    for i in range(steps - 1):
        parent = store.add_step(sid, parent, "implement" if i == 0 else "debug", attempt=i, status="failed",
                                code="print(1)", error_type="RuntimeError", score=0.5).id
    [path, *_] = write_json(load_trace(db, sid), tmp_path / "t.json")
    db.conn.close()
    return path


@pytest.mark.parametrize("field,value,message", [
    ("score", "high", "'score' must be a number"),
    ("score", float("nan"), "'score' must be a number"),
    ("id", "3", "'id' must be an integer"),
    ("attempt", "1", "'attempt' must be an integer"),
    ("parent_id", 1.5, "'parent_id' must be an integer"),
])
def test_wrong_types_in_a_trace_file_are_refused_at_import(tmp_path, field, value, message):
    path = _export(tmp_path)
    data = json.loads(path.read_text("utf-8"))
    data["trace"]["attempts"][-1][field] = value
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(TraceFileError, match=message):
        list(read_traces(path))


def test_a_bad_score_row_in_the_store_does_not_break_listing(store, tmp_path):
    from backend.pipeline import SessionSettings, SessionStore, get_task
    from backend.traces.index import TraceFilter, query, refresh

    sessions = SessionStore(store)
    for title in ("good", "bad"):
        sid = sessions.create_session(get_task("demo-digits"), "embedded", "embedded", SessionSettings(), title=title)
        step = sessions.add_step(sid, None, "implement", status="succeeded", code="print(1)")
        store.conn.execute("UPDATE design_steps SET score = ? WHERE id = ?", (0.9 if title == "good" else "high",
                                                                              step.id))
    refresh(store)
    page = query(store, TraceFilter())
    assert sorted(r["title"] for r in page.rows) == ["bad", "good"]


def test_cli_trace_import_is_the_drop_path_headless(tmp_path, deepones_home):
    path = _export(tmp_path, steps=3)
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    run = subprocess.run([sys.executable, "-m", "deepones_gui", "trace", "import", str(path)], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "imported" in run.stdout and "never called" in run.stdout
    listed = subprocess.run([sys.executable, "-m", "deepones_gui", "trace", "list", "--json"], capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=120)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["attempts"] == 3
    data = json.loads(path.read_text("utf-8"))
    data["trace"]["attempts"][0]["score"] = "high"
    path.write_text(json.dumps(data), "utf-8")
    bad = subprocess.run([sys.executable, "-m", "deepones_gui", "trace", "import", str(path)], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120)
    assert bad.returncode != 0 and "'score' must be a number" in bad.stderr and "Traceback" not in bad.stderr
