"""A run's metric curves inside a stage: the Jobs workspace's chart widget when it is there.

Uses ``MetricChart`` from the Jobs workspace (live while the run goes on); falls back to a small pyqtgraph plot of the job's recorded ``metrics`` rows, so the Design
workspace never depends on another workspace being installed. pyqtgraph is imported here,
lazily, only when a stage with a run is shown.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

log = logging.getLogger(__name__)


def _jobs_chart(ctx, job_id: str, follow: bool) -> QWidget | None:
    try:
        from deepones_gui.widgets.metric_chart import MetricChart
    except ImportError:
        return None
    from backend import paths

    try:
        chart = MetricChart(show_toolbar=False)
        chart.show_job(job_id, paths.jobs_dir(ctx.data_dir) / job_id, label=job_id, follow=follow)
    except Exception:
        log.exception("the Jobs chart widget could not show job %s", job_id)
        return None
    return chart


def make_run_chart(ctx, job_id: str, *, follow: bool = False) -> QWidget:
    """The Jobs workspace's MetricChart for ``job_id`` (following it live while it runs), else a plain plot."""
    widget = _jobs_chart(ctx, job_id, follow)
    if widget is not None:
        return widget
    from backend.jobs.records import metric_series

    series = metric_series(ctx.db, job_id)
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    caption = QLabel(f"Job {job_id}  ·  open the Jobs workspace for its logs and live charts")
    caption.setStyleSheet("color: palette(placeholder-text);")
    layout.addWidget(caption)
    if not series:
        empty = QLabel("This run recorded no metrics (no epoch=… loss=… lines in its output).")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(empty, 1)
        return box
    import pyqtgraph as pg

    plot = pg.PlotWidget(background="w")
    plot.addLegend(offset=(-10, 10))
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setLabel("bottom", "step")
    colours = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c"]
    for i, (name, points) in enumerate(sorted(series.items())):
        xs, ys = zip(*points, strict=True)
        plot.plot(list(xs), list(ys), name=name, pen=pg.mkPen(colours[i % len(colours)], width=2),
                  symbol="o", symbolSize=5, symbolBrush=colours[i % len(colours)])
    layout.addWidget(plot, 1)
    box.plot = plot  # type: ignore[attr-defined]
    return box
