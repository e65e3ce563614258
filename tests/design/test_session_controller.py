"""The Design session controller (Qt-free) and the page over it (issue 26, items 7 and 10).

The controller holds the branch and the rules; a step a run reports is put in place in memory, so
the page draws each step of a run without reading the branch from the store again. Steps are
recorded straight into a real store (no programs run here).
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from backend.pipeline import SessionStore, Step, get_task
from backend.pipeline.controller import NEXT, DesignSession
from tests.design.conftest import replay


def _session(db) -> tuple[SessionStore, int]:
    sessions = SessionStore(db)
    sid = sessions.create_session(
        get_task("demo-digits"), replay("designer.jsonl"), replay("programmer.jsonl")
    )
    return sessions, sid


def test_a_reported_step_is_put_in_place_without_reading_the_store(store, tmp_path):
    sessions, sid = _session(store)
    propose = sessions.add_step(sid, None, "propose", status="done", response="an MLP")
    ctl = DesignSession(sessions, tmp_path)
    ctl.open(sid, running=False)
    assert [s.id for s in ctl.state.steps] == [propose.id] and ctl.next_stage == "improve"
    queries = []
    store.conn.set_trace_callback(queries.append)
    try:
        improve = sessions.add_step(sid, propose.id, "improve", status="running")
        queries.clear()
        assert ctl.apply_step(improve)  # the new tip, running
        assert ctl.state.running_step.id == improve.id and ctl.running_step_id == improve.id
        done = sessions.step(improve.id)
        done.status, done.response = "done", "MLP + dropout"
        queries.clear()
        assert ctl.apply_step(done)  # the same step, finished
        assert queries == []  # nothing read from the store
    finally:
        store.conn.set_trace_callback(None)
    assert [s.status for s in ctl.state.steps] == ["done", "done"] and ctl.next_stage == "implement"
    assert ctl.running_step_id is None
    # A re-run forks at the step's parent: the new sibling replaces what followed it.
    rerun = sessions.add_step(sid, propose.id, "improve", status="running")
    assert ctl.apply_step(rerun) and [s.id for s in ctl.state.steps] == [propose.id, rerun.id]
    other = Step(id=10_001, session_id=sid, parent_id=10_000, stage="improve")  # not on this branch:
    assert ctl.apply_step(other) is False  # the caller reloads


def test_the_rules_of_the_buttons_and_the_edits(store, tmp_path):
    sessions, sid = _session(store)
    propose = sessions.add_step(sid, None, "propose", status="done", response="an MLP")
    failed = sessions.add_step(sid, propose.id, "improve", status="error", error_type="ModelError")
    ctl = DesignSession(sessions, tmp_path)
    ctl.open(sid, running=False)
    ctl.shown = ctl.selection()
    assert ctl.shown == failed.id  # a step that ended without a result comes first
    a = ctl.actions(running_here=False, has_next_item=False, has_code=False)
    assert a.run and a.run_label == "Run again" and not a.accept and not a.stop and not a.fork
    assert not ctl.actions(running_here=True, has_next_item=False, has_code=False).run
    ctl.shown = propose.id
    a = ctl.actions(running_here=False, has_next_item=True, has_code=False)
    assert a.run_label == "Re-run stage (new branch)" and a.accept and a.fork
    key, fn, args = ctl.response_save("an MLP, wider")
    fn(*args)
    assert (
        sessions.step(propose.id).response == "an MLP, wider"
        and ctl.step(propose.id).response == "an MLP, wider"
    )
    ctl.shown = NEXT
    assert ctl.prompt_save("draft")[0] == ("draft", failed.id, "improve")
    assert ctl.designer_tip().id == failed.id


def test_the_page_draws_each_step_of_a_run_without_re_reading_the_branch(qtbot, app_context, monkeypatch):
    from deepones_gui.workspaces.design.page import DesignPage

    QSettings().remove("design")
    sessions, sid = _session(app_context.db)
    propose = sessions.add_step(sid, None, "propose", status="done", response="an MLP")
    page = DesignPage(app_context)
    qtbot.addWidget(page)
    page.open_session(sid)
    reads = []
    for name in ("state", "branch", "leaves", "steps"):
        real = getattr(SessionStore, name)
        monkeypatch.setattr(
            SessionStore,
            name,
            lambda self, *a, _n=name, _r=real, **k: (reads.append(_n), _r(self, *a, **k))[1],
        )
    # What a run reports: the new step running, its answer streaming, then the step done.
    improve = sessions.add_step(sid, propose.id, "improve", status="running", prompt="improve it")
    page._on_event(sid, "step", {"step": improve})
    assert page.header.text().startswith("Improve — running") and page.session.running_step_id == improve.id
    assert not page.run_btn.isEnabled() and page.rail.selected_data() == improve.id
    page._on_event(sid, "chunk", {"step_id": improve.id, "text": "MLP + "})
    sessions.update_step(improve.id, status="done", response="MLP + dropout")
    page._on_event(sid, "step", {"step": sessions.step(improve.id)})
    assert (
        page.header.text().startswith("Improve — done")
        and page.response_edit.toPlainText() == "MLP + dropout"
    )
    assert page.accept_btn.isEnabled() and [s.stage for s in page.state.steps] == ["propose", "improve"]
    assert reads == []  # no branch re-read per step
    page.accept_and_next()
    assert page.rail.selected_data() == NEXT and page.header.text() == "Implement — not run yet"


def test_the_board_is_a_widget_the_page_composes_not_a_mixin():
    from deepones_gui.workspaces.design.page import DesignPage
    from deepones_gui.workspaces.design.proposal_board import ProposalBoardView

    assert [c.__name__ for c in DesignPage.__mro__[:3]] == ["DesignPage", "WorkspacePage", "QWidget"]
    assert [c.__name__ for c in ProposalBoardView.__mro__[:2]] == ["ProposalBoardView", "QWidget"]
