"""A trace export opened in another store becomes a session Traces shows like any other."""

from __future__ import annotations

from backend.traces import export_json
from backend.traces import labels as lb
from backend.traces.import_json import import_trace
from backend.traces.model import load_trace


def _shape(trace):
    return [(a.stage, a.attempt, a.status, a.code, a.error_type, a.debug_log, a.score, sorted(a.labels))
            for a in sorted(trace.attempts, key=lambda a: a.id)]


def test_exported_trace_imports_with_its_tree_outputs_and_labels(traces_db, recorded, tmp_path):
    from backend.store import open_db

    lb.add_labels(traces_db, [(recorded.main, recorded.implement)], "shape-mismatch", who="ann")
    lb.add_note(traces_db, recorded.main, recorded.fix1, "renamed the variable", who="ann")
    original = load_trace(traces_db, recorded.main)
    written = export_json.write_json(original, tmp_path / "trace.json")

    other = open_db(tmp_path / "other.db")  # another machine's store
    [read] = list(export_json.read_traces(written[0]))
    sid = import_trace(other, read)
    imported = load_trace(other, sid)
    assert _shape(imported) == _shape(original)
    # The tree is the same: each attempt's parent maps to the parent's copy.
    by_old = dict(zip(sorted(a.id for a in original.attempts), sorted(a.id for a in imported.attempts), strict=True))
    for a in original.attempts:
        copy = imported.attempt(by_old[a.id])
        assert copy.parent_id == (by_old[a.parent_id] if a.parent_id is not None else None)
        assert copy.stderr == a.stderr
    assert imported.outcome == original.outcome
    assert any(n["text"] == "renamed the variable" for n in imported.attempt(by_old[recorded.fix1]).notes)
    assert "(imported)" in imported.title
    other.conn.close()
