"""The Data page's top bar: Import/Export, search, Clear, Bulk, Undo/Redo and the count.

Its buttons and actions emit signals; the page decides what they do."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMenu, QPushButton, QToolButton, QWidget

from backend.datasets.schema import STATUSES


class DataToolbar(QWidget):
    importRequested = Signal()
    hubImportRequested = Signal()
    exportRequested = Signal()
    clearRequested = Signal()
    bulkStatusRequested = Signal(str)   # mark every matching sample with this status
    bulkTagRequested = Signal()
    undoRequested = Signal()
    redoRequested = Signal()
    trainRequested = Signal(bool)       # True: the selected rows only; False: everything matching

    def __init__(self, undo_stack: QUndoStack) -> None:
        super().__init__()
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        self.import_button = QToolButton()
        self.import_button.setText("Import…")
        self.import_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.import_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.import_button.clicked.connect(self.importRequested)
        menu = QMenu(self.import_button)
        menu.addAction("Import files…", self.importRequested.emit)
        menu.addAction("Import from Hugging Face…", self.hubImportRequested.emit)
        self.import_button.setMenu(menu)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.exportRequested)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search instructions and answers (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(200)   # room to type; more when the window is wider (stretch 1)
        # A push button with a menu: it sizes itself for the text and the arrow (a tool button in
        # instant-popup mode drew its arrow over "Bulk").
        self.bulk_button = QPushButton("Bulk")
        self.bulk_button.setToolTip("Apply to every sample matching the filter and search")
        bulk = QMenu(self.bulk_button)
        for status in STATUSES:
            bulk.addAction(f"Mark all matching {status}", lambda s=status: self.bulkStatusRequested.emit(s))
        bulk.addSeparator()
        bulk.addAction("Tag all matching…", self.bulkTagRequested.emit)
        bulk.addSeparator()
        self.train_matching = bulk.addAction("Train on these (all matching)", lambda: self.trainRequested.emit(False))
        self.train_selected = bulk.addAction("Train on the selected rows", lambda: self.trainRequested.emit(True))
        self.bulk_button.setMenu(bulk)
        # Fixed labels: what would be undone goes in the tooltip, so the bar never re-flows
        # ("Undo Mark 1 sample accepted" squeezed the search box).
        self.undo_button, self.redo_button = QToolButton(), QToolButton()
        for button, word, stack_signal, can, handler in (
                (self.undo_button, "Undo", undo_stack.undoTextChanged, undo_stack.canUndoChanged, self.undoRequested),
                (self.redo_button, "Redo", undo_stack.redoTextChanged, undo_stack.canRedoChanged, self.redoRequested)):
            button.setText(word)
            button.setEnabled(False)
            button.setToolTip(f"Nothing to {word.lower()}")
            button.clicked.connect(handler)
            can.connect(button.setEnabled)
            stack_signal.connect(lambda text, b=button, w=word: b.setToolTip(f"{w}: {text}" if text
                                                                            else f"Nothing to {w.lower()}"))
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self.undoRequested)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.redo_action.triggered.connect(self.redoRequested)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(self.clearRequested)
        self.count_label = QLabel()
        self.count_label.setMinimumWidth(150)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.import_button)
        bar.addWidget(self.export_button)
        bar.addSpacing(8)
        bar.addWidget(self.search, 1)
        for w in (self.clear_button, self.bulk_button, self.undo_button, self.redo_button, self.count_label):
            bar.addWidget(w)
