"""The proposal board in a real window (offscreen): ask, stream, sort, merge, compare, pick; Chat's Compare."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from backend.ideation.cards import sort_cards
from backend.pipeline import SessionStore, get_task
from deepones_gui.main_window import MainWindow
from deepones_gui.workspaces.design.widgets import NEXT
from tests.ideation.test_board import DESIGNER


def _open(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()  # shortcuts reach an active window only
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    return window, window.show_workspace("design")


def _wait(qtbot, board) -> None:
    qtbot.waitUntil(lambda: not board.is_running(), timeout=60_000)


@pytest.fixture
def design(qtbot, app_context):
    window, page = _open(qtbot, app_context)
    sid = page.create_session(get_task("demo-digits"), DESIGNER, DESIGNER)
    return window, page, sid


def test_board_asks_sorts_merges_compares_and_picks(qtbot, app_context, design):
    window, page, sid = design
    assert page.bar.board_btn.isEnabled()
    page.bar.board_btn.click()
    board = page.board
    assert page.body.currentWidget() is board and board.empty.isVisible()
    assert board.designers.text() == DESIGNER and "scikit-learn digits" in board.prompt_edit.toPlainText()
    assert not board.stop_btn.isEnabled() and not board.merge_btn.isEnabled()

    board.n_spin.setValue(4)
    board.temperature.setValue(0.6)
    # Ctrl+Return asks (the stage view's own Ctrl+Return is off while the board is shown).
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert board.is_running() and not board.propose_btn.isEnabled() and board.stop_btn.isEnabled()
    _wait(qtbot, board)
    assert len(board.widgets) == 4 and board.scroll.isVisible() and not board.empty.isVisible()
    cards = board.cards
    assert [c.status for c in cards] == ["done"] * 4 and all(c.temperature == 0.6 for c in cards)
    widgets = [board.widgets[c.step_id] for c in cards]
    assert "Backbone: MLP-32" in widgets[0].text.toPlainText()
    assert (
        "Proposal" in widgets[0].title.text() and widgets[0].values["Tokens"].text() == f"{cards[0].tokens:,}"
    )
    # Check is live only where there is model code; the card without says why.
    assert [w.check_btn.isEnabled() for w in widgets] == [True, True, False, True]
    assert "Not checked yet" in widgets[0].verdict.text()
    assert (
        "no model code" in widgets[2].verdict.text()
        and "implement it first" in widgets[2].check_btn.toolTip()
    )
    assert board.status.text() == "4 proposals, 4 answered, 0 checked"

    # Sort by the answers' length, longest first (and back).
    board.sort_combo.setCurrentIndex(board.sort_combo.findData("tokens"))
    assert board.descending.isChecked()
    assert board.ordered_ids() == [c.step_id for c in sort_cards(cards, "tokens", True)]
    board.descending.setChecked(False)
    assert board.ordered_ids() == [c.step_id for c in sort_cards(cards, "tokens", False)]

    # Merge B into A: a fifth card.
    board.merge_a.setCurrentIndex(board.merge_a.findData(cards[0].step_id))
    board.merge_b.setCurrentIndex(board.merge_b.findData(cards[1].step_id))
    board.instruction.setText("combine the hidden width of B into A")
    assert board.merge_btn.isEnabled()
    board.merge_btn.click()
    _wait(qtbot, board)
    assert len(board.cards) == 5
    merged = board.cards[-1]
    assert (
        merged.merged_from == [cards[0].step_id, cards[1].step_id]
        and "merged" in board.widgets[merged.step_id].title.text()
    )

    # Compare A and B: the proposal text and the model code, side by side.
    board.compare_btn.click()
    from deepones_gui.workspaces.design.design_diff import DesignDiffDialog

    dialog = next(w for w in board.findChildren(DesignDiffDialog))
    assert dialog.tabs.count() == 4 and dialog.tabs.tabText(1) == "Model code (1 line changed)"
    assert any(r.kind != "equal" for r in dialog.code_view.rows)
    assert "Diagrams" == dialog.tabs.tabText(3)
    dialog.close()

    # The board fits the 1280x800 window it runs in (nothing forces the window wider or taller).
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800, hint
    assert board.width() <= window.width()

    # Every card is an attempt in Traces.
    board.traces_btn.click()
    traces = window.page("traces")
    qtbot.waitUntil(
        lambda: traces.view.trace is not None and traces.view.trace.session_id == sid, timeout=20_000
    )
    assert sorted(a.id for a in traces.view.trace.attempts) == sorted(c.step_id for c in board.cards)
    assert len(traces.view._items()) == 5
    window.show_workspace("design")

    # Pick the CNN: the session goes on on its branch, the stage view shows Improve next.
    board.widgets[cards[2].step_id].continue_btn.click()
    assert page.body.currentIndex() == 0 and page.rail.selected_data() == NEXT
    assert [s.id for s in page.state.steps] == [cards[2].step_id] and "Improve" in page.header.text()
    # Back in the stage view, Ctrl+Return runs the stage again (Improve, on the card's branch).
    window.activateWindow()  # the Compare dialog had it
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    page.prompt_edit.setFocus()
    qtbot.keyClick(page.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not page.is_running(), timeout=30_000)
    improve = SessionStore(app_context.db).steps(sid)[-1]
    assert improve.stage == "improve" and improve.parent_id == cards[2].step_id
    # Everything is in the session tree.
    sessions = SessionStore(app_context.db)
    assert [(s.stage, s.status) for s in sessions.steps(sid)][:5] == [("propose", "done")] * 5


def test_chat_compare_opens_the_board_with_the_prompt(qtbot, app_context, tmp_path):
    import json

    from deepones_gui.workspaces.chat.message_widget import MessageWidget

    window, page = _open(qtbot, app_context)
    chat = window.show_workspace("chat")
    qtbot.waitUntil(lambda: chat.picker.ready, timeout=20_000)
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"content": "A ResNet-18."}) + "\n")
    chat.select_model(f"replay:{answers}")
    question = "Which model would fit CIFAR-10 under 4 GB?"
    chat.input.setPlainText(question)
    chat.send()
    qtbot.waitUntil(lambda: not chat.runner.running and chat._pending is None, timeout=20_000)
    bubbles = [chat.thread.itemAt(i).widget() for i in range(chat.thread.count())]
    messages = [w for w in bubbles if isinstance(w, MessageWidget)]
    assert [w.role for w in messages] == ["user", "assistant"]
    user = messages[0]
    assert user.compare_button.isEnabled() and not hasattr(messages[1], "compare_button")
    user.compare_button.click()
    # Design opens a new session on the board, with the chat's prompt as what the designer is asked.
    assert window.current_workspace_name() == "design"
    assert page.body.currentWidget() is page.board
    assert page.board.prompt_edit.toPlainText() == question and page.board.prompt_edit.isVisible()
    row = SessionStore(app_context.db).session_row(page.session_id)
    assert row["title"] == f"Compare: {question}"


@pytest.mark.slow
def test_check_and_improvement_from_the_cards(qtbot, app_context, design):
    """Check runs the real model check job from a card; Improvement shows A_I against A_B."""
    window, page, sid = design
    page.show_board()
    board = page.board
    board.n_spin.setValue(2)
    board.propose_btn.click()
    _wait(qtbot, board)
    first = board.cards[0]
    widget = board.widgets[first.step_id]
    widget.check_btn.click()
    assert "Checking" in widget.verdict.text() and not widget.continue_btn.isEnabled()
    _wait(qtbot, board)
    widget = board.widgets[first.step_id]
    assert widget.verdict.text() == "✓ Meets the requirements", widget.verdict.text()
    assert widget.values["Params"].text() == "2.4k" and widget.check_btn.text() == "Check again"
    assert board.status.text() == "2 proposals, 2 answered, 1 checked"

    sessions = SessionStore(app_context.db)
    sessions.add_step(
        sid,
        first.step_id,
        "improve",
        status="done",
        response="One possible improvement is dropout after the hidden layer.\n",
    )
    sessions.fork(sid, None)
    board.reload()
    widget = board.widgets[first.step_id]
    assert not widget.improve_btn.isHidden()
    widget.improve_btn.click()
    from deepones_gui.workspaces.design.design_diff import DesignDiffDialog

    dialog = board.findChildren(DesignDiffDialog)[-1]
    assert dialog.diff.after.label.startswith("A_I") and dialog.diff.text_changes > 0
    assert dialog.tabs.tabText(1) == "Model code" and "not been implemented" in dialog.code_view.text()
