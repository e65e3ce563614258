"""The one find bar: used by the Jobs log view and the Design code editor; finds with wrap-around."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor


def test_find_bar_wraps_both_ways_and_reports_misses(qtbot):
    from PySide6.QtWidgets import QPlainTextEdit

    from deepones_gui.widgets.find_bar import FindBar

    editor = QPlainTextEdit()
    editor.setPlainText("alpha\nbeta\nalpha again\n")
    bar = FindBar(editor, incremental=False)
    qtbot.addWidget(editor)
    qtbot.addWidget(bar)
    assert bar.find(text="alpha") and editor.textCursor().blockNumber() == 0
    assert bar.find() and editor.textCursor().blockNumber() == 2
    assert bar.find() and editor.textCursor().blockNumber() == 0          # wrapped to the start
    assert bar.find(backward=True) and editor.textCursor().blockNumber() == 2   # wrapped to the end
    assert not bar.find(text="gamma") and bar.status.text() == "not found"


def test_code_editor_and_log_view_share_it(qtbot):
    from deepones_gui.widgets.code_editor import CodePane
    from deepones_gui.widgets.find_bar import FindBar
    from deepones_gui.workspaces.jobs.logview import LogView

    pane, view = CodePane(), LogView()
    qtbot.addWidget(pane)
    qtbot.addWidget(view)
    assert isinstance(pane.find_bar, FindBar) and isinstance(view.find_bar, FindBar)
    pane.set_code("x = 1\ny = 2\nx += y\n")
    pane.editor.moveCursor(QTextCursor.MoveOperation.End)
    pane.find_bar.open_bar()
    assert pane.find_bar.find(text="x") and pane.editor.textCursor().blockNumber() == 0   # wrapped
    view.append_text("one\ntwo\none\n")
    assert view.find("one") and not view.follow.isChecked()
    assert not view.find_bar.closable and not view.find_bar.isHidden()
