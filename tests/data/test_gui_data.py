"""The Data workspace with pytest-qt: filter, search, keyboard review, undo/redo, inline edit, and
changes made elsewhere showing up in the view. Everything is checked against the real store."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from backend.datasets.query import HIGHLIGHT_START
from tests.data.conftest import record


@pytest.fixture
def page(qtbot, app_context):
    from deepones_gui.workspaces.data.page import DataPage

    page = DataPage(app_context)
    qtbot.addWidget(page)
    page.resize(1300, 800)
    page.show()
    qtbot.waitUntil(lambda: page.ready() and page.model.rowCount() == 257, timeout=20_000)
    yield page
    page.shutdown()


def status_of(page, sample_id: int) -> str:
    return page.db.conn.execute("SELECT status FROM samples WHERE id=?", (sample_id,)).fetchone()[0]


def test_demo_set_is_imported_on_first_open_off_the_gui_thread(page):
    assert page.model.count_is_exact
    assert page.count_label.text() == "257 samples"
    assert "257 imported" in page.transfers.label.text()
    assert page.chart.stats["total"] == 257


def test_filter_search_review_with_keys_undo_redo(page, qtbot):
    mcq_item = next(page.facets.groups["kind"].child(i) for i in range(3)
                    if page.facets.groups["kind"].child(i).text(0) == "mcq")
    mcq_item.setCheckState(0, Qt.CheckState.Checked)
    qtbot.waitUntil(lambda: page.model.rowCount() == 60)
    assert all(page.model.row_dict(r)["kind"] == "mcq" for r in range(60))

    qtbot.keyClicks(page.search, "optimiser")
    qtbot.waitUntil(lambda: page.model.filter.query == "optimiser" and not page.model.searching
                    and page.model.count_is_exact, timeout=5000)  # search runs on a worker thread
    n = page.model.rowCount()
    assert 0 < n < 60
    first = page.model.row_dict(0)
    assert HIGHLIGHT_START in first["snippet"] and first["kind"] == "mcq"
    assert page.model.headerData(4, Qt.Orientation.Horizontal) == "Match"

    page.table.setFocus()
    page.table.selectRow(0)
    ids = [page.model.sample_id(r) for r in range(min(n, 2))]
    # The review keys are written on the buttons they stand for (A, R, F, U), as Argilla shows them.
    assert [b.text()[-1] for b in page.detail.review_buttons.values()] == ["A", "R", "F", "U"]
    qtbot.keyClick(page.table, Qt.Key.Key_A)
    assert status_of(page, ids[0]) == "accepted"
    assert page.table.currentIndex().row() == min(1, n - 1)  # review moves on to the next sample
    assert page.model.data(page.model.index(0, 1)) == "✔ accepted"
    if n > 1:
        qtbot.keyClick(page.table, Qt.Key.Key_R)
        assert status_of(page, ids[1]) == "rejected"
        qtbot.keyClick(page.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert status_of(page, ids[1]) == "unreviewed"
    qtbot.keyClick(page.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert status_of(page, ids[0]) == "unreviewed"
    assert page.model.data(page.model.index(0, 1)) == "·"
    page.undo_stack.redo()
    assert status_of(page, ids[0]) == "accepted"
    # The chart follows the curation (debounced, computed off the GUI thread).
    qtbot.waitUntil(lambda: page.chart.stats["by_status"]["accepted"] == 1, timeout=5000)


def test_bulk_on_selection_and_on_filter_with_undo(page, qtbot):
    page.table.setFocus()
    page.table.selectRow(0)
    qtbot.keyClick(page.table, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(page.table, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert len(page.selected_ids()) == 3
    assert "3 selected" in page.count_label.text()
    qtbot.keyClick(page.table, Qt.Key.Key_F)
    assert page.db.conn.execute("SELECT count(*) FROM samples WHERE status='needs-fix'").fetchone()[0] == 3

    dlpd = next(page.facets.groups["kind"].child(i) for i in range(3)
                if page.facets.groups["kind"].child(i).text(0) == "dlpd")
    dlpd.setCheckState(0, Qt.CheckState.Checked)
    qtbot.waitUntil(lambda: page.model.rowCount() == 26)
    page.review_matching("rejected")
    qtbot.waitUntil(lambda: page.undo_stack.count() == 2, timeout=5000)
    assert page.db.conn.execute("SELECT count(*) FROM samples WHERE status='rejected'").fetchone()[0] == 26
    page.undo_stack.undo()
    assert page.db.conn.execute("SELECT count(*) FROM samples WHERE status='rejected'").fetchone()[0] == 0
    page.tag(page.selected_ids(), "hard")
    assert page.db.conn.execute("SELECT count(*) FROM sample_tags WHERE tag='hard'").fetchone()[0] >= 1
    page.undo_stack.undo()
    assert page.db.conn.execute("SELECT count(*) FROM sample_tags").fetchone()[0] == 0
    page.start_tag_matching("dlpd-batch")
    qtbot.waitUntil(lambda: page.undo_stack.undoText() == "Tag 26 samples 'dlpd-batch'", timeout=5000)
    assert page.db.conn.execute("SELECT count(*) FROM sample_tags WHERE tag='dlpd-batch'").fetchone()[0] == 26
    page.undo_stack.undo()
    assert page.db.conn.execute("SELECT count(*) FROM sample_tags").fetchone()[0] == 0
    page.undo_stack.redo()
    assert page.db.conn.execute("SELECT count(*) FROM sample_tags WHERE tag='dlpd-batch'").fetchone()[0] == 26


def test_inline_edit_with_history_and_undo(page, qtbot):
    sid = page.model.sample_id(0)
    index = page.model.index(0, 3)  # category
    assert page.model.setData(index, "reasoning")
    row = page.db.conn.execute("SELECT category FROM samples WHERE id=?", (sid,)).fetchone()
    assert row[0] == "reasoning"
    assert page.model.data(index) == "reasoning"
    history = page.db.conn.execute("SELECT field, old_value, new_value FROM sample_edits WHERE sample_id=?",
                                   (sid,)).fetchall()
    assert history == [("category", "description generation", "reasoning")]
    page.table.selectRow(0)
    assert page.detail.history.count() == 1 and "reasoning" in page.detail.history.item(0).text()
    page.undo_stack.undo()
    assert page.db.conn.execute("SELECT category FROM samples WHERE id=?", (sid,)).fetchone()[0] == \
        "description generation"
    page.detail.note.setText("check the formula")
    qtbot.keyClick(page.detail.note, Qt.Key.Key_Return)
    assert page.db.conn.execute("SELECT note FROM samples WHERE id=?", (sid,)).fetchone()[0] == "check the formula"


def test_a_change_made_elsewhere_shows_in_the_view(page, qtbot, app_context):
    sid = page.model.sample_id(3)
    page.table.selectRow(3)
    from backend.datasets.importer import insert_samples
    from backend.store import transaction

    with app_context.connection() as other:  # e.g. the CLI in another process: a separate connection
        other.conn.execute("UPDATE samples SET status='rejected', note='from the CLI' WHERE id=?", (sid,))
        with transaction(other) as conn:
            insert_samples(conn, [("instruction", "reasoning", "Added elsewhere?", "", "Yes.", None, None, None,
                                   None, "other", None, None, "h-elsewhere", 0, 0)])
    qtbot.waitUntil(lambda: page.model.data(page.model.index(3, 1)) == "✘ rejected", timeout=5000)
    qtbot.waitUntil(lambda: page.model.rowCount() == 258, timeout=5000)
    assert "from the CLI" in page.detail.browser.toPlainText()
    page.search.setText("elsewhere")
    page.apply_filter()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5000)  # indexed in the same transaction
    assert page.model.sample_id(0) == page.db.conn.execute(
        "SELECT id FROM samples WHERE content_hash='h-elsewhere'").fetchone()[0]


def test_import_with_progress_then_cancel_keeps_completed_batches(page, qtbot, tmp_path):
    path = tmp_path / "more.jsonl"
    with open(path, "w") as fh:
        for i in range(30_000):
            fh.write(json.dumps(record(i, output=f"answer {i} " + "text " * 30)) + "\n")
    progress = []
    page.start_import([str(path)])
    page.transfers.import_task.signals.progress.connect(lambda f, t: progress.append(t))
    qtbot.waitUntil(lambda: len(progress) >= 1, timeout=20_000)
    page.transfers.cancel_import()
    qtbot.waitUntil(lambda: page.transfers.import_task is None, timeout=20_000)
    assert "records/s" in progress[0] and "ETA" in progress[0]
    assert "cancel" in page.transfers.label.text().lower()
    n = page.db.conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    assert 257 <= n < 257 + 30_000
    qtbot.waitUntil(lambda: page.model.rowCount() == n, timeout=5000)  # exact count arrives from a worker
    page.start_import([str(path)])
    qtbot.waitUntil(lambda: page.transfers.import_task is None, timeout=60_000)
    assert page.db.conn.execute("SELECT count(*) FROM samples").fetchone()[0] == 257 + 30_000


def test_lazy_model_keeps_a_bounded_cache_while_scrolling(page, qtbot):
    from deepones_gui.workspaces.data.table_model import MAX_PAGES, PAGE_SIZE

    db = page.db
    with db.conn:
        pass
    rows = [("instruction", "reasoning", f"q{i}", f"a{i}", f"hash{i}", 0, 0) for i in range(20_000)]
    db.conn.execute("BEGIN")
    db.conn.executemany("INSERT INTO samples (kind, category, instruction, output, content_hash, created_at,"
                        " updated_at) VALUES (?,?,?,?,?,?,?)", rows)
    db.conn.execute("COMMIT")
    page.model.reload()
    qtbot.waitUntil(lambda: page.model.rowCount() == 20_257, timeout=5000)
    for row in range(0, 20_257, 50):
        assert page.model.sample_id(row) is not None
    assert page.model.cached_rows() <= MAX_PAGES * PAGE_SIZE
    # A far jump loads on a worker thread with a placeholder, then fills in.
    page.model.reload()
    far = page.model.index(15_000, 4)
    first = page.model.data(far)
    qtbot.waitUntil(lambda: page.model.data(far) != "…", timeout=5000)
    assert first == "…" and page.model.data(far) == "q14743"


def test_near_duplicate_clusters_filter_the_table(page, qtbot):
    page.lower_tabs.setCurrentWidget(page.duplicates)
    page.duplicates.start()
    qtbot.waitUntil(lambda: page.duplicates.task is None, timeout=60_000)
    assert page.duplicates.clusters.count() >= 1
    item = page.duplicates.clusters.item(0)
    ids = item.data(Qt.ItemDataRole.UserRole)
    page.duplicates._chosen(item)
    assert page.model.rowCount() == len(ids) >= 2
    assert {page.model.sample_id(r) for r in range(len(ids))} == set(ids)
    assert page.count_label.text().startswith("cluster:")
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: page.model.rowCount() == 257, timeout=5000)


def test_export_from_the_page_writes_the_filtered_selection(page, qtbot, tmp_path):
    page.db.conn.execute("UPDATE samples SET status='accepted' WHERE kind='dlpd'")
    page.start_export({"format": "alpaca", "path": tmp_path / "dlpd.jsonl", "accepted_only": True,
                       "dataset_info": True, "push_repo": ""})
    qtbot.waitUntil(lambda: page.transfers.export_task is None, timeout=20_000)
    lines = (tmp_path / "dlpd.jsonl").read_text().splitlines()
    assert len(lines) == 26 and all(json.loads(line)["kind"] == "dlpd" for line in lines)
    assert "Exported 26 samples" in page.transfers.label.text()
    assert page.transfers.progress.value() == 1000   # the bar finishes with the export, never left at 0%
    assert json.loads((tmp_path / "dataset_info.json").read_text())["dlpd"]["formatting"] == "alpaca"
