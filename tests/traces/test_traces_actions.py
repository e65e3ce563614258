"""From an attempt: re-run as a real job, fork into a new Design session, confirmed fixes -> samples."""

from __future__ import annotations

import pytest

from backend.traces import actions, samples
from backend.traces import labels as lb
from backend.traces.model import load_trace

# The first test of a run records the replayed sessions (real training runs: minutes on a busy box).
pytestmark = pytest.mark.timeout(1200)


def test_rerun_an_attempt_as_a_job_reproduces_its_error(traces_db, recorded, deepones_home):
    result = actions.rerun(traces_db, recorded.implement, root=deepones_home)
    assert result.status == "failed" and result.score is None
    assert "mat1 and mat2 shapes cannot be multiplied" in result.stderr_path.read_text("utf-8")
    job = traces_db.execute("SELECT origin, name FROM jobs WHERE id = ?", [result.job_id]).fetchone()
    assert job[0] == f"trace:{recorded.implement}" and "re-run of implement" in job[1]
    # submit: the handle comes back at once (as the GUI uses it); the failing session's program is quick.
    failing = load_trace(traces_db, recorded.failing)
    attempt = next(a for a in failing.attempts if a.stage == "debug")
    handle = actions.submit_rerun(traces_db, attempt.id, root=deepones_home)
    done = handle.wait()
    assert done.status == "failed" and "learning_rate_1" in done.stderr_path.read_text("utf-8")


def test_fork_into_design_copies_the_branch_and_leaves_the_original(traces_db, recorded):
    from backend.pipeline import DesignRunner, SessionStore

    store = SessionStore(traces_db)
    tip_before = store.session_row(recorded.main)["current_step_id"]
    new = actions.fork_to_design(traces_db, recorded.fix1)
    branch = store.branch(new)
    assert [s.stage for s in branch] == ["propose", "improve", "implement", "debug"]
    assert branch[-1].code == store.step(recorded.fix1).code and branch[-1].error_type == "NameError"
    assert store.session_row(recorded.main)["current_step_id"] == tip_before
    assert "fork of #" in store.session_row(new)["title"]
    # The new session goes on from the fork point in Design: its next stage is another debug attempt,
    # and the replayed programmer continues where the copied steps leave it (fix 2, which scores).
    state = DesignRunner(traces_db, new).state()
    assert state.next_stage() == "debug"
    step = DesignRunner(traces_db, new).run_stage()
    assert step.stage == "debug" and step.score is not None


def test_to_samples_one_per_confirmed_fix_and_idempotent(traces_db, recorded):
    trace = load_trace(traces_db, recorded.main)
    fixes = samples.confirmed_fixes(trace)
    assert [(f.failed.id, f.fix.id) for f in fixes] == [(recorded.implement, recorded.fix1),
                                                       (recorded.fix1, recorded.fix2)]
    # The fork's last attempt does not even parse: not a confirmed fix, so no sample for it.
    assert recorded.fork_tip not in {f.fix.id for f in fixes}
    first = samples.to_samples(traces_db)
    # main: 2 fixes; syntax session: 1 (it did not parse, the fix ran and scored); failing session: none.
    assert first == {"created": 3, "skipped": 0}
    assert samples.to_samples(traces_db) == {"created": 0, "skipped": 3}
    rows = list(traces_db.query(
        "SELECT kind, category, dataset, source_file, source_line, input, output FROM samples"
        " WHERE source_file = ? ORDER BY source_line", [f"trace:{recorded.main}"]))
    assert [(r["kind"], r["category"], r["dataset"], r["source_line"]) for r in rows] == [
        ("dlpd", "debugging", "trace-fixes", recorded.fix1), ("dlpd", "debugging", "trace-fixes", recorded.fix2)]
    assert "mat1 and mat2" in rows[0]["input"] and "nn.Linear(32, 10)" in rows[0]["input"]
    assert rows[0]["output"].startswith("DEBUG LOG: RuntimeError") and "nn.Linear(128, 10)" in rows[0]["output"]
    assert "1. RuntimeError" in rows[1]["input"]  # the debug log so far
    assert samples.samples_of(traces_db, recorded.main).keys() == {recorded.fix1, recorded.fix2}


def test_to_samples_filtered_by_label(traces_db, recorded):
    lb.add_labels(traces_db, [(recorded.main, recorded.implement)], "shape-mismatch")
    assert samples.to_samples(traces_db, label="shape-mismatch", dataset="shapes") == {"created": 1, "skipped": 0}
    assert traces_db.execute("SELECT count(*) FROM samples WHERE dataset = 'shapes'").fetchone()[0] == 1


def test_a_fix_whose_sample_already_exists_keeps_its_link(traces_db, recorded):
    """The sample text of a fix is in the store already (imported earlier, made from another
    dataset): no second sample, and the fix's trace_samples row still names that sample."""
    from backend.datasets.importer import insert_samples
    from backend.datasets.rows import SampleRow
    from backend.store import transaction

    trace = load_trace(traces_db, recorded.main)
    fix = samples.confirmed_fixes(trace)[0]
    existing = SampleRow.from_sample(samples.make_sample(fix), "imported-before", "elsewhere.jsonl", 7, 1.0)
    assert existing.to_row()[existing.__slots__.index("content_hash")] == existing.content_hash
    with transaction(traces_db):
        assert insert_samples(traces_db.conn, [existing]) == 1
    existing_id = traces_db.conn.execute("SELECT id FROM samples WHERE content_hash = ?",
                                         [existing.content_hash]).fetchone()[0]
    result = samples.to_samples(traces_db)
    assert result["skipped"] >= 1
    links = samples.samples_of(traces_db, recorded.main)
    assert links[fix.fix.id] == existing_id            # was None: the lineage was lost
    assert all(sample_id is not None for sample_id in links.values())
    row = traces_db.conn.execute("SELECT dataset, source_file FROM samples WHERE id = ?", [existing_id]).fetchone()
    assert tuple(row) == ("imported-before", "elsewhere.jsonl")   # the existing sample is untouched
