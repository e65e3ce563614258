"""The Data workspace's Map tab: the map canvas, colour-by with a legend that doubles as a facet,
the cluster list, lasso/rectangle tools, and the map job (embed, layout) with progress and Cancel.

The map's selection is handed to the page (``selectionChanged``), which makes it the table's
selection, so review keys, tags, Bulk actions, export and undo all apply to it. Work over the whole
store runs off the GUI thread on its own connection (``map_tasks``); the job is owned here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.datamap.colour import cluster_codes, colours_for
from backend.datamap.points import question_preview
from backend.datasets.query import SampleFilter
from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.data import map_tasks
from deepones_gui.workspaces.data.map_canvas import MapCanvas

METHODS = (("TF-IDF (offline)", "tfidf"), ("GGUF: embedded", "gguf:embedded"))


class MapPanel(QWidget):
    selectionChanged = Signal(object)  # np.ndarray of sample ids (empty: cleared)
    sampleClicked = Signal(int)
    reviewRequested = Signal(str)  # a review key on the map: the page marks the selection
    tagRequested = Signal()

    def __init__(self, db, db_path: Path, parent=None) -> None:
        super().__init__(parent)
        self.db, self.db_path = db, db_path
        self.points = None
        self._tree = None
        self._labels: list[str] = []
        self._hidden: set[int] = set()
        self._selection = np.empty(0, np.int64)
        self._job = None
        self._loading = None
        self._colour_task = None
        self._match_task = None
        self._filter = SampleFilter()
        self._loaded_once = False
        self.current_sample: int | None = None  # the sample in the detail pane (the page tells)
        # The map job is long: it runs on the panel's own thread, not the shared pool.
        self._job_pool = QThreadPool(self)
        self._job_pool.setMaxThreadCount(1)
        self._build()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 4, 0, 0)
        bar = QHBoxLayout()
        self.colour_by = QComboBox()
        self.colour_by.setToolTip("Colour the points by a facet; the legend shows or hides each value")
        self.colour_by.addItem("map cluster")
        self.colour_by.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.colour_by.setMinimumContentsLength(12)
        self.colour_by.currentTextChanged.connect(self.recolour)
        bar.addWidget(QLabel("Colour"))
        bar.addWidget(self.colour_by)
        self.tools = QButtonGroup(self)
        for mode, text, tip in (
            ("pan", "Pan", "Drag to pan, wheel to zoom (P)"),
            ("lasso", "Lasso", "Drag a free shape to select (L); Shift adds"),
            ("rectangle", "Rect", "Drag a rectangle to select (M); Shift adds"),
        ):
            button = QToolButton(text=text, checkable=True, toolTip=tip)
            button.setProperty("mode", mode)
            self.tools.addButton(button)
            bar.addWidget(button)
            if mode == "pan":
                button.setChecked(True)
        self.tools.buttonClicked.connect(lambda b: self.canvas.set_mode(b.property("mode")))
        self.dupes_button = QPushButton("Near-duplicates")
        self.dupes_button.setToolTip("Select the near-duplicates of the sample shown in the detail pane")
        self.dupes_button.clicked.connect(self.select_near_duplicates)
        bar.addWidget(self.dupes_button)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Clear the map selection (Esc)")
        self.clear_button.clicked.connect(lambda: self.set_selection(np.empty(0, np.int64)))
        bar.addWidget(self.clear_button)
        bar.addStretch(1)
        outer.addLayout(bar)

        job = QHBoxLayout()
        self.status = QLabel("")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long status must never widen the page (the window fits 1280 px): elided by the layout.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar(maximum=1000, textVisible=False)
        self.progress.setFixedWidth(120)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        job.addWidget(self.status, 1)
        job.addWidget(self.progress)
        job.addWidget(self.cancel_button)
        self.method = QComboBox()
        self.method.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.method.setMinimumContentsLength(10)
        for text, value in METHODS:
            self.method.addItem(text, value)
        self.method.setToolTip("How samples become vectors before the layout")
        job.addWidget(self.method)
        self.update_button = QPushButton("Compute map")
        self.update_button.setToolTip("Embed and place samples not on the map yet (the layout is kept)")
        self.update_button.clicked.connect(lambda: self.start_job(recompute=False))
        job.addWidget(self.update_button)
        self.recompute_button = QPushButton("Recompute layout")
        self.recompute_button.setToolTip("Fit a new layout over every sample")
        self.recompute_button.clicked.connect(lambda: self.start_job(recompute=True))
        job.addWidget(self.recompute_button)
        outer.addLayout(job)
        self._job_widgets(False)

        self.canvas = MapCanvas()
        self.canvas.hovered.connect(self._hovered)
        self.canvas.clicked.connect(self.sampleClicked)
        self.canvas.selectionDrawn.connect(self._drawn)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side.setMinimumWidth(150)
        side_layout.addWidget(QLabel("Legend (click: show/hide)"))
        self.legend = QListWidget()
        self.legend.itemChanged.connect(self._legend_changed)
        side_layout.addWidget(self.legend, 1)
        side_layout.addWidget(QLabel("Clusters (click: select)"))
        self.cluster_list = QListWidget()
        self.cluster_list.itemClicked.connect(self._cluster_clicked)
        side_layout.addWidget(self.cluster_list, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.canvas)
        split.addWidget(side)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 180])
        outer.addWidget(split, 1)
        self.hover_label = QLabel(" ")
        self.hover_label.setTextFormat(Qt.TextFormat.PlainText)  # sample text is never markup
        self.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        outer.addWidget(self.hover_label)
        self._update_buttons()

    def _job_widgets(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)

    def _update_buttons(self) -> None:
        has_map = self.points is not None and len(self.points) > 0
        busy = self._job is not None
        self.update_button.setText("Update map" if has_map else "Compute map")
        self.update_button.setEnabled(not busy)
        self.recompute_button.setEnabled(has_map and not busy)
        self.method.setEnabled(not busy)
        self.dupes_button.setEnabled(has_map)
        self.clear_button.setEnabled(len(self._selection) > 0)
        for b in self.tools.buttons():
            b.setEnabled(has_map)

    # -- loading -----------------------------------------------------------------------------
    def ensure_loaded(self) -> None:
        """Load the saved map the first time the tab is shown (instant: positions from the store)."""
        if not self._loaded_once:
            self._loaded_once = True
            self.reload()

    def ready(self) -> bool:
        """The map's points are loaded and no load is in flight."""
        return self.points is not None and self._loading is None

    def reload(self) -> None:
        if self._loading is not None:
            return
        self.status.setText("Loading the map…")

        def done() -> None:
            self._loading = None

        self._loading = run_in_background(
            map_tasks.load_map,
            self.db_path,
            on_result=self._loaded,
            on_error=self._failed,
            on_done=done,
            owner=self,
        )

    def _loaded(self, result: dict) -> None:
        self.points, self._tree = result["points"], result["tree"]
        facets = result["facets"]
        current = self.colour_by.currentText()
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        self.colour_by.addItems(facets)
        self.colour_by.setCurrentText(current if current in facets else "map cluster")
        self.colour_by.blockSignals(False)
        if self.points is None:
            self.status.setText(
                f"No map yet: {result['samples']:,} samples. Compute map lays them out "
                "(off this window, with progress)."
            )
            self.canvas.set_points(np.empty(0, np.int64), np.empty((0, 2), np.float32))
        else:
            self.canvas.set_points(self.points.ids, self.points.xy, self._tree)
            missing = result["samples"] - len(self.points)
            self.status.setText(
                f"{len(self.points):,} samples on the map (layout {self.points.version})"
                + (f" · {missing:,} not placed yet: Update map" if missing > 0 else "")
            )
            self._fill_clusters()
            self.recolour()
            self._apply_filter_marks()
        self._selection = np.empty(0, np.int64)
        self._update_buttons()

    def _failed(self, exc: BaseException, _tb: str) -> None:
        self.status.setText(f"Map: {exc}")

    def _fill_clusters(self) -> None:
        self.cluster_list.clear()
        for c in self.points.clusters:
            item = QListWidgetItem(f"{c['name']}  ({c['size']:,})")
            item.setData(Qt.ItemDataRole.UserRole, c["id"])
            item.setToolTip(c["name"])
            self.cluster_list.addItem(item)

    def data_changed(self, *, new_samples: bool = False) -> None:
        """The page wrote to the store (a review, a tag, an import): keep what the map shows current."""
        if not self._loaded_once or self.points is None and not new_samples:
            return
        if new_samples:
            self.reload()  # says how many are not placed yet ("Update map")
        elif self.colour_by.currentText() != "map cluster":
            self.recolour()  # e.g. coloured by status after an accept

    # -- colour and legend ---------------------------------------------------------------------
    def recolour(self, *_args) -> None:
        if self.points is None:
            return
        name = self.colour_by.currentText()
        if name == "map cluster":
            self._show_codes(cluster_codes(self.points.cluster, self.points.clusters))
            return
        self.status.setText(f"Colouring by {name}…")
        self._colour_task = run_in_background(
            map_tasks.colour_codes,
            self.db_path,
            name,
            self.points.ids,
            on_result=self._show_codes,
            on_error=self._failed,
            owner=self,
        )

    def _show_codes(self, result) -> None:
        codes, labels = result
        if self.points is None or len(codes) != len(self.points):
            return  # for a map that has since been reloaded
        facet = self.colour_by.currentText()
        # Values the user hid stay hidden when the same facet is recoloured (after a review, say).
        hidden_labels = (
            {self._labels[c] for c in self._hidden if c < len(self._labels)}
            if facet == getattr(self, "_facet", None)
            else set()
        )
        self._facet, self._labels = facet, labels
        colours = colours_for(labels)
        self._hidden = {i for i, label in enumerate(labels) if label in hidden_labels}
        self.canvas.set_colours(codes, colours)
        self.canvas.set_hidden_codes(self._hidden)
        self.legend.blockSignals(True)
        self.legend.clear()
        counts = np.bincount(codes, minlength=len(labels))
        for i, (label, rgb) in enumerate(zip(labels, colours.tolist(), strict=True)):
            pix = QPixmap(12, 12)
            pix.fill(QColor(*rgb))
            item = QListWidgetItem(QIcon(pix), f"{label}  ({int(counts[i]):,})")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if i in self._hidden else Qt.CheckState.Checked)
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setToolTip(label)
            self.legend.addItem(item)
        self.legend.blockSignals(False)
        self.status.setText(
            f"{len(self.points):,} samples on the map · coloured by {self.colour_by.currentText()}"
        )

    def _legend_changed(self, item: QListWidgetItem) -> None:
        code = item.data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            self._hidden.discard(code)
        else:
            self._hidden.add(code)
        self.canvas.set_hidden_codes(self._hidden)

    # -- selection ---------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        return self._selection.tolist()

    def set_selection(self, ids: np.ndarray, *, additive: bool = False) -> None:
        if self.points is None:
            return
        ids = np.asarray(ids, dtype=np.int64)
        if additive and len(self._selection):
            ids = np.union1d(self._selection, ids)
        self._selection = np.unique(ids)
        mask = np.zeros(len(self.points), bool)
        mask[self.points.rows_of(self._selection)] = True
        self.canvas.set_selected(mask)
        self._update_buttons()
        self.selectionChanged.emit(self._selection)

    def _drawn(self, ids: np.ndarray, additive: bool) -> None:
        self.set_selection(ids, additive=additive)

    def _cluster_clicked(self, item: QListWidgetItem) -> None:
        cid = item.data(Qt.ItemDataRole.UserRole)
        self.set_selection(self.points.ids[self.points.cluster == cid])

    def select_near_duplicates(self) -> None:
        sid = self.current_sample
        if sid is None or self.points is None:
            self.status.setText("Click a sample on the map first: its near-duplicates are selected")
            return
        self.status.setText(f"Finding near-duplicates of #{sid}…")
        run_in_background(
            map_tasks.near_duplicates,
            self.db_path,
            sid,
            self.points.ids,
            self.points.xy,
            self._tree,
            on_result=lambda ids: (
                self.set_selection(np.asarray(ids, np.int64)),
                self.status.setText(f"{len(ids):,} near-duplicates of #{sid} (itself included)"),
            ),
            on_error=self._failed,
            owner=self,
        )

    # -- filter and search marks -----------------------------------------------------------------
    def set_filter(self, flt: SampleFilter) -> None:
        """The table's filter: its matches (search box, facet checks) are ringed on the map."""
        self._filter = SampleFilter(**{**flt.__dict__, "ids": ()})
        self._apply_filter_marks()

    def _apply_filter_marks(self) -> None:
        if self.points is None or not self._loaded_once:
            return
        if self._filter.is_empty or self._filter == SampleFilter(prefix=self._filter.prefix):
            self.canvas.set_marked(np.zeros(len(self.points), bool))
            return
        self._match_task = run_in_background(
            map_tasks.matching_ids,
            self.db_path,
            self._filter,
            on_result=self._show_marks,
            on_error=self._failed,
            owner=self,
        )

    def _show_marks(self, ids) -> None:
        if self.points is None:
            return
        mask = np.zeros(len(self.points), bool)
        mask[self.points.rows_of(ids)] = True
        self.canvas.set_marked(mask)
        self.status.setText(f"{int(mask.sum()):,} matches of the filter ringed on the map")

    def _hovered(self, sid: int) -> None:
        if sid == getattr(self, "_hover_sid", None):
            return  # the pointer moved over the same point: no query
        self._hover_sid = sid
        if sid < 0:
            self.hover_label.setText(" ")
            return
        text = question_preview(self.db, sid)  # one indexed row: quick enough for the GUI thread
        self.hover_label.setText(f"#{sid}  {text}")
        self.canvas.setToolTip(f"#{sid}  {text}")

    # -- the map job ------------------------------------------------------------------------
    def start_job(self, recompute: bool) -> None:
        if self._job is not None:
            return
        method = self.method.currentData()
        self._job_widgets(True)
        self.progress.setValue(0)
        self.status.setText("Starting the map job…")

        def done() -> None:
            self._job = None
            self._job_widgets(False)
            self._update_buttons()

        self._job = run_in_background(
            map_tasks.compute_map,
            self.db_path,
            method,
            recompute,
            on_progress=self._job_progress,
            on_result=self._job_finished,
            on_error=self._job_failed,
            on_cancelled=self._job_cancelled,
            on_done=done,
            owner=self,
            pool=self._job_pool,
        )
        self._update_buttons()

    def _job_progress(self, frac: float, text: str) -> None:
        self.progress.setValue(int(frac * 1000))
        self.status.setText(text)

    def _job_finished(self, summary: dict) -> None:
        self.status.setText(f"Map ready: {summary['samples']:,} samples, {len(summary['clusters'])} clusters")
        self.reload()

    def _job_failed(self, exc: BaseException, _tb: str) -> None:
        self.status.setText(f"Map job failed: {exc}")
        QMessageBox.warning(self, "Map", str(exc))

    def _job_cancelled(self) -> None:
        self.status.setText("Map job cancelled (embeddings computed so far are kept)")

    def cancel_job(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.status.setText("Cancelling…")

    def keyPressEvent(self, event) -> None:  # noqa: N802
        keys = {Qt.Key.Key_P: "pan", Qt.Key.Key_L: "lasso", Qt.Key.Key_M: "rectangle"}
        if event.key() in keys and not event.modifiers():
            mode = keys[event.key()]
            for b in self.tools.buttons():
                b.setChecked(b.property("mode") == mode)
            self.canvas.set_mode(mode)
            return
        review = {
            Qt.Key.Key_A: "accepted",
            Qt.Key.Key_R: "rejected",
            Qt.Key.Key_F: "needs-fix",
            Qt.Key.Key_U: "unreviewed",
        }
        if event.key() in review and not event.modifiers() and len(self._selection):
            self.reviewRequested.emit(review[event.key()])
            return
        if event.key() == Qt.Key.Key_T and not event.modifiers() and len(self._selection):
            self.tagRequested.emit()
            return
        if event.key() == Qt.Key.Key_Escape and len(self._selection):
            self.set_selection(np.empty(0, np.int64))
            return
        super().keyPressEvent(event)

    def shutdown(self) -> None:
        if self._job is not None:
            self._job.cancel()
        self._job_pool.waitForDone(10_000)  # the layout child is killed on cancel: this is quick
        self.canvas.shutdown()
