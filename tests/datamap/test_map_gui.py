"""The Map tab with pytest-qt on a real store: hover and click, colour-by legend as a facet, the
search highlighting matches, and a lasso over one cluster that selects exactly the samples inside
it (against the stored positions), bulk-tags them through the table's selection, and undo."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.datamap.test_map_backend import _inside_reference


@pytest.fixture
def map_page(qtbot, grouped_store, app_context):
    from backend.datamap.build import build_map
    from deepones_gui.workspaces.data.page import DataPage

    build_map(grouped_store, engine="pca")
    page = DataPage(app_context)
    qtbot.addWidget(page)
    page.resize(1280, 760)
    page.show()
    qtbot.waitUntil(page.ready, timeout=20_000)
    page.views.setCurrentIndex(1)
    qtbot.waitUntil(
        lambda: page.map_panel.points is not None and len(page.map_panel.canvas.ids) > 0, timeout=10_000
    )
    yield page
    page.shutdown()


def _mouse(widget, kind, pos: QPointF, buttons=Qt.MouseButton.LeftButton, button=Qt.MouseButton.LeftButton):
    event = QMouseEvent(
        kind,
        pos,
        widget.mapToGlobal(pos.toPoint()).toPointF(),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def _screen(canvas, x: float, y: float) -> QPointF:
    scene = canvas.vb.mapViewToScene(QPointF(x, y))
    return QPointF(canvas.mapFromScene(scene))


def test_hover_click_colour_legend_and_search(map_page, qtbot):
    panel, canvas = map_page.map_panel, map_page.map_panel.canvas
    row = len(canvas.ids) // 2
    sid = int(canvas.ids[row])
    where = _screen(canvas, *canvas.xy[row].tolist())
    canvas.update_view()
    hovered = []
    canvas.hovered.connect(hovered.append)
    _mouse(
        canvas.viewport(),
        QEvent.Type.MouseMove,
        where,
        buttons=Qt.MouseButton.NoButton,
        button=Qt.MouseButton.NoButton,
    )
    qtbot.waitUntil(lambda: hovered and hovered[-1] >= 0, timeout=3000)
    question = map_page.db.conn.execute(
        "SELECT instruction FROM samples WHERE id=?", (hovered[-1],)
    ).fetchone()[0]
    assert (
        panel.hover_label.text().startswith(f"#{hovered[-1]}  ")
        and " ".join(question.split())[:40] in panel.hover_label.text()
    )
    assert (
        np.linalg.norm(canvas.xy[canvas.ids == hovered[-1]][0] - canvas.xy[row]) < 1e-1 or hovered[-1] == sid
    )
    # A click opens the sample in the detail pane.
    _mouse(canvas.viewport(), QEvent.Type.MouseButtonPress, where, buttons=Qt.MouseButton.LeftButton)
    _mouse(canvas.viewport(), QEvent.Type.MouseButtonRelease, where, buttons=Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: map_page.session.detail_sample_id == hovered[-1], timeout=3000)

    panel.colour_by.setCurrentText("dataset")
    qtbot.waitUntil(lambda: panel.legend.count() == 2, timeout=5000)
    labels = [panel.legend.item(i).text() for i in range(2)]
    assert labels[0].startswith("groups  (1,200)") and labels[1].startswith("DeepData demo  (257)")
    panel.legend.item(0).setCheckState(Qt.CheckState.Unchecked)  # hide the generated groups
    assert canvas.visible.sum() == 257

    qtbot.keyClicks(map_page.search, "spectrogram")
    expected = map_page.db.conn.execute(
        "SELECT count(*) FROM samples_fts WHERE samples_fts MATCH 'spectrogram'"
    ).fetchone()[0]
    assert expected > 0
    qtbot.waitUntil(lambda: canvas.marked.sum() == expected, timeout=5000)


def test_lasso_over_a_cluster_selects_exactly_its_inside_tags_and_undo(map_page, qtbot):
    from backend.datamap.points import load_points

    panel, canvas = map_page.map_panel, map_page.map_panel.canvas
    stored = load_points(map_page.db)
    biggest = stored.clusters[0]["id"]
    members = stored.xy[stored.cluster == biggest]
    centre = members.mean(axis=0)
    spread = np.percentile(np.linalg.norm(members - centre, axis=1), 80)
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    polygon = [(float(centre[0] + spread * np.cos(a)), float(centre[1] + spread * np.sin(a))) for a in angles]

    # The real drag: press, move along the polygon, release, in lasso mode.
    qtbot.keyClick(panel, Qt.Key.Key_L)
    assert canvas.mode == "lasso"
    view = canvas.viewport()
    screen = [_screen(canvas, x, y) for x, y in polygon]
    _mouse(view, QEvent.Type.MouseButtonPress, screen[0])
    for p in [*screen[1:], screen[0]]:
        qtbot.wait(25)  # pyqtgraph drops mouse moves that come faster than a screen refresh
        _mouse(view, QEvent.Type.MouseMove, p)
    _mouse(view, QEvent.Type.MouseButtonRelease, screen[0], buttons=Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: len(panel.selected_ids()) > 0, timeout=3000)

    # What the lasso really enclosed (the drawn polygon in view coordinates), checked point by point.
    drawn = [
        (
            canvas.vb.mapSceneToView(canvas.mapToScene(p.toPoint())).x(),
            canvas.vb.mapSceneToView(canvas.mapToScene(p.toPoint())).y(),
        )
        for p in screen
    ]
    inside = {
        int(i)
        for i, (x, y) in zip(stored.ids, stored.xy.tolist(), strict=True)
        if _inside_reference(x, y, drawn)
    }
    chosen = set(panel.selected_ids())
    assert chosen == inside
    assert len(chosen & set(stored.ids[stored.cluster == biggest].tolist())) >= 0.5 * len(members)

    # The map selection is the table's: the table lists exactly it, and a tag applies to all of it.
    qtbot.waitUntil(
        lambda: map_page.model.rowCount() == len(chosen) and map_page.model.count_is_exact, timeout=5000
    )
    assert map_page.count_label.text().startswith("map selection:")
    assert set(map_page.selected_ids()) == chosen
    map_page.tag(map_page.selected_ids(), "lassoed")
    tagged = {r[0] for r in map_page.db.conn.execute("SELECT sample_id FROM sample_tags WHERE tag='lassoed'")}
    assert tagged == chosen
    map_page.undo()
    assert map_page.db.conn.execute("SELECT count(*) FROM sample_tags WHERE tag='lassoed'").fetchone()[0] == 0
    # Accept from the map with the review key, then undo.
    panel.colour_by.setCurrentText("status")
    qtbot.waitUntil(lambda: panel.legend.count() == 1, timeout=5000)  # all unreviewed
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_A)
    accepted = {r[0] for r in map_page.db.conn.execute("SELECT id FROM samples WHERE status='accepted'")}
    assert accepted == chosen
    legend = lambda: [panel.legend.item(i).text() for i in range(panel.legend.count())]  # noqa: E731
    qtbot.waitUntil(lambda: f"accepted  ({len(chosen):,})" in legend(), timeout=5000)  # the map follows
    map_page.undo()
    assert map_page.db.conn.execute("SELECT count(*) FROM samples WHERE status='accepted'").fetchone()[0] == 0
