"""The trace filters: outcome, error type, label, task, designer, programmer, debug steps, date, text."""

from __future__ import annotations

import time

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from backend.traces.index import OUTCOME_TITLES, OUTCOMES, TraceFilter

ANY = "Any"


def _short(spec: str) -> str:
    from deepones_gui.context import describe_model

    return describe_model(spec)


class FilterBar(QWidget):
    changed = Signal(object)   # TraceFilter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outcome = self._combo()
        for name in OUTCOMES:
            self.outcome.addItem(OUTCOME_TITLES[name], name)
        self.error = self._combo()
        self.label = self._combo()
        self.task = self._combo()
        self.designer = self._combo()
        self.programmer = self._combo()
        self.min_debug = QSpinBox()
        self.min_debug.setRange(0, 999)
        self.min_debug.setToolTip("At least this many debug steps")
        self.use_since = QCheckBox("Since")
        self.since = QDateEdit(QDate.currentDate().addMonths(-1))
        self.since.setCalendarPopup(True)
        self.since.setEnabled(False)
        self.use_since.toggled.connect(self.since.setEnabled)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search code and output (all words)…")
        self.search.setClearButtonEnabled(True)
        self.clear = QPushButton("Clear")
        self.clear.setToolTip("Show every trace")
        self.clear.clicked.connect(self.reset)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        cells = [("Outcome", self.outcome), ("Error", self.error), ("Label", self.label),
                 ("Task", self.task), ("Designer", self.designer), ("Programmer", self.programmer)]
        for i, (title, widget) in enumerate(cells):
            row, col = divmod(i, 3)
            grid.addWidget(QLabel(title), row, col * 2)
            grid.addWidget(widget, row, col * 2 + 1)
            grid.setColumnStretch(col * 2 + 1, 1)
        grid.addWidget(QLabel("Debug ≥"), 2, 0)
        grid.addWidget(self.min_debug, 2, 1)
        grid.addWidget(self.use_since, 2, 2)
        grid.addWidget(self.since, 2, 3)
        grid.addWidget(self.clear, 2, 5)
        grid.addWidget(self.search, 3, 0, 1, 6)

        self._typing = QTimer(self, singleShot=True, interval=250)  # search as you type, not per key
        self._typing.timeout.connect(self._emit)
        self.search.textChanged.connect(lambda _t: self._typing.start())
        for combo in (self.outcome, self.error, self.label, self.task, self.designer, self.programmer):
            combo.currentIndexChanged.connect(self._emit)
        self.min_debug.valueChanged.connect(self._emit)
        self.use_since.toggled.connect(self._emit)
        self.since.dateChanged.connect(self._emit)
        self._quiet = False

    def _combo(self) -> QComboBox:
        combo = QComboBox()
        combo.addItem(ANY, None)
        combo.setMinimumContentsLength(8)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        return combo

    def set_choices(self, facets: dict[str, list[str]], labels: list[tuple[str, str]]) -> None:
        """Fill the boxes (keeping what is selected) from the values present in the store."""
        self._quiet = True
        try:
            for combo, values in ((self.error, [(v, v) for v in facets.get("error_type", [])]),
                                  (self.label, labels),
                                  (self.task, [(v, v) for v in facets.get("task", [])]),
                                  (self.designer, [(_short(v), v) for v in facets.get("designer", [])]),
                                  (self.programmer, [(_short(v), v) for v in facets.get("programmer", [])])):
                current = combo.currentData()
                combo.clear()
                combo.addItem(ANY, None)
                for title, value in values:
                    combo.addItem(title, value)
                    combo.setItemData(combo.count() - 1, value, Qt.ItemDataRole.ToolTipRole)  # the full spec
                i = combo.findData(current)
                combo.setCurrentIndex(max(0, i))
        finally:
            self._quiet = False

    def select(self, kind: str, value: str) -> None:
        """Set one box by its backend name (from a click on the chart); emits a change."""
        combo = {"error_type": self.error, "label": self.label, "outcome": self.outcome}[kind]
        i = combo.findData(value)
        if i >= 0:
            combo.setCurrentIndex(i)

    def reset(self) -> None:
        self._quiet = True
        for combo in (self.outcome, self.error, self.label, self.task, self.designer, self.programmer):
            combo.setCurrentIndex(0)
        self.min_debug.setValue(0)
        self.use_since.setChecked(False)
        self.search.clear()
        self._quiet = False
        self._emit()

    def current(self) -> TraceFilter:
        since = None
        if self.use_since.isChecked():
            d = self.since.date()
            since = time.mktime((d.year(), d.month(), d.day(), 0, 0, 0, 0, 0, -1))
        return TraceFilter(outcome=self.outcome.currentData(), error_type=self.error.currentData(),
                           label=self.label.currentData(), task=self.task.currentData(),
                           designer=self.designer.currentData(), programmer=self.programmer.currentData(),
                           min_debug=self.min_debug.value() or None, since=since, text=self.search.text().strip())

    def _emit(self, *_args) -> None:
        if not self._quiet:
            self._typing.stop()
            self.changed.emit(self.current())
