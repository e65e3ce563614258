"""Data with generated samples (pytest-qt, real store): 'generated' as a status facet and a review queue,
the provenance in the detail pane, paper/year/generator facets, "filter Data by this paper" from the
pane, and the broadcasts Generate sends ("open_sample", "filter_data_by_paper")."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QUrl

from tests.generate.provenance_rows import PAPERS, add_generated


@pytest.fixture
def page(qtbot, app_context):
    from backend.datasets.demo import ensure_demo
    from deepones_gui.workspaces.data.page import DataPage

    ensure_demo(app_context.db)
    ids = add_generated(app_context.db, 3)
    page = DataPage(app_context)
    qtbot.addWidget(page)
    page.resize(1280, 760)
    page.show()
    qtbot.waitUntil(lambda: page.ready() and page.model.rowCount() == 263, timeout=20_000)
    page.generated_ids = ids
    yield page
    page.shutdown()


def facet_values(page, key: str) -> dict[str, str]:
    group = page.facets.groups[key]
    return {group.child(i).text(0): group.child(i).text(1) for i in range(group.childCount())}


def check(page, key: str, label: str) -> None:
    group = page.facets.groups[key]
    item = next(group.child(i) for i in range(group.childCount()) if group.child(i).text(0) == label)
    item.setCheckState(0, Qt.CheckState.Checked)


def test_generated_is_a_review_queue_with_provenance_facets(page, qtbot):
    assert facet_values(page, "status")["generated"] == "6"
    assert not page.facets.groups["paper"].isHidden()
    papers = facet_values(page, "paper")
    assert papers == {"Attention Is All You Need": "3", "Deep Residual Learning fo…": "3"}
    assert facet_values(page, "year") == {"2015": "3", "2017": "3"}
    assert facet_values(page, "generator") == {"replay: designer.jsonl": "6"}

    check(page, "status", "generated")
    qtbot.waitUntil(lambda: page.model.rowCount() == 6)
    page.table.setFocus()
    page.table.selectRow(0)
    html = page.detail.browser.toHtml()
    assert "Provenance" in html and "Attention Is All You Need" in html and "model/layers.py:10" in html
    assert "instructions.v1" in html and "replay:designer.jsonl" in html
    first = page.model.sample_id(0)
    qtbot.keyClick(page.table, Qt.Key.Key_A)  # review key: out of the queue
    status = lambda: page.db.conn.execute("SELECT status FROM samples WHERE id=?", (first,)).fetchone()[0]  # noqa: E731
    assert status() == "accepted"
    page.undo()
    qtbot.waitUntil(lambda: status() == "generated")


def test_filter_by_paper_from_the_detail_pane_and_by_year(page, qtbot):
    check(page, "year", "2015")
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
    page.facets.clear_checks()
    qtbot.waitUntil(lambda: page.model.rowCount() == 263)
    target = page.generated_ids[4]  # a sample of the second paper
    page.open_sample(target)
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
    assert page.facets.checked() == {"paper": (PAPERS[1][0],)}
    assert page.model.sample_id(page.table.currentIndex().row()) == target
    assert "Deep Residual Learning" in page.detail.browser.toHtml()

    page.clear_filters()
    qtbot.waitUntil(lambda: page.model.rowCount() == 263)
    page.table.selectRow(0)
    page.detail.show_sample({**page.detail.sample, "provenance": None})  # any sample: the link does the work
    page.detail.browser.anchorClicked.emit(QUrl(f"filter-paper:{PAPERS[0][0]}"))
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
    assert {page.model.row_dict(r)["status"] for r in range(3)} == {"generated"}
    assert "Attention" in page.model.row_dict(0)["instruction"]


def test_broadcasts_from_generate_reach_data(page, qtbot, app_context):
    page.on_broadcast("filter_data_by_paper", {"paper_id": PAPERS[0][0]})
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
    page.on_broadcast("open_sample", {"sample_id": page.generated_ids[5]})
    qtbot.waitUntil(lambda: page.facets.checked() == {"paper": (PAPERS[1][0],)})
    assert page.model.sample_id(page.table.currentIndex().row()) == page.generated_ids[5]
    imported = page.db.conn.execute("SELECT min(id) FROM samples").fetchone()[0]
    page.on_broadcast("open_sample", {"sample_id": imported})  # not generated: shown alone
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert page.model.sample_id(0) == imported and page.detail.sample["provenance"] is None
