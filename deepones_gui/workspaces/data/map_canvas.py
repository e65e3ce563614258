"""The map's drawing surface (pyqtgraph): a density image when zoomed out, real points when zoomed in.

Pan and zoom never wait for numpy: the density image lives in data coordinates, so while the view
moves the current image simply moves with it; a new one is binned on the canvas's own one-thread
pool and replaces it when ready (results for an older view are dropped). Points are drawn only when
at most :data:`POINTS_MAX` are in view. Hover and click find the nearest point with a KD-tree built
once per layout; lasso and rectangle drags become a selection of sample ids.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPen

from backend.datamap.density import bin_majority, rgba_image
from backend.datamap.select import in_polygon, in_rect

POINTS_MAX = 10_000  # in view: drawn as markers; more: the density image
COVER = 2.0  # items are filled for COVER x the view (each side), so small pans just repaint
HOVER_PX = 8  # how close (screen pixels) the pointer must be to a point
DENSITY_SCALE = 2  # screen pixels per density bin (each side)
MODES = ("pan", "lasso", "rectangle")


class _Binned(QObject):
    done = Signal(int, object, object)  # generation, rgba image, (x0, y0, w, h)


class _BinTask(QRunnable):
    def __init__(self, gen: int, xy, codes, n_codes, colours, xr, yr, w, h, out: _Binned) -> None:
        super().__init__()
        self.args = (gen, xy, codes, n_codes, colours, xr, yr, w, h)
        self.out = out

    def run(self) -> None:
        gen, xy, codes, n_codes, colours, xr, yr, w, h = self.args
        counts, majority = bin_majority(xy, codes, n_codes, xr, yr, w, h)
        image = rgba_image(counts, majority, colours)
        try:
            self.out.done.emit(gen, image, (xr[0], yr[0], xr[1] - xr[0], yr[1] - yr[0]))
        except RuntimeError:
            pass  # the canvas went away while this ran


class _MapViewBox(pg.ViewBox):
    """Pans and zooms in "pan" mode; in "lasso"/"rectangle" a drag draws the selection shape."""

    def __init__(self, canvas: MapCanvas) -> None:
        super().__init__()
        self.canvas = canvas
        self.setAspectLocked(False)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - pyqtgraph's name
        if self.canvas.mode == "pan" or ev.button() != pg.QtCore.Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        point = self.mapToView(ev.pos())
        if ev.isStart():
            self.canvas.begin_shape(self.mapToView(ev.buttonDownPos()))
        self.canvas.extend_shape(point)
        if ev.isFinish():
            self.canvas.finish_shape(
                additive=bool(ev.modifiers() & pg.QtCore.Qt.KeyboardModifier.ShiftModifier)
            )


class MapCanvas(pg.PlotWidget):
    hovered = Signal(int)  # sample id under the pointer (-1: none)
    clicked = Signal(int)  # sample id clicked
    selectionDrawn = Signal(object, bool)  # np.ndarray of sample ids, additive
    frameDrawn = Signal(float)  # seconds the last view update took on the GUI thread (benchmark)

    def __init__(self, parent=None) -> None:
        self.vb = _MapViewBox(self)
        super().__init__(parent, viewBox=self.vb, background="#1e1f22")
        self.mode = "pan"
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setMenuEnabled(False)
        self.ids = np.empty(0, np.int64)
        self.xy = np.empty((0, 2), np.float32)
        self.codes = np.empty(0, np.int32)
        self.colours = np.zeros((1, 3), np.uint8)
        self.visible = np.empty(0, bool)  # legend facets: hidden values are False
        self.selected = np.empty(0, bool)
        self.marked = np.empty(0, bool)  # search matches
        self._tree = None
        self._brushes: np.ndarray = np.empty(0, dtype=object)
        self.image = pg.ImageItem()
        self.image.setZValue(0)
        self.addItem(self.image)
        self.points = pg.ScatterPlotItem(size=5, pxMode=True, pen=None)
        self.points.setZValue(1)
        self.addItem(self.points)
        self.rings = pg.ScatterPlotItem(
            size=8, pxMode=True, brush=QBrush(Qt.BrushStyle.NoBrush), pen=QPen(QColor(255, 213, 79, 220), 1.0)
        )
        self.dots = pg.ScatterPlotItem(
            size=3, pxMode=True, pen=None, brush=QBrush(QColor(255, 255, 255, 230))
        )
        self.dots.setZValue(2)
        self.addItem(self.dots)
        self.rings.setZValue(2)
        self.addItem(self.rings)
        self.shape = pg.PlotCurveItem(pen=QPen(QColor("#ffd54f"), 1.5))
        self.shape.setZValue(3)
        self.addItem(self.shape)
        self._shape_pts: list[QPointF] = []
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._binned = _Binned()
        self._binned.done.connect(self._show_image)
        self._gen = 0
        self._bin_busy = False
        self._bin_again = False
        self.density_shown = False
        self._refresh = QTimer(self, singleShot=True, interval=0)
        self._refresh.timeout.connect(lambda: self.update_view(force=False))
        self._covered: tuple | None = None
        self.vb.sigRangeChanged.connect(lambda *_: self._refresh.start())
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)

    # -- data ------------------------------------------------------------------------------
    def set_points(self, ids: np.ndarray, xy: np.ndarray, tree=None) -> None:
        self.ids, self.xy = ids, np.ascontiguousarray(xy, dtype=np.float32)
        n = len(ids)
        self.codes = np.zeros(n, np.int32)
        self.visible = np.ones(n, bool)
        self.selected = np.zeros(n, bool)
        self.marked = np.zeros(n, bool)
        self._tree = tree
        if tree is None and n:
            from sklearn.neighbors import KDTree

            self._tree = KDTree(self.xy)
        self.fit()

    def set_colours(self, codes: np.ndarray, colours: np.ndarray) -> None:
        self.codes = codes.astype(np.int32)
        self.colours = colours
        self._brushes = np.array(
            [QBrush(QColor(int(r), int(g), int(b))) for r, g, b in colours.tolist()], dtype=object
        )
        self.update_view()

    def set_hidden_codes(self, hidden: set[int]) -> None:
        self.visible = ~np.isin(self.codes, list(hidden)) if hidden else np.ones(len(self.codes), bool)
        self.update_view()

    def set_selected(self, mask: np.ndarray) -> None:
        self.selected = mask
        self.update_view()

    def set_marked(self, mask: np.ndarray) -> None:
        self.marked = mask
        self.update_view()

    def fit(self) -> None:
        if not len(self.xy):
            return
        lo, hi = self.xy.min(axis=0).astype(float), self.xy.max(axis=0).astype(float)
        pad = np.maximum(hi - lo, 1e-6) * 0.04
        self.vb.setRange(
            xRange=(float(lo[0] - pad[0]), float(hi[0] + pad[0])),
            yRange=(float(lo[1] - pad[1]), float(hi[1] + pad[1])),
            padding=0,
        )

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.vb.setMouseEnabled(x=True, y=True)

    # -- drawing ---------------------------------------------------------------------------
    def view_rect(self) -> tuple[tuple[float, float], tuple[float, float]]:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return (x0, x1), (y0, y1)

    def in_view(self) -> np.ndarray:
        (x0, x1), (y0, y1) = self.view_rect()
        return np.flatnonzero(in_rect(self.xy, x0, y0, x1, y1) & self.visible)

    def update_view(self, force: bool = True) -> None:
        """Redraw for the current view. Items are filled for a margin around the view (COVER times its
        size), so a pan that stays inside it is only a repaint: no numpy, no setData (``force=False``)."""
        import time

        started = time.perf_counter()
        if not len(self.xy):
            for item in (self.points, self.rings, self.dots):
                item.clear()
            self.image.clear()
            self._covered = None
            return
        (x0, x1), (y0, y1) = self.view_rect()
        if not force and self._covers(x0, x1, y0, y1):
            self.frameDrawn.emit(time.perf_counter() - started)
            return
        mx, my = (x1 - x0) * (COVER - 1) / 2, (y1 - y0) * (COVER - 1) / 2
        self._covered = (x0 - mx, x1 + mx, y0 - my, y1 + my, x1 - x0)
        idx = np.flatnonzero(in_rect(self.xy, x0 - mx, y0 - my, x1 + mx, y1 + my) & self.visible)
        in_view = int(in_rect(self.xy[idx], x0, y0, x1, y1).sum()) if len(idx) else 0
        if in_view <= POINTS_MAX and len(idx) <= POINTS_MAX * COVER * COVER:
            self.image.hide()
            self.density_shown = False
            self.points.setData(
                pos=self.xy[idx],
                brush=self._brushes[self.codes[idx]] if len(self._brushes) else None,
                data=idx,
            )
        else:
            self.points.clear()
            self.density_shown = True
            self._request_density()
        # The selection: small white dots on its points (rings would merge into a blob in a dense
        # cluster); search/filter matches: yellow rings.
        for item, mask in ((self.dots, self.selected), (self.rings, self.marked)):
            chosen = idx[mask[idx]] if len(idx) else idx
            if len(chosen) > POINTS_MAX * 2:
                chosen = chosen[:: max(1, len(chosen) // (POINTS_MAX * 2))]
            item.setData(pos=self.xy[chosen])
        self.frameDrawn.emit(time.perf_counter() - started)

    def _covers(self, x0: float, x1: float, y0: float, y1: float) -> bool:
        c = self._covered
        if c is None:
            return False
        cx0, cx1, cy0, cy1, width = c
        zoom = (x1 - x0) / max(width, 1e-12)
        return cx0 <= x0 and x1 <= cx1 and cy0 <= y0 and y1 <= cy1 and 0.8 <= zoom <= 1.25

    def _request_density(self) -> None:
        if self._bin_busy:
            self._bin_again = True
            return
        self._bin_busy = True
        self._gen += 1
        x0, x1, y0, y1, _w = self._covered
        w = max(16, int(self.vb.width() * COVER) // DENSITY_SCALE)
        h = max(16, int(self.vb.height() * COVER) // DENSITY_SCALE)
        xy, codes = self.xy, self.codes
        if not self.visible.all():
            keep = self.visible
            xy, codes = xy[keep], codes[keep]
        self._pool.start(
            _BinTask(
                self._gen,
                xy,
                codes,
                len(self.colours),
                self.colours,
                (x0, x1),
                (y0, y1),
                int(w),
                int(h),
                self._binned,
            )
        )

    def _show_image(self, gen: int, image: np.ndarray, rect: tuple) -> None:
        self._bin_busy = False
        if self._bin_again:  # the view moved while binning: this image is stale, bin the new view
            self._bin_again = False
            if self.density_shown:
                self._request_density()
            return
        if gen != self._gen or not self.density_shown:
            return
        # ImageItem's first axis is x: transpose (rows are y), keep rgba.
        self.image.setImage(np.ascontiguousarray(image.transpose(1, 0, 2)), autoLevels=False)
        self.image.setRect(*rect)
        self.image.show()

    def wait_for_density(self, timeout_ms: int = 5000) -> bool:
        """Tests and screenshots: block until the density image for the current view is shown."""
        import time

        from PySide6.QtWidgets import QApplication

        end = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < end:
            QApplication.processEvents()
            if not self._bin_busy and not self._bin_again:
                return True
            self._pool.waitForDone(20)
        return False

    # -- pointer ---------------------------------------------------------------------------
    def nearest(self, scene_pos) -> int:
        """Row of the visible point nearest ``scene_pos`` within HOVER_PX, or -1."""
        if self._tree is None or not len(self.xy):
            return -1
        p = self.vb.mapSceneToView(scene_pos)
        (x0, x1), (y0, y1) = self.view_rect()
        per_px = max((x1 - x0) / max(1, self.vb.width()), (y1 - y0) / max(1, self.vb.height()))
        dist, rows = self._tree.query([[p.x(), p.y()]], k=min(16, len(self.xy)))
        for d, r in zip(dist[0], rows[0], strict=True):
            if d > HOVER_PX * per_px:
                break
            if self.visible[r]:
                return int(r)
        return -1

    def _mouse_moved(self, scene_pos) -> None:
        if self.mode != "pan" and self._shape_pts:
            return
        row = self.nearest(scene_pos)
        self.hovered.emit(int(self.ids[row]) if row >= 0 else -1)

    def _mouse_clicked(self, ev) -> None:
        if ev.button() != pg.QtCore.Qt.MouseButton.LeftButton or ev.double():
            return
        row = self.nearest(ev.scenePos())
        if row >= 0:
            self.clicked.emit(int(self.ids[row]))

    # -- lasso / rectangle -------------------------------------------------------------------
    def begin_shape(self, start: QPointF) -> None:
        self._shape_pts = [start]

    def extend_shape(self, point: QPointF) -> None:
        if self.mode == "rectangle":
            a = self._shape_pts[0]
            self._shape_pts = [a, QPointF(point.x(), a.y()), point, QPointF(a.x(), point.y())]
        else:
            self._shape_pts.append(point)
        pts = [*self._shape_pts, self._shape_pts[0]]
        self.shape.setData([p.x() for p in pts], [p.y() for p in pts])

    def finish_shape(self, additive: bool = False) -> None:
        polygon = [(p.x(), p.y()) for p in self._shape_pts]
        self._shape_pts = []
        self.shape.setData([], [])
        self.selectionDrawn.emit(self.select_polygon(polygon), additive)

    def select_polygon(self, polygon) -> np.ndarray:
        """Sample ids of the visible points inside ``polygon`` (view coordinates)."""
        if len(polygon) == 4 and self.mode == "rectangle":
            xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
            mask = in_rect(self.xy, min(xs), min(ys), max(xs), max(ys))
        else:
            mask = in_polygon(self.xy, polygon)
        return self.ids[mask & self.visible]

    def shutdown(self) -> None:
        self._refresh.stop()
        self._pool.waitForDone(2000)
