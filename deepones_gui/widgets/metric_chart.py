"""Metric charts: one pyqtgraph panel per metric family, several jobs overlaid, live updates.

``MetricChart`` is reusable: the Jobs workspace shows the selected jobs in it, and the Design
workspace can embed one for a single job (``chart.show_job(job_id, workdir)``).

Speed: points go into growing numpy buffers and are drawn by a 10 Hz timer, never per point;
curves use peak downsampling and clip-to-view, so a million-point series stays interactive.
The numbers (buffers, TensorBoard's de-biased EMA, axis ranges) live Qt-free in
:mod:`backend.jobs.series`; the smoothed curve is drawn over the raw one, which stays visible.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Iterable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGraphicsItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.jobs.metrics import is_progress_field, metric_family
from backend.jobs.series import DEFAULT_SMOOTHING, SeriesBuffer, ema_smooth, x_range, y_range
from deepones_gui.widgets.job_follower import JobFollower

REFRESH_MS = 100
PANEL_MIN_HEIGHT = 190
RAW_ALPHA = 110      # the raw curve stays visible under the smoothed one
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


class _Series:
    def __init__(self, job_id: str, name: str, color: str, label: str) -> None:
        self.job_id, self.name, self.label = job_id, name, label
        self.buf = SeriesBuffer()
        self.color = color
        self.raw: pg.PlotDataItem | None = None
        self.smooth: pg.PlotDataItem | None = None
        self.dirty = True


class StepAxis(pg.AxisItem):
    """The x axis of a metric chart: steps are whole numbers, so no tick falls between two steps
    (pyqtgraph would label 1.5, 2.5 on a short run). Spans under one step keep the default ticks."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 - pyqtgraph's names
        levels = super().tickSpacing(minVal, maxVal, size)
        if abs(maxVal - minVal) < 1:
            return levels
        whole = [(spacing, offset) for spacing, offset in levels if spacing >= 1]
        return whole or [(1.0, 0.0)]


class _Panel(QWidget):
    """One plot for one metric family, with a crosshair readout."""

    def __init__(self, family: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.family = family
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(background="w", axisItems={"bottom": StepAxis("bottom")})
        self.plot.setMinimumHeight(120)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("bottom", "step")
        # Axis text is replayed from a QPicture on every repaint (~15 ms per axis); cache the
        # rendered axes as pixmaps so a curve update repaints only the curve.
        for name in ("left", "bottom"):
            item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # The legend sits above the plot, not on it: in-plot legends hide the very corner where
        # loss and accuracy curves end.
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("font-size:9pt; padding:2px 6px;")
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine))
        self.vline.setVisible(False)
        item.addItem(self.vline, ignoreBounds=True)
        self.readout = QLabel(" ")
        self.readout.setStyleSheet("color:#444; font-size:9pt; padding-left:6px;")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.legend)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.readout)
        self.series: list[_Series] = []
        self._update_legend()
        # The x range grows in 25% jumps instead of on every refresh: re-rendering the axis text
        # is the most expensive part of a redraw. Panning or zooming by hand stops the following.
        self.follow_x = True
        vb = self.plot.getPlotItem().vb
        vb.sigRangeChangedManually.connect(self._manual_range)
        # The crosshair follows the mouse from the start, whatever the scale (rate-limited).
        self._proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved)

    def _manual_range(self, *_args) -> None:
        self.follow_x = False

    def grow_x(self, live: bool = True) -> None:
        """Fit the axes to the data (see :func:`backend.jobs.series.x_range`); y too unless log scale."""
        vb = self.plot.getPlotItem().vb
        if vb.state["autoRange"][0]:      # the user asked for auto-range ("A" button): follow again
            self.follow_x = True
        if not self.follow_x or not self.series:
            return
        (cur_lo, cur_hi), (cur_ylo, cur_yhi) = vb.viewRange()
        xr = x_range(min(s.buf.xmin for s in self.series), max(s.buf.xmax for s in self.series), (cur_lo, cur_hi),
                     live=live)
        vb.enableAutoRange(x=False)
        if xr is not None:
            vb.setXRange(*xr, padding=0.02 if live else 0)
        if vb.state["logMode"][1]:
            vb.enableAutoRange(y=True)
            return
        yr = y_range(min(s.buf.ymin for s in self.series), max(s.buf.ymax for s in self.series), (cur_ylo, cur_yhi))
        if yr is not None:
            vb.enableAutoRange(y=False)
            vb.setYRange(*yr, padding=0)

    def add_series(self, s: _Series) -> None:
        c = pg.mkColor(s.color)
        c.setAlpha(RAW_ALPHA)
        pen_raw = pg.mkPen(c, width=1)
        s.raw = self.plot.plot(pen=pen_raw, connect="finite")
        s.smooth = self.plot.plot(pen=pg.mkPen(s.color, width=2), connect="finite")
        for item in (s.raw, s.smooth):
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
        self.series.append(s)
        self._update_legend()

    def remove_series(self, s: _Series) -> None:
        for item in (s.raw, s.smooth):
            self.plot.removeItem(item)
        self.series.remove(s)
        self._update_legend()

    def _update_legend(self) -> None:
        names = "&nbsp;&nbsp;".join(f"<span style='color:{s.color}'>━━</span>&nbsp;{s.label}" for s in self.series)
        self.legend.setText(f"<b style='color:#333'>{self.family}</b>&nbsp;&nbsp;&nbsp;{names}")

    def _mouse_moved(self, event) -> None:
        pos = event[0]
        vb = self.plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(pos) or not self.series:
            self.vline.setVisible(False)
            return
        x = vb.mapSceneToView(pos).x()
        if vb.state["logMode"][0]:
            x = 10 ** x
        self.vline.setPos(x)
        self.vline.setVisible(True)
        parts = [f"step {x:,.6g}"]
        for s in self.series:
            i = s.buf.nearest(x)
            if i is None:
                continue
            xs, ys = s.buf.view()
            parts.append(f"<span style='color:{s.color}'>■</span> {s.label}: {ys[i]:.5g} @ {xs[i]:,.6g}")
        self.readout.setText("   ".join(parts))


class MetricChart(QWidget):
    """Panels per metric family; series keyed by (job id, metric name). Feed it with ``add_points``."""

    exported = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, show_toolbar: bool = True) -> None:
        super().__init__(parent)
        self.panels: dict[str, _Panel] = {}
        self.series: dict[tuple[str, str], _Series] = {}
        self.job_labels: dict[str, str] = {}
        self.job_colors: dict[str, int] = {}
        self.smoothing = DEFAULT_SMOOTHING
        self.log_y = False
        self.followers: dict[str, JobFollower] = {}
        self.live_jobs: set[str] = set()      # fed by add_points while running (no follower): axes keep headroom

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.toolbar = QWidget()
        bar = QHBoxLayout(self.toolbar)
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Smoothing"))
        self.smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(int(self.smoothing * 100))
        self.smooth_slider.setFixedWidth(140)
        self.smooth_slider.setToolTip("TensorBoard's de-biased moving average (the faint curve is the raw data); "
                                      "0 shows the raw curve only")
        self.smooth_slider.valueChanged.connect(lambda v: self.set_smoothing(v / 100))
        bar.addWidget(self.smooth_slider)
        self.log_box = QCheckBox("Log scale")
        self.log_box.toggled.connect(self.set_log_y)
        bar.addWidget(self.log_box)
        bar.addStretch(1)
        self.export_buttons: list[QToolButton] = []
        for text, slot, tip in (("Export PNG…", self._export_png_dialog, "Save the charts as an image"),
                                ("Export CSV…", self._export_csv_dialog, "Save every point: job, metric, step, value")):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            b.setEnabled(False)           # nothing to export until a job with metrics is shown
            bar.addWidget(b)
            self.export_buttons.append(b)
        self.toolbar.setVisible(show_toolbar)
        outer.addWidget(self.toolbar)

        self.empty = QLabel("No metrics yet. Charts appear as soon as a job prints numbers like "
                            "<code>loss: 0.23</code> or <code>{'loss': 0.23, 'epoch': 1}</code>.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color:#777; padding:30px;")
        outer.addWidget(self.empty, 1)     # the empty state fills the chart area: no band above the toolbar
        self.area = QScrollArea()
        self.area.setWidgetResizable(True)
        self.area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(2, 2, 2, 2)
        self.area.setWidget(self.grid_host)
        outer.addWidget(self.area, 1)
        self.area.setVisible(False)
        # The panels' height follows the area's viewport, which gets its real size only once the area
        # is shown (hidden while the chart is empty): sized from the chart's own resize alone, the
        # first panels kept the minimum height and sat in a band of empty space.
        self.area.viewport().installEventFilter(self)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    # -- data ------------------------------------------------------------------------------
    def set_job_label(self, job_id: str, label: str) -> None:
        self.job_labels[job_id] = label

    def _comparing(self) -> bool:
        return len(set(self.job_labels) | {k[0] for k in self.series}) > 1

    def _color(self, job_id: str, name: str) -> str:
        if job_id not in self.job_colors:
            self.job_colors[job_id] = len(self.job_colors)
        # One colour per job when several jobs are compared; one per metric within a single job.
        if self._comparing():
            return PALETTE[self.job_colors[job_id] % len(PALETTE)]
        same_family = [k for k in self.series if k[0] == job_id and metric_family(k[1]) == metric_family(name)]
        return PALETTE[len(same_family) % len(PALETTE)]

    def _series(self, job_id: str, name: str) -> _Series:
        key = (job_id, name)
        s = self.series.get(key)
        if s is None:
            family = metric_family(name)
            panel = self.panels.get(family)
            if panel is None:
                panel = _Panel(family)
                panel.plot.setLogMode(y=self.log_y)
                self.panels[family] = panel
                self._relayout()
            label = f"{self.job_labels.get(job_id, job_id[-6:])}: {name}" if self._comparing() else name
            s = _Series(job_id, name, self._color(job_id, name), label)
            panel.add_series(s)
            self.series[key] = s
        return s

    def add_points(self, job_id: str, name: str, steps: Iterable[float], values: Iterable[float]) -> None:
        """Append points; drawn at the next refresh tick (cheap to call at any rate). Progress fields
        (ETA, planned steps) are no metric: they are not charted."""
        if is_progress_field(name):
            return
        s = self._series(job_id, name)
        s.buf.extend(steps, values)
        s.dirty = True

    def add_columns(self, job_id: str, columns: dict) -> None:
        """Append metric columns ``{name: (steps, values)}`` (what :func:`backend.jobs.metrics.parse_file_columns`
        and the metric follower give): numpy arrays go into the series buffers without a copy per point."""
        for name, (xs, ys) in columns.items():
            self.add_points(job_id, name, xs, ys)

    def remove_job(self, job_id: str) -> None:
        self.stop_following(job_id)
        for key in [k for k in self.series if k[0] == job_id]:
            s = self.series.pop(key)
            self.panels[metric_family(key[1])].remove_series(s)
        self.job_colors.pop(job_id, None)
        for family in [f for f, p in self.panels.items() if not p.series]:
            self.panels.pop(family).deleteLater()
        self._relayout()

    def clear(self) -> None:
        for job_id in list({k[0] for k in self.series} | set(self.followers)):
            self.remove_job(job_id)
        self.job_colors.clear()
        self.job_labels.clear()

    def job_ids(self) -> list[str]:
        return sorted({k[0] for k in self.series})

    def _relayout(self) -> None:
        while self.grid.count():
            self.grid.takeAt(0)
        order = sorted(self.panels, key=lambda f: ({"loss": 0, "accuracy": 1, "learning rate": 3}.get(f, 2), f))
        columns = 1 if len(order) == 1 else 2
        for i, family in enumerate(order):
            last_alone = columns == 2 and i == len(order) - 1 and i % 2 == 0
            self.grid.addWidget(self.panels[family], i // columns, i % columns, 1, 2 if last_alone else 1)
        self._rows = max(1, (len(order) + columns - 1) // columns)
        self._fit_panels()
        has = bool(self.panels)
        self.area.setVisible(has)
        self.empty.setVisible(not has)
        for b in self.export_buttons:
            b.setEnabled(has)

    def _fit_panels(self) -> None:
        # Panels share the visible height (two rows fit without scrolling), but never shrink below
        # a readable size: then the area scrolls.
        rows = getattr(self, "_rows", 1)
        visible_rows = min(rows, 2)
        height = max(PANEL_MIN_HEIGHT, (self.area.viewport().height() - 8) // visible_rows - 6)
        for panel in self.panels.values():
            panel.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().resizeEvent(event)
        self._fit_panels()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt naming
        if watched is self.area.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_panels()
        return super().eventFilter(watched, event)

    # -- drawing -----------------------------------------------------------------------------
    def _tick(self) -> None:
        t = time.perf_counter()
        self.refresh()
        # Back off when a refresh gets expensive (huge series, slow machine): the GUI stays responsive.
        cost_ms = (time.perf_counter() - t) * 1000
        self.timer.setInterval(int(min(1000, max(REFRESH_MS, 4 * cost_ms))))

    def refresh(self, force: bool = False) -> None:
        touched = set()
        for s in self.series.values():
            if not (s.dirty or force):
                continue
            s.dirty = False
            touched.add(metric_family(s.name))
            x, y = s.buf.view()
            if self.smoothing > 0 and len(x) > 2:
                sx, sy = ema_smooth(x, y, self.smoothing)
                s.raw.setData(x, y)
                s.smooth.setData(sx, sy)
                s.raw.setVisible(True)
            else:
                s.smooth.setData(x, y)
                s.raw.setVisible(False)
        for family in touched:
            panel = self.panels[family]
            panel.grow_x(live=any(self._is_live(s.job_id) for s in panel.series))

    def _is_live(self, job_id: str) -> bool:
        follower = self.followers.get(job_id)
        return job_id in self.live_jobs or (follower is not None and not follower.done)

    def set_job_live(self, job_id: str, live: bool) -> None:
        """For points fed by hand: while live, the x axis keeps room for points to come."""
        (self.live_jobs.add if live else self.live_jobs.discard)(job_id)
        for s in self.series.values():
            if s.job_id == job_id:
                s.dirty = True

    def set_smoothing(self, value: float) -> None:
        self.smoothing = max(0.0, min(0.99, float(value)))
        if self.smooth_slider.value() != int(round(self.smoothing * 100)):
            self.smooth_slider.setValue(int(round(self.smoothing * 100)))
        self.refresh(force=True)

    def set_log_y(self, on: bool) -> None:
        self.log_y = bool(on)
        if self.log_box.isChecked() != self.log_y:
            self.log_box.setChecked(self.log_y)
        for panel in self.panels.values():
            panel.plot.setLogMode(y=self.log_y)

    # -- export ------------------------------------------------------------------------------
    def export_png(self, path: str | Path) -> Path:
        path = Path(path)
        self.refresh(force=True)
        self.grid_host.grab().save(str(path))
        self.exported.emit(str(path))
        return path

    def export_csv(self, path: str | Path) -> Path:
        path = Path(path)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["job_id", "metric", "step", "value"])
            for (job_id, name), s in sorted(self.series.items()):
                x, y = s.buf.view()
                for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
                    w.writerow([job_id, name, f"{xi:g}", repr(yi) if math.isfinite(yi) else str(yi)])
        self.exported.emit(str(path))
        return path

    def _export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export charts", "metrics.png", "PNG image (*.png)")
        if path:
            self.export_png(path)

    def _export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    # -- jobs --------------------------------------------------------------------------------
    def show_job(self, job_id: str, workdir: str | Path, *, label: str | None = None, follow: bool = True) -> None:
        """Chart a job from its ``stdout.log``, and keep following it while it runs (for the Design workspace too)."""
        if label:
            self.set_job_label(job_id, label)
        if job_id in self.followers or any(k[0] == job_id for k in self.series):
            return
        follower = JobFollower(job_id, Path(workdir), self)
        follower.points.connect(self._on_follower_points)
        follower.finished.connect(self._on_follower_finished)
        self.followers[job_id] = follower
        follower.start(follow=follow)

    def _on_follower_points(self, job_id: str, grouped: dict) -> None:
        if job_id not in self.followers:
            return
        self.add_columns(job_id, grouped)

    def _on_follower_finished(self, job_id: str) -> None:
        # The job has ended: its axes now fit the data exactly (no room left for points to come).
        for s in self.series.values():
            if s.job_id == job_id:
                s.dirty = True

    def stop_following(self, job_id: str) -> None:
        follower = self.followers.pop(job_id, None)
        if follower is not None:
            follower.stop()

    def shutdown(self) -> None:
        self.timer.stop()
        for job_id in list(self.followers):
            self.stop_following(job_id)
