"""The Jobs workspace and its widgets, offscreen, against real jobs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

# pyqtgraph is a hard dependency: a missing one fails these tests (no importorskip).
import pyqtgraph  # noqa: F401

from backend.jobs import JobLimits, run_job, start_job
from tests.jobs.conftest import program

TRAINING = """
    import sys, time
    for epoch in range(1, 6):
        print(f"Epoch [{epoch}/5], Step [10/10], Loss: {2.0 / epoch:.4f}", flush=True)
        print({"step": epoch * 10, "val_accuracy": 0.5 + epoch / 20}, flush=True)
    print("\\x1b[31mred warning\\x1b[0m plain")
    print("Traceback (most recent call last):\\n  File 'x.py', line 1\\nValueError: boom", file=sys.stderr)
    open("metric.log", "w").write("0.75")
"""


def wait_until(qtbot, predicate, timeout=15000):
    qtbot.waitUntil(predicate, timeout=timeout)


def test_metric_chart_panels_overlay_export_and_million_points(qtbot, tmp_path):
    from deepones_gui.widgets.metric_chart import MetricChart

    chart = MetricChart()
    qtbot.addWidget(chart)
    chart.resize(900, 600)
    chart.show()
    chart.set_job_label("a", "run A")
    chart.set_job_label("b", "run B")
    chart.add_points("a", "loss", [1, 2, 3], [1.0, 0.5, 0.25])
    chart.add_points("a", "val_accuracy", [1, 2, 3], [0.5, 0.7, 0.9])
    chart.add_points("b", "loss", [1, 2, 3], [1.2, 0.6, 0.3])
    chart.add_points("b", "lr", [1, 2, 3], [1e-3, 5e-4, 1e-4])
    chart.refresh()
    assert set(chart.panels) == {"loss", "accuracy", "learning rate"}
    assert len(chart.panels["loss"].series) == 2  # both jobs overlaid on one panel
    assert "run A: loss" in chart.panels["loss"].legend.text() and "run B: loss" in chart.panels["loss"].legend.text()
    chart.set_log_y(True)
    assert chart.panels["loss"].plot.getPlotItem().vb.state["logMode"][1]
    chart.set_log_y(False)

    csv_path = chart.export_csv(tmp_path / "m.csv")
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "job_id,metric,step,value" and len(lines) == 13
    png = chart.export_png(tmp_path / "m.png")
    assert png.stat().st_size > 2000

    # Crosshair readout: move the real mouse over the middle of the loss plot.
    panel = chart.panels["loss"]
    move_mouse_to_center(qtbot, panel)
    assert "run A: loss" in panel.readout.text() and "step" in panel.readout.text()

    # A million points: appending and one refresh stay interactive.
    x = np.arange(1_000_000, dtype=float)
    t0 = time.perf_counter()
    chart.add_points("a", "loss", x + 4, np.exp(-x / 2e5) + 0.01 * np.sin(x))
    chart.refresh()
    chart.grab()
    assert time.perf_counter() - t0 < 2.0
    item = panel.series[0].raw
    assert item.opts["clipToView"] and item.opts["autoDownsample"]

    chart.remove_job("b")
    assert "learning rate" not in chart.panels and len(chart.panels["loss"].series) == 1
    chart.shutdown()


def test_first_panels_fill_the_chart_area(qtbot):
    """Two panels in one row share the area's height: the area is hidden while the chart is empty,
    and the first panels used to keep the minimum height in a band of empty space (Jobs screenshot)."""
    from deepones_gui.widgets.metric_chart import PANEL_MIN_HEIGHT, MetricChart

    chart = MetricChart()
    qtbot.addWidget(chart)
    chart.resize(560, 440)
    chart.show()
    qtbot.waitExposed(chart)
    chart.add_points("a", "loss", [1, 2, 3], [1.0, 0.5, 0.25])
    chart.add_points("a", "accuracy", [1, 2, 3], [0.5, 0.7, 0.9])
    chart.refresh()
    qtbot.waitUntil(lambda: chart.panels["loss"].height() > PANEL_MIN_HEIGHT + 100, timeout=3000)
    viewport = chart.area.viewport().height()
    assert chart.panels["loss"].height() >= viewport - 20, (chart.panels["loss"].height(), viewport)


def move_mouse_to_center(qtbot, panel) -> None:
    """A real QMouseEvent through Qt's event delivery to the plot's viewport (the scene emits
    sigMouseMoved from it), not a direct call of the slot."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    qtbot.wait(100)        # let pending layout settle: positions below must match what is on screen
    vb = panel.plot.getPlotItem().vb
    view_pos = panel.plot.mapFromScene(vb.sceneBoundingRect().center())
    viewport = panel.plot.viewport()
    for dx in (0, 3):
        local = QPointF(view_pos.x() + dx, view_pos.y())
        event = QMouseEvent(QEvent.Type.MouseMove, local, QPointF(viewport.mapToGlobal(local.toPoint())),
                            Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)
        qtbot.wait(60)
    qtbot.waitUntil(lambda: panel.readout.text().strip() != "", timeout=3000)


def test_crosshair_follows_a_real_mouse_move_with_log_scale_on(qtbot):
    """Regression: the crosshair's SignalProxy was made at the end of grow_x(): never with log-y on
    (grow_x returned early), and rebuilt on every refresh."""
    from deepones_gui.widgets.metric_chart import MetricChart

    chart = MetricChart()
    qtbot.addWidget(chart)
    chart.resize(900, 600)
    chart.set_log_y(True)
    chart.show()
    chart.add_points("a", "loss", [1, 2, 3, 4], [1.0, 0.5, 0.25, 0.125])
    chart.refresh()
    panel = chart.panels["loss"]
    proxy = panel._proxy
    chart.add_points("a", "loss", [5], [0.1])
    chart.refresh()
    assert panel._proxy is proxy                      # wired once, not per refresh
    qtbot.waitExposed(chart)
    move_mouse_to_center(qtbot, panel)
    assert "loss" in panel.readout.text() and "step" in panel.readout.text()
    assert panel.vline.isVisible()
    chart.shutdown()


def test_chart_raw_curve_visible_export_buttons_and_axis_after_the_end(qtbot):
    from deepones_gui.widgets.metric_chart import MetricChart

    chart = MetricChart()
    qtbot.addWidget(chart)
    chart.resize(900, 600)
    chart.show()
    assert not any(b.isEnabled() for b in chart.export_buttons)   # nothing to export yet
    qtbot.waitExposed(chart)
    assert chart.toolbar.y() <= 4                      # empty state: no blank band above the Smoothing row
    chart.set_job_live("a", True)
    chart.add_points("a", "loss", list(range(100)), [1 / (i + 1) for i in range(100)])
    chart.refresh()
    assert all(b.isEnabled() for b in chart.export_buttons)
    s = chart.series[("a", "loss")]
    assert s.raw.isVisible() and s.raw.opts["pen"].color().alpha() >= 100
    vb = chart.panels["loss"].plot.getPlotItem().vb
    assert vb.viewRange()[0][1] > 140                  # live: headroom for points to come
    chart.set_job_live("a", False)
    chart.refresh()
    assert vb.viewRange()[0][1] <= 99 * 1.01           # ended: the axis stops at the last point
    chart.add_points("b", "acc", [0, 1, 2], [0.5, 0.5, 0.5])
    chart.refresh()
    lo, hi = chart.panels["accuracy"].plot.getPlotItem().vb.viewRange()[1]
    assert lo <= 0.46 and hi >= 0.54                   # a flat line gets a readable range
    chart.clear()
    assert not any(b.isEnabled() for b in chart.export_buttons)
    chart.shutdown()


def test_log_view_wrap_toggle(qtbot):
    from PySide6.QtWidgets import QPlainTextEdit

    from deepones_gui.workspaces.jobs.logview import LogView

    view = LogView()
    qtbot.addWidget(view)
    assert view.text.lineWrapMode() == QPlainTextEdit.LineWrapMode.NoWrap
    view.wrap.setChecked(True)
    assert view.text.lineWrapMode() == QPlainTextEdit.LineWrapMode.WidgetWidth
    view.wrap.setChecked(False)
    assert view.text.lineWrapMode() == QPlainTextEdit.LineWrapMode.NoWrap


def test_log_view_ansi_search_follow_and_traceback(qtbot):
    from deepones_gui.workspaces.jobs.logview import LogView

    view = LogView()
    qtbot.addWidget(view)
    view.append_text("starting\n\x1b[1;31mERROR\x1b[0m something\nprogress 10%\rprogress 50%\rprogress 100%\n")
    view.append_text("".join(f"line {i}\n" for i in range(300)))
    view.append_text("Traceback (most recent call last):\n  File \"a.py\"\nKeyError: 'x'\n")
    text = view.plain_text()
    assert "\x1b" not in text and "ERROR something" in text
    assert "progress 100%" in text and "progress 10%" not in text
    cursor = view.text.document().find("ERROR")
    assert cursor.charFormat().foreground().color().name() == "#c62828"
    assert view.find("line 150") and not view.follow.isChecked()
    assert view.jump_to_traceback()
    assert view.text.textCursor().block().text().startswith("Traceback")
    assert not view.find("no such text")


def _selected_name(page) -> str | None:
    ids = page.selected_ids()
    return page.rows.get(ids[0], {}).get("name") if ids else None


def test_jobs_page_shows_charts_log_and_handles_actions(qtbot, app_context, deepones_home):
    from deepones_gui.workspaces.jobs.page import JobsPage

    done = run_job(program(TRAINING, name="finished job"), root=deepones_home, db=app_context.db)
    assert done.status == "succeeded"
    page = JobsPage(app_context)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    wait_until(qtbot, lambda: page.table.rowCount() == 1 and page.selected_ids() == [done.job_id])
    wait_until(qtbot, lambda: {"loss", "accuracy"} <= set(page.chart.panels) and "red warning" in page.out_view.plain_text())
    assert page.table.item(0, 1).text() == "succeeded"
    assert page.table.item(0, 4).text() == "val_accuracy 0.75"
    assert page.table.item(0, 5).text() == "0.75"
    # The sandbox the job ran in is part of what the page says about it.
    from backend.jobs.confine import landlock_abi

    expected = "Sandbox: confined" if landlock_abi() else "Sandbox: not confined"
    assert expected in page.detail.text()
    wait_until(qtbot, lambda: "ValueError: boom" in page.err_view.plain_text())
    assert page.err_view.jump_to_traceback()
    selected = page.selected_ids()   # the finished job stays selected, with its chart and output
    assert selected and page.rows[selected[0]]["status"] == "succeeded"
    assert page.chart.series and page.out_view.plain_text()
    assert all(b.isEnabled() for b in page.chart.export_buttons)
    page.table.clearSelection()
    wait_until(qtbot, lambda: not any(b.isEnabled() for b in page.chart.export_buttons))
    assert not page.rerun_btn.isEnabled()
    page.table.selectRow(0)

    # A running job: live chart, notification when it ends.
    slow = program("""
        import time
        for i in range(1, 5):
            print(f"step {i}: loss={1 / i}", flush=True)
            time.sleep(0.3)
    """, name="live job")
    page.start_spec(slow)
    # While the table reloads with the new job the selection can be empty for a moment.
    wait_until(qtbot, lambda: page.table.rowCount() == 2 and _selected_name(page) == "live job")
    wait_until(qtbot, lambda: not page.notifications == [], timeout=20000)
    assert "live job: succeeded" in page.notifications[0]
    live_id = page.selected_ids()[0]
    assert page.chart.series[(live_id, "loss")].buf.n == 4

    # Cancel a running job from the page, then re-run it.
    page.start_spec(program("import time\nprint('up', flush=True)\ntime.sleep(60)\n", name="to cancel",
                            limits=JobLimits(kill_grace_s=0.5)))
    wait_until(qtbot, lambda: any(r["name"] == "to cancel" and r["status"] == "running" for r in page.rows.values()))
    wait_until(qtbot, lambda: _selected_name(page) == "to cancel")
    assert page.cancel_btn.isEnabled()
    assert not page.rerun_btn.isEnabled()      # re-running a running job would start a twin
    page.cancel_selected()
    wait_until(qtbot, lambda: any(r["name"] == "to cancel" and r["status"] == "cancelled" for r in page.rows.values()))
    wait_until(qtbot, page.rerun_btn.isEnabled)
    page.rerun_selected()
    wait_until(qtbot, lambda: sum(r["name"] == "to cancel" for r in page.rows.values()) == 2)
    page.table.selectAll()
    page.cancel_selected()
    wait_until(qtbot, lambda: all(r["status"] in ("succeeded", "cancelled") for r in page.rows.values()))
    page.shutdown()


def test_jobs_page_reattaches_to_a_job_started_before_it(qtbot, app_context, deepones_home):
    from deepones_gui.workspaces.jobs.page import JobsPage

    # "Before the restart": a job started by an earlier GUI session (or the CLI), still running.
    handle = start_job(program("""
        import time
        for i in range(1, 6):
            print(f"loss: {1 / i}", flush=True)
            time.sleep(0.3)
    """, name="survivor"), root=deepones_home, db=app_context.db)
    page = JobsPage(app_context)
    qtbot.addWidget(page)
    page.show()
    wait_until(qtbot, lambda: page.rows.get(handle.job_id, {}).get("status") == "running")
    wait_until(qtbot, lambda: page.rows.get(handle.job_id, {}).get("status") == "succeeded", timeout=20000)
    wait_until(qtbot, lambda: (handle.job_id, "loss") in page.chart.series
               and page.chart.series[(handle.job_id, "loss")].buf.n == 5)
    assert page.notifications and "survivor" in page.notifications[0]
    page.shutdown()


def test_gpu_panel_no_gpu_state(qtbot, tmp_path):
    from backend import gpu
    from backend.jobs.records import job_gpu_summary
    from deepones_gui.workspaces.jobs.gpu_panel import GpuPanel

    panel = GpuPanel()
    qtbot.addWidget(panel)
    wait_until(qtbot, lambda: panel.available is not None)
    if gpu.sample_gpus():
        assert panel.rows and not panel.none_label.isVisible()
    else:
        assert "No NVIDIA GPU" in panel.none_label.text()
    assert job_gpu_summary(tmp_path) == "No GPU readings recorded for this job."
    panel.shutdown()


def test_page_stays_responsive_while_following_an_output_flood(qtbot, app_context, deepones_home):
    from PySide6.QtCore import QTimer

    from deepones_gui.workspaces.jobs.logview import MAX_BLOCKS
    from deepones_gui.workspaces.jobs.page import JobsPage

    page = JobsPage(app_context)
    qtbot.addWidget(page)
    page.show()
    # ~200 MB of metric-looking lines, while the page follows the job live.
    page.start_spec(program("""
        import sys
        out = sys.stdout.buffer
        block = b"".join(b"step %d: loss=%.4f\\n" % (i, 1 / (i + 1)) for i in range(50000))
        for _ in range(200):
            out.write(block)
        out.write(b"FLOOD DONE\\n")
    """, name="flood", limits=JobLimits(max_log_mb=4, kill_grace_s=0.5)))
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    wait_until(qtbot, lambda: any(r["name"] == "flood" and r["status"] == "succeeded" for r in page.rows.values()),
               timeout=120000)
    wait_until(qtbot, lambda: "FLOOD DONE" in page.out_view.plain_text(), timeout=60000)
    timer.stop()
    job = next(r for r in page.rows.values() if r["name"] == "flood")
    assert (Path(job["workdir"]) / "stdout.log").stat().st_size < 4.2 * 2**20
    assert page.out_view.text.document().blockCount() <= MAX_BLOCKS
    assert max(gaps) < 1.5, f"the GUI froze for {max(gaps):.2f} s"
    page.shutdown()


def test_show_jobs_broadcast_selects_those_runs(qtbot, app_context, deepones_home):
    """Traces' "Open runs in Jobs" sends show_jobs: exactly those jobs are selected and charted."""
    from deepones_gui.workspaces.jobs.page import JobsPage

    first = run_job(program(TRAINING, name="trace run 1"), root=deepones_home, db=app_context.db)
    run_job(program(TRAINING, name="unrelated"), root=deepones_home, db=app_context.db)
    third = run_job(program(TRAINING, name="trace run 2"), root=deepones_home, db=app_context.db)
    page = JobsPage(app_context)
    qtbot.addWidget(page)
    page.show()
    wait_until(qtbot, lambda: page.table.rowCount() == 3)
    # Through the context's broadcast, as Traces sends it, to a page that is built already (the window
    # hands a broadcast only to pages it builds for it; a built page must listen itself).
    app_context.broadcast.emit("show_jobs", {"job_ids": [first.job_id, third.job_id], "origin": "trace:1"})
    wait_until(qtbot, lambda: sorted(page.selected_ids()) == sorted([first.job_id, third.job_id]))
    wait_until(qtbot, lambda: set(page.chart.job_ids()) == {first.job_id, third.job_id})
