"""Bench > Data categories: the paper's Figure 6 (category distribution of the store's data, per kind).

It is the Data workspace's stats chart for one chosen kind, fed by the same backend stats as
``deepones data stats --kind K --json``; nothing is computed here. The store is read off the GUI
thread, again whenever the tab is shown (the data may have changed in the Data workspace).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedLayout,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.data.charts import STATUS_ORDER as STATUSES
from deepones_gui.workspaces.data.charts import CategoryReviewChart


def kind_stats(db_path: Path, kind: str, *, progress, partial, cancel) -> dict:
    """The stats of one kind, exactly what ``deepones data stats --kind KIND`` prints, and the table's rows."""
    from backend.bench.categories import category_distribution

    return category_distribution(db_path, kind)


class CategoryPanel(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from backend.datasets.schema import KINDS

        self.ctx = ctx
        self.stats: dict | None = None
        self._task = None
        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        self.kind.setCurrentText("instruction")   # the paper's Figure 6: DeepData's instruction categories
        self.refresh_button = QPushButton("Refresh")
        self.cli_hint = QLabel()
        self.cli_hint.setStyleSheet("color: palette(placeholder-text);")
        self.chart = CategoryReviewChart()
        # Until the first answer: "counting", not the chart's "No samples yet" (which would be a lie).
        self.waiting = QLabel("Counting the samples…", alignment=Qt.AlignmentFlag.AlignCenter)
        # Below the chart, its numbers (to copy into a paper): one row per category.
        self.table = QTableWidget(0, 2 + len(STATUSES))
        self.table.setHorizontalHeaderLabels(["Category", "Samples (share)", *STATUSES])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        shown = QWidget()
        sl = QVBoxLayout(shown)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.chart)
        sl.addWidget(self.table, 1)
        self.body = QStackedLayout()
        self.body.addWidget(self.waiting)
        self.body.addWidget(shown)
        self.shown = shown
        top = QHBoxLayout()
        title = QLabel("Category distribution of the data in the store (Figure 6) for kind")
        title.setWordWrap(True)   # wraps in a narrow window instead of setting Bench's minimum width
        top.addWidget(title, 1)
        top.addWidget(self.kind)
        top.addWidget(self.refresh_button)
        top.addStretch(1)
        top.addWidget(self.cli_hint)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self.body, 1)
        self.kind.currentTextChanged.connect(lambda _kind: self.refresh())
        self.refresh_button.clicked.connect(self.refresh)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        kind = self.kind.currentText()
        self.cli_hint.setText(f"headless: deepones data stats --kind {kind} --json")
        self.refresh_button.setEnabled(False)
        self._task = run_in_background(kind_stats, self.ctx.db_path, kind, on_result=lambda st: self._show(kind, st),
                                       on_done=lambda: self.refresh_button.setEnabled(True))

    def _show(self, kind: str, st: dict) -> None:
        if kind != self.kind.currentText():
            return   # the answer for a kind chosen before: the newer request is on its way
        self.stats = st
        self.chart.set_data(st)
        rows = st.get("rows", [])
        # The chart draws at most 22 px a category: give it what it needs, the table the rest.
        self.chart.setMaximumHeight(max(self.chart.minimumHeight(), 44 + 22 * len(rows) + 36))
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = [row["category"], f"{row['samples']:,} ({row['share']:.0%})",
                     *(f"{row['review'].get(k, 0):,}" for k in STATUSES)]
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.body.setCurrentWidget(self.shown)
