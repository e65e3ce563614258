"""Train's data picker: what a run trains on, picked rather than typed.

A list of choices — Data's current filter or selection (sent with "Train on these"), all samples,
each dataset, each status, with their counts — plus a file. The text stays editable for a filter
the list does not hold (``kind=mcq;status=accepted``); the run records that text either way.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QPushButton, QWidget

FROM_DATA = "From Data: "


class DataPicker(QWidget):
    changed = Signal()  # a choice picked, a file chosen, or typed text finished

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setToolTip(
            "What to train on: pick Data's filter, a dataset or a status, or type a filter "
            "(kind=…;status=…;dataset=…;tag=…;q=words; 'all') or a data file's path"
        )
        self.combo.addItem("All samples", "all")
        self.combo.setEditText("all")
        self.combo.activated.connect(self._picked)
        self.combo.lineEdit().editingFinished.connect(self.changed)
        self.browse = QPushButton("File…")
        self.browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.browse)

    # The line-edit API the form and its callers use.
    def text(self) -> str:
        return self.combo.currentText().strip()

    def setText(self, text: str) -> None:  # noqa: N802 - mirrors QLineEdit
        self.combo.setEditText(text)

    def choices(self) -> list[tuple[str, str]]:
        return [(self.combo.itemText(i), self.combo.itemData(i)) for i in range(self.combo.count())]

    def set_choices(self, choices: list[tuple[str, str]]) -> None:
        """(label, filter) pairs from the store; a "From Data" choice and the typed text are kept."""
        current = self.text()
        keep = [(label, value) for label, value in self.choices() if label.startswith(FROM_DATA)]
        self.combo.blockSignals(True)
        self.combo.clear()
        for label, value in [*keep, *choices]:
            self.combo.addItem(label, value)
        self.combo.setEditText(current)
        self.combo.blockSignals(False)

    def use_from_data(self, filter_text: str, description: str) -> None:
        """Data's "Train on these": a first choice named for what Data shows, and picked."""
        label = f"{FROM_DATA}{description}"
        for i in reversed(range(self.combo.count())):
            if self.combo.itemText(i).startswith(FROM_DATA):
                self.combo.removeItem(i)
        self.combo.insertItem(0, label, filter_text)
        self.combo.setCurrentIndex(0)
        self.combo.setEditText(filter_text)
        self.changed.emit()

    def _picked(self, index: int) -> None:
        value = self.combo.itemData(index)
        if value:
            self.combo.setEditText(value)  # the filter itself, so what trains is visible and editable
        self.changed.emit()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Training data", "", "Data (*.json *.jsonl *.parquet)")
        if path:
            self.setText(path)
            self.changed.emit()
