"""The Traces workspace on real recorded traces: filter, open, jump from a traceback, label by key, diff."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from backend.traces import labels as lb

# The first test of a run records the replayed sessions (real training runs: minutes on a busy box).
pytestmark = pytest.mark.timeout(1200)


@pytest.fixture
def page(recorded, app_context, qtbot):
    from deepones_gui.workspaces.traces.page import TracesPage

    p = TracesPage(app_context)
    qtbot.addWidget(p)
    p.resize(1280, 800)
    p.show()
    qtbot.waitUntil(lambda: not p.loading and p.model.rowCount() == 3, timeout=15000)
    yield p
    p.shutdown()


def _settled(qtbot, page) -> None:
    qtbot.waitUntil(lambda: not page.loading and not page.busy, timeout=15000)


def test_filter_open_jump_label_and_diff(page, recorded, app_context, qtbot, tmp_path):
    # Filter: failed only.
    page.filters.select("outcome", "failed")
    qtbot.waitUntil(lambda: not page.loading and [r["session_id"] for r in page.model.rows] == [recorded.failing],
                    timeout=15000)
    assert page.count_label.text().startswith("1 trace")
    assert page.chart.groups[0][2] == [("KeyError", 1)]
    page.filters.reset()
    qtbot.waitUntil(lambda: not page.loading and page.model.rowCount() == 3, timeout=15000)

    # Open the main trace from the list with the keyboard.
    page.table.setFocus()
    row = page.model.row_of(recorded.main)
    page.table.selectRow(0)
    for _ in range(row):
        QTest.keyClick(page.table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: page.view.trace is not None and page.view.trace.session_id == recorded.main, timeout=15000)
    view = page.view
    assert view.tree.topLevelItemCount() == 1

    # Jump from a traceback line of the failed Implement attempt to the code.
    assert view.select_attempt(recorded.implement)
    output = view.output
    block = next(b for b in range(output.document().blockCount())
                 if 'program.py", line' in output.document().findBlockByNumber(b).text())
    text = output.document().findBlockByNumber(block).text()
    line = int(text.split(", line ")[1].split(",")[0])
    view.tabs.setCurrentWidget(output)
    output.moveCursor(output.textCursor().MoveOperation.Start)
    cursor = output.textCursor()
    cursor.setPosition(output.document().findBlockByNumber(block).position() + 4)
    output.setTextCursor(cursor)
    output.ensureCursorVisible()
    rect = output.cursorRect(cursor)
    QTest.mouseClick(output.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(rect.x() + 2, rect.center().y()))
    assert view.tabs.currentWidget() is view.code
    assert view.code.current_line() == line
    assert "model(" in view.code.document().findBlockByNumber(line - 1).text()

    # Label with a key: 3 is the third label of the set (shape mismatch).
    third = lb.label_set(app_context.data_dir)[2]
    view.tree.setFocus()
    QTest.keyClick(view.tree, Qt.Key.Key_3)
    assert lb.labels_of(app_context.db, recorded.main) == {recorded.implement: [third.name]}
    qtbot.waitUntil(lambda: not page.loading and third.name in view.trace.attempt(recorded.implement).labels,
                    timeout=15000)
    assert page.chart.groups[1][2] == [(third.name, 1)]
    QTest.keyClick(view.tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert lb.labels_of(app_context.db, recorded.main) == {}
    QTest.keyClick(view.tree, Qt.Key.Key_3)   # back again, for the screenshot
    # The keys are shown beside the labels they apply, and each button labels like its key.
    label_set = lb.label_set(app_context.data_dir)
    assert [b.text() for b in page.label_buttons[:3]] == [f"{x.key}  {x.title}" for x in label_set[:3]]
    page.label_buttons[0].click()
    assert label_set[0].name in lb.labels_of(app_context.db, recorded.main)[recorded.implement]
    QTest.keyClick(view.tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert lb.labels_of(app_context.db, recorded.main) == {recorded.implement: [third.name]}

    # Diff two attempts: fix 1 against its previous program, then against another trace.
    assert view.select_attempt(recorded.fix1)
    view.tabs.setCurrentWidget(view.diff_tab)
    assert view.compare.currentText().startswith("Previous program: Implement")
    changed = view.diff.changed_rows()
    assert any("nn.Linear(32, 10)" in r.left and "nn.Linear(128, 10)" in r.right for r in changed)
    page.compare_with(recorded.syntax)
    qtbot.waitUntil(lambda: view.diff.horizontalHeaderItem(1).text().startswith(f"#{recorded.syntax} "), timeout=15000)
    assert len(view.diff.changed_rows()) > 5
    _settled(qtbot, page)
    shot = tmp_path / "traces.png"
    page.grab().save(str(shot))
    assert shot.stat().st_size > 10_000


def test_actions_fork_rerun_and_broadcast(page, recorded, app_context, qtbot):
    seen = []
    app_context.broadcast.connect(lambda name, payload: seen.append((name, payload)))
    app_context.broadcast.emit("open_trace", {"session_id": recorded.main, "step_id": recorded.fix1})
    qtbot.waitUntil(lambda: page.view.current_attempt() is not None
                    and page.view.current_attempt().id == recorded.fix1, timeout=15000)
    assert page.rerun_button.isEnabled() and page.fork_button.isEnabled() and page.jobs_button.isEnabled()
    page.fork_current()
    qtbot.waitUntil(lambda: page.forked_session is not None, timeout=15000)
    assert ("open_design_session", {"session_id": page.forked_session}) in seen
    # The Design workspace opens the fork when it hears that broadcast.
    from deepones_gui.workspaces.design.page import DesignPage

    design = DesignPage(app_context)
    qtbot.addWidget(design)
    app_context.broadcast.emit("open_design_session", {"session_id": page.forked_session})
    assert design.session_id == page.forked_session
    design.shutdown()
    from backend.pipeline import SessionStore

    branch = SessionStore(app_context.db).branch(page.forked_session)
    assert [s.stage for s in branch][-1] == "debug" and branch[-1].error_type == "NameError"
    # Re-run the failing session's quick program (no torch) and follow the job to its end.
    page.open_trace(recorded.failing)
    qtbot.waitUntil(lambda: page.view.trace is not None and page.view.trace.session_id == recorded.failing,
                    timeout=15000)
    rerun = next(a for a in page.view.trace.attempts if a.stage == "debug")
    page.view.select_attempt(rerun.id)
    page.rerun_current()
    qtbot.waitUntil(lambda: "as job" in page.status.text(), timeout=15000)
    job_id = page.status.text().split("as job ")[1].split(" ")[0]

    def job_done() -> bool:
        from backend.jobs.records import sync_jobs

        sync_jobs(app_context.db)   # what the Jobs page does: record jobs that ended while nobody waited
        row = app_context.db.execute("SELECT status, origin FROM jobs WHERE id = ?", [job_id]).fetchone()
        return row is not None and row[0] not in ("queued", "running")

    qtbot.waitUntil(job_done, timeout=120_000)   # a real job: leave no process behind
    assert app_context.db.execute("SELECT origin FROM jobs WHERE id = ?", [job_id]).fetchone()[0] == (
        f"trace:{rerun.id}")
    # A designer-only attempt has no code to re-run: the button says so by being disabled.
    first = page.view.trace.attempts[0]
    page.view.select_attempt(first.id)
    assert not page.rerun_button.isEnabled()
