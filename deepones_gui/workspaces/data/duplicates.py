"""Near-duplicate finder panel: MinHash clusters over the current filter, click one to review it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backend.datasets.query import SampleFilter
from deepones_gui.concurrent import run_in_background
from deepones_gui.widgets.flow_layout import FlowLayout
from deepones_gui.workspaces.data import tasks


class DuplicatesPanel(QWidget):
    clusterChosen = Signal(tuple)   # sample ids

    def __init__(self, db_path) -> None:
        super().__init__()
        self.db_path = db_path
        self.filter = SampleFilter()   # the table's; the page sets it whenever it changes
        self.task = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        # Wraps when the centre pane is narrow (a plain row set the Data page's minimum width).
        row = FlowLayout()
        row.addWidget(QLabel("Similarity ≥"))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.3, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.6)
        row.addWidget(self.threshold)
        row.addWidget(QLabel("scan up to"))
        self.max_samples = QSpinBox()
        self.max_samples.setRange(100, 2_000_000)
        self.max_samples.setSingleStep(10_000)
        self.max_samples.setValue(50_000)
        self.max_samples.setSuffix(" samples")
        row.addWidget(self.max_samples)
        self.run = QPushButton("Find near-duplicates")
        self.run.clicked.connect(self.start)
        row.addWidget(self.run)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        row.add(self.progress, stretch=True)
        layout.addLayout(row)
        self.summary = QLabel("Exact duplicates are folded at import. This finds paraphrases and light edits "
                              "(MinHash over word 3-shingles) in the current filter.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.clusters = QListWidget()
        self.clusters.itemActivated.connect(self._chosen)
        self.clusters.itemClicked.connect(self._chosen)
        layout.addWidget(self.clusters, 1)

    def start(self) -> None:
        if self.task is not None:
            self.task.cancel()
            return
        self.clusters.clear()
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.run.setText("Cancel")
        self.task = run_in_background(
            tasks.find_near_duplicates, self.db_path, self.filter, self.threshold.value(), self.max_samples.value(),
            on_progress=lambda f, t: self.progress.setValue(int(f * 100)),
            on_result=self._show, on_error=lambda exc, _tb: self.summary.setText(f"Could not search: {exc}"),
            on_cancelled=lambda: self.summary.setText("Cancelled."), on_done=self._done)

    def _done(self) -> None:
        self.task = None
        self.progress.setVisible(False)
        self.run.setText("Find near-duplicates")

    def _show(self, clusters) -> None:
        self.summary.setText(f"{len(clusters):,} clusters of near-duplicates. Click one to review its samples "
                             "in the table (Esc or 'Clear filters' to go back).")
        for c in clusters:
            item = QListWidgetItem(f"{len(c.ids)} samples  ·  #{', #'.join(map(str, c.ids[:6]))}"
                                   f"{' …' if len(c.ids) > 6 else ''}  ·  {c.preview}")
            item.setData(Qt.ItemDataRole.UserRole, tuple(c.ids))
            self.clusters.addItem(item)

    def _chosen(self, item: QListWidgetItem) -> None:
        self.clusterChosen.emit(item.data(Qt.ItemDataRole.UserRole))

    def shutdown(self) -> None:
        if self.task is not None:
            self.task.cancel()
