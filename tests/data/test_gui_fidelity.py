"""The Data workspace with rich samples and at its edges: tool calls, tool results, tool
definitions and preference pairs in the detail pane; the "Contains" facets; facet counts that
follow the search; the index built behind browsable rows; bulk undo on a worker thread; and the
first-hour layout defects (cut facet labels, a narrow Match column, a cramped "Needs fix",
an Undo button that grows, Ctrl+F right after Ctrl+2)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from backend.datasets.importer import import_paths
from backend.datasets.indexing import index_pending
from backend.store import connection
from tests.data.fidelity_records import ALPACA, OPENAI, SHAREGPT


@pytest.fixture
def page(qtbot, app_context):
    from deepones_gui.workspaces.data.page import DataPage

    page = DataPage(app_context)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    qtbot.waitUntil(lambda: page.ready() and page.model.rowCount() == 257, timeout=20_000)
    yield page
    page.shutdown()


def _add_rich(page, qtbot, write_jsonl, *, index: bool = True) -> None:
    with connection(page.db_path) as db:
        report = import_paths(db, [write_jsonl("rich.jsonl", SHAREGPT + OPENAI + ALPACA)], dataset="rich")
        assert report.rejected_total == 0, report.rejected
        if index:
            index_pending(db)
    qtbot.waitUntil(lambda: page.model.rowCount() == 257 + len(SHAREGPT + OPENAI + ALPACA), timeout=5000)


def _check(page, group: str, label: str) -> None:
    tree = page.facets
    item = next(tree.groups[group].child(i) for i in range(tree.groups[group].childCount())
                if tree.groups[group].child(i).text(0) == label)
    item.setCheckState(0, Qt.CheckState.Checked)


def _show_first(page, qtbot) -> str:
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.detail.sample is not None and page.detail.sample["id"] == page.model.sample_id(0))
    return page.detail.browser.toPlainText()


def test_tool_calls_results_and_definitions_render_and_the_facet_filters(page, qtbot, write_jsonl):
    _add_rich(page, qtbot, write_jsonl)
    qtbot.waitUntil(lambda: page.facets.groups["trait"].child(0).text(1) == "4", timeout=5000)
    _check(page, "trait", "has tools")
    qtbot.waitUntil(lambda: page.model.rowCount() == 4, timeout=5000)
    text = _show_first(page, qtbot)   # the ShareGPT weather conversation
    assert "Calls get_weather" in text and '"city": "Rome"' in text       # name + pretty-printed arguments
    assert text.count("Tool result") == 2 and '"temp": 21' in text
    assert "get_weather — Current weather for a city" in text and '"required"' in text   # the definition
    assert "You are a weather assistant." in text


def test_a_preference_pair_renders_side_by_side(page, qtbot, write_jsonl):
    _add_rich(page, qtbot, write_jsonl)
    _check(page, "trait", "preference")
    qtbot.waitUntil(lambda: page.model.rowCount() == 5, timeout=5000)
    text = _show_first(page, qtbot)
    assert "✔ Chosen" in text and "✘ Rejected" in text and "Adam." in text and "ReLU." in text
    html = page.detail.browser.toHtml()
    assert html.index("Adam.") < html.index("ReLU.")   # one table row: chosen left, rejected right
    page.table.selectRow(1)  # the KTO sample
    qtbot.waitUntil(lambda: "KTO label" in page.detail.browser.toPlainText())
    assert "undesirable" in page.detail.browser.toPlainText()


def test_facet_counts_follow_the_search(page, qtbot):
    total = lambda key: sum(int(page.facets.groups[key].child(i).text(1).replace(",", ""))  # noqa: E731
                            for i in range(page.facets.groups[key].childCount()))
    assert total("kind") == 257
    page.search.setText("optimiser")
    page.apply_filter()
    qtbot.waitUntil(lambda: page.model.count_is_exact and not page.model.searching, timeout=5000)
    n = page.model.rowCount()
    assert 0 < n < 257
    qtbot.waitUntil(lambda: total("kind") == n, timeout=5000)
    assert total("status") == n


def test_rows_are_browsable_before_the_index_and_search_says_so(page, qtbot, write_jsonl, monkeypatch):
    real_start = page.transfers.start_index
    monkeypatch.setattr(page.transfers, "start_index", lambda: False)   # hold the indexer back for a moment
    _add_rich(page, qtbot, write_jsonl, index=False)   # browsable at once: 272 rows listed
    _check(page, "trait", "has tools")
    qtbot.waitUntil(lambda: page.model.rowCount() == 4, timeout=5000)   # filterable too
    page.search.setText("Rome")
    page.apply_filter()
    qtbot.waitUntil(lambda: "still indexing" in page.count_label.text(), timeout=5000)
    assert page.count_label.toolTip() == "still indexing: search covers 257 of 272 samples"
    assert page.model.rowCount() == 0
    monkeypatch.setattr(page.transfers, "start_index", real_start)
    assert page.transfers.start_index()
    qtbot.waitUntil(lambda: page.transfers.index_task is None and page.session.coverage is not None
                    and page.session.coverage.complete, timeout=10_000)
    # The two tool conversations whose last exchange is about Rome, found once indexed.
    qtbot.waitUntil(lambda: page.model.rowCount() == 2 and "still indexing" not in page.count_label.text(),
                    timeout=5000)


def test_bulk_undo_and_redo_run_off_the_gui_thread(page, qtbot, monkeypatch):
    from backend.datasets import curation
    from deepones_gui.workspaces.data import commands

    monkeypatch.setattr(commands, "BULK_THRESHOLD", 10)
    threads: list[str] = []
    real = curation.restore_status

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(curation, "restore_status", spy)
    page.review_matching("accepted")
    qtbot.waitUntil(lambda: page.undo_stack.count() == 1, timeout=5000)
    statuses = lambda: {s for (s,) in page.db.conn.execute("SELECT DISTINCT status FROM samples")}  # noqa: E731
    assert statuses() == {"accepted"}
    page.undo()
    assert page.session.bulk_running   # returned at once: the work is on a worker thread
    qtbot.waitUntil(lambda: not page.session.bulk_running, timeout=10_000)
    assert statuses() == {"unreviewed"}
    assert threads and threads[0] != threading.main_thread().name
    assert "done" in page.transfers.label.text()
    page.redo()
    qtbot.waitUntil(lambda: not page.session.bulk_running and statuses() == {"accepted"}, timeout=10_000)


def test_no_facet_label_is_cut_and_needs_fix_fits(page, qtbot):
    from PySide6.QtWidgets import QStyle

    tree = page.facets
    for group in tree.groups.values():
        group.setExpanded(True)
    qtbot.wait(50)
    fm = tree.fontMetrics()
    check = tree.style().pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth) + 6
    for group in tree.groups.values():
        for i in range(group.childCount()):
            item = group.child(i)
            cell = tree.visualRect(tree.indexFromItem(item, 0))   # column 0 after the indentation
            needed = fm.horizontalAdvance(item.text(0)) + check
            assert needed <= cell.width(), f"facet label cut: {item.text(0)!r} needs {needed}, has {cell.width()}"
    for button in page.detail.review_buttons.values():
        bold = button.font()
        bold.setBold(True)
        assert QFontMetrics(bold).horizontalAdvance(button.text()) + 16 <= button.width(), button.text()


def test_match_column_gets_the_room_while_searching(page, qtbot):
    page.search.setText("residual")
    page.apply_filter()
    qtbot.waitUntil(lambda: page.model.count_is_exact and not page.model.searching, timeout=5000)
    widths = {c: page.table.columnWidth(c) for c in range(7) if not page.table.isColumnHidden(c)}
    assert page.model.headerData(4, Qt.Orientation.Horizontal) == "Match"
    assert widths[4] == max(widths.values())
    assert widths[4] >= 0.5 * page.table.viewport().width()


def test_undo_button_keeps_its_size_after_an_accept(page, qtbot):
    search_width, undo_width = page.search.width(), page.undo_button.width()
    assert not page.undo_button.isEnabled()
    page.table.setFocus()
    page.table.selectRow(0)
    qtbot.keyClick(page.table, Qt.Key.Key_A)
    qtbot.wait(50)
    assert page.undo_button.isEnabled() and page.undo_button.text() == "Undo"
    assert "Mark 1 sample accepted" in page.undo_button.toolTip()
    assert page.undo_button.width() == undo_width and page.search.width() == search_width


def test_ctrl_f_right_after_switching_to_data_focuses_search(qtbot, app_context):
    from deepones_gui.main_window import MainWindow

    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    page = window.show_workspace("data")
    qtbot.waitUntil(lambda: page.ready(), timeout=20_000)
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.search.hasFocus(), timeout=2000)
    page.shutdown()
