"""Traces over real replayed design sessions: the model, filters, labels with undo, diff, JSON."""

from __future__ import annotations

import json

import pytest

from backend.traces import diff, export_json, index
from backend.traces import labels as lb
from backend.traces.index import TraceFilter
from backend.traces.model import TraceNotFound, load_trace

# The first test of a run records the replayed sessions (real training runs: minutes on a busy box).
pytestmark = pytest.mark.timeout(1200)


def test_trace_model_is_the_recorded_session_as_a_tree(traces_db, recorded):
    trace = load_trace(traces_db, recorded.main)
    assert trace.task == "demo-digits" and trace.outcome == "recovered"
    implement, fix1, fix2 = (trace.attempt(i) for i in (recorded.implement, recorded.fix1, recorded.fix2))
    assert implement.error_type == "RuntimeError" and "mat1 and mat2 shapes cannot be multiplied" in implement.stderr
    assert "nn.Linear(32, 10)" in implement.code and implement.job_id
    assert fix1.error_type == "NameError" and "epoch=1" in fix1.stdout
    assert fix1.debug_log.startswith("RuntimeError") and fix2.score is not None
    assert "<script>alert(1)</script>" in fix1.stdout
    # The fork: fix 1 has two children (fix 2 and the re-fix that fails again).
    assert {a.id for a in trace.children(fix1.id)} == {recorded.fix2, recorded.fork_tip}
    assert trace.attempt(recorded.fork_tip).error_type == "SyntaxError"
    assert [a.stage for a in trace.path(recorded.fix2)] == ["propose", "improve", "implement", "debug", "debug"]
    assert trace.debug_log_so_far(recorded.fix2)[0].startswith("RuntimeError")
    assert trace.previous_run(recorded.fix1).id == recorded.implement
    assert fix1.prompt_tokens and fix1.timings["run_s"] > 0 and fix1.model.endswith("programmer_traces.jsonl")
    with pytest.raises(TraceNotFound):
        load_trace(traces_db, 9999)


def test_filters_by_outcome_error_task_label_debug_steps_and_text(traces_db, recorded):
    page = index.query(traces_db)
    assert page.total == 3
    outcomes = {r["session_id"]: r["outcome"] for r in page.rows}
    assert outcomes == {recorded.main: "recovered", recorded.failing: "failed", recorded.syntax: "recovered"}
    assert page.error_counts == {"SyntaxError": 2, "NameError": 1, "RuntimeError": 1, "KeyError": 1}

    def ids(**kw) -> set[int]:
        return {r["session_id"] for r in index.query(traces_db, TraceFilter(**kw)).rows}

    assert ids(outcome="failed") == {recorded.failing}
    assert ids(outcome="recovered") == {recorded.main, recorded.syntax}
    assert ids(error_type="RuntimeError") == {recorded.main}
    assert ids(error_type="KeyError", outcome="recovered") == set()
    assert ids(task="demo-digits") == {recorded.main, recorded.failing, recorded.syntax}
    assert ids(min_debug=2) == {recorded.main}        # two debug steps on the main branch + the fork's
    assert ids(max_debug=1) == {recorded.failing, recorded.syntax}
    assert ids(text="mat1 shapes") == {recorded.main}  # words from a traceback
    assert ids(text="learning_rate_1") == {recorded.failing}  # from code
    assert ids(text='"(') == set()                    # odd input is words, never an FTS syntax error
    assert ids(programmer=traces_db.execute(
        "SELECT programmer FROM design_sessions WHERE id = ?", [recorded.syntax]).fetchone()[0]) == {recorded.syntax}
    lb.add_labels(traces_db, [(recorded.main, recorded.implement)], "shape-mismatch", who="t")
    page = index.query(traces_db, TraceFilter(label="shape-mismatch"))
    assert [r["session_id"] for r in page.rows] == [recorded.main] and page.label_counts == {"shape-mismatch": 1}
    assert page.rows[0]["labels"] == ["shape-mismatch"]
    with pytest.raises(ValueError, match="Unknown outcome"):
        index.query(traces_db, TraceFilter(outcome="bogus"))


def test_index_follows_new_steps_of_a_session(traces_db, recorded):
    from backend.pipeline import SessionStore

    assert index.query(traces_db, TraceFilter(outcome="failed")).total == 1
    store = SessionStore(traces_db)
    # A hand edit + validation scoring on the failing session turns it into a recovered one.
    tip = store.session_row(recorded.failing)["current_step_id"]
    store.add_step(recorded.failing, tip, "validate", attempt=1, status="succeeded", code="print(1)", score=0.5,
                   origin="user")
    assert index.query(traces_db, TraceFilter(outcome="failed")).total == 0
    assert index.stale_sessions(traces_db) == []


def test_labels_notes_history_and_undo(traces_db, recorded):
    target = (recorded.main, recorded.implement)
    b1 = lb.add_labels(traces_db, [target], "shape-mismatch", who="ann")
    lb.add_note(traces_db, *target, "nn.Linear(32, 10) after a 128-wide layer", who="ann")
    b3 = lb.add_labels(traces_db, [(recorded.main, lb.TRACE), (recorded.failing, lb.TRACE)], "ignored-error", who="bob")
    trace = load_trace(traces_db, recorded.main)
    assert trace.attempt(recorded.implement).labels == ["shape-mismatch"] and trace.labels == ["ignored-error"]
    assert trace.attempt(recorded.implement).notes[0]["author"] == "ann"
    # Undo takes back the newest action as a whole (both traces of the bulk label).
    assert lb.undo(traces_db) == {"batch": b3, "action": "add", "label": "ignored-error", "count": 2}
    assert lb.labels_of(traces_db, recorded.failing) == {}
    assert lb.undo(traces_db)["action"] == "note"
    assert lb.notes_of(traces_db, recorded.main) == {}
    assert lb.undo(traces_db)["batch"] == b1
    assert lb.labels_of(traces_db, recorded.main) == {} and lb.undo(traces_db) is None
    # Nothing is deleted: the history still shows who did what, marked undone.
    events = lb.history(traces_db, recorded.main)
    assert [e["action"] for e in events if e["action"] != "undo"] == ["add", "note", "add"]
    assert all(e["undone_at"] for e in events)
    # Removing is undoable too; unknown labels and targets are refused.
    lb.add_labels(traces_db, [target], "timeout")
    lb.remove_label(traces_db, *target, "timeout")
    assert lb.labels_of(traces_db, recorded.main) == {}
    lb.undo(traces_db)
    assert lb.labels_of(traces_db, recorded.main) == {recorded.implement: ["timeout"]}
    with pytest.raises(lb.LabelError, match="Unknown label"):
        lb.add_labels(traces_db, [target], "no-such-label")
    with pytest.raises(lb.LabelError, match="no attempt"):
        lb.add_labels(traces_db, [(recorded.failing, recorded.implement)], "timeout")


def test_label_set_is_shipped_and_user_editable(deepones_home):
    shipped = lb.label_set(deepones_home)
    assert len(shipped) >= 11 and shipped[0].key == "1" and shipped[9].key == "0" and shipped[10].key == ""
    assert "out-of-memory" in {x.name for x in shipped}
    deepones_home.mkdir(parents=True, exist_ok=True)
    (deepones_home / lb.USER_LABELS_NAME).write_text(json.dumps({"labels": [{"name": "flaky", "title": "Flaky"}]}))
    assert [(x.name, x.key) for x in lb.label_set(deepones_home)] == [("flaky", "1")]


def test_diff_between_attempts_and_across_sessions(traces_db, recorded):
    trace = load_trace(traces_db, recorded.main)
    implement, fix1 = trace.attempt(recorded.implement), trace.attempt(recorded.fix1)
    rows = diff.side_by_side(implement.code, fix1.code)
    changed = [r for r in rows if r.kind != "equal"]
    assert any("nn.Linear(32, 10)" in r.left and "nn.Linear(128, 10)" in r.right for r in changed)
    assert any(r.kind == "insert" and "alert(1)" in r.right for r in changed)
    text = diff.unified(implement.code, fix1.code, "implement", "debug 1")
    assert "-model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(32, 10))" in text
    # Across two sessions: the syntax-error session's fix against the main session's fix 2.
    other = load_trace(traces_db, recorded.syntax)
    fixed = next(a for a in other.attempts if a.stage == "debug")
    across = diff.side_by_side(fixed.code, trace.attempt(recorded.fix2).code)
    assert diff.changed_lines(across) > 10
    assert [r.left_no for r in across if r.left_no] == list(range(1, len(fixed.code.splitlines()) + 1))


def test_json_round_trip_and_jsonl(traces_db, recorded, tmp_path):
    lb.add_labels(traces_db, [(recorded.main, recorded.implement)], "shape-mismatch", who="ann")
    trace = load_trace(traces_db, recorded.main)
    written = export_json.write_json(trace, tmp_path / "trace.json")
    data = json.loads(written[0].read_text("utf-8"))
    assert data["schema"] == "deepones.trace" and data["version"] == 1
    code_file = tmp_path / data["code_files"][str(recorded.implement)]
    assert code_file.read_text("utf-8") == trace.attempt(recorded.implement).code
    [back] = list(export_json.read_traces(written[0]))
    assert back == trace and back.attempt(recorded.implement).labels == ["shape-mismatch"]
    traces = [trace, load_trace(traces_db, recorded.failing)]
    assert export_json.write_jsonl(traces, tmp_path / "all.jsonl") == 2
    assert list(export_json.read_traces(tmp_path / "all.jsonl")) == traces
    (tmp_path / "future.json").write_text(json.dumps({**data, "version": 99}))
    with pytest.raises(export_json.TraceFileError, match="version 99"):
        list(export_json.read_traces(tmp_path / "future.json"))


def test_long_output_is_capped_head_and_tail(traces_db, recorded):
    from backend.pipeline import SessionStore
    from backend.traces.model import OUTPUT_HEAD, OUTPUT_TAIL, cap_output

    long = "".join(f"line {i}\n" for i in range(20_000))
    SessionStore(traces_db).update_step(recorded.fix1, stdout=long)
    shown = load_trace(traces_db, recorded.main).attempt(recorded.fix1).stdout
    assert shown == cap_output(long)   # SQLite's cut matches the Python one
    assert shown.startswith("line 0\n") and shown.endswith("line 19999\n") and "bytes cut" in shown
    assert len(shown) < OUTPUT_HEAD + OUTPUT_TAIL + 200
