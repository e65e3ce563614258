"""The Data page's top bar: Import/Export, search, Clear, Bulk, Undo/Redo and the count."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMenu, QPushButton, QToolButton, QWidget

from backend.datasets.schema import STATUSES


class DataToolbar(QWidget):
    def __init__(self, undo_stack: QUndoStack, *, on_import: Callable, on_hub_import: Callable,
                 on_export: Callable, on_clear: Callable, on_bulk_status: Callable[[str], None],
                 on_bulk_tag: Callable, on_undo: Callable, on_redo: Callable,
                 on_train: Callable[[bool], None] | None = None) -> None:
        super().__init__()
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        self.import_button = QToolButton()
        self.import_button.setText("Import…")
        self.import_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.import_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.import_button.clicked.connect(on_import)
        menu = QMenu(self.import_button)
        menu.addAction("Import files…", on_import)
        menu.addAction("Import from Hugging Face…", on_hub_import)
        self.import_button.setMenu(menu)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(on_export)
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
            bulk.addAction(f"Mark all matching {status}", lambda s=status: on_bulk_status(s))
        bulk.addSeparator()
        bulk.addAction("Tag all matching…", on_bulk_tag)
        if on_train is not None:
            bulk.addSeparator()
            self.train_matching = bulk.addAction("Train on these (all matching)", lambda: on_train(False))
            self.train_selected = bulk.addAction("Train on the selected rows", lambda: on_train(True))
        self.bulk_button.setMenu(bulk)
        # Fixed labels: what would be undone goes in the tooltip, so the bar never re-flows
        # ("Undo Mark 1 sample accepted" squeezed the search box).
        self.undo_button, self.redo_button = QToolButton(), QToolButton()
        for button, word, stack_signal, can, handler in (
                (self.undo_button, "Undo", undo_stack.undoTextChanged, undo_stack.canUndoChanged, on_undo),
                (self.redo_button, "Redo", undo_stack.redoTextChanged, undo_stack.canRedoChanged, on_redo)):
            button.setText(word)
            button.setEnabled(False)
            button.setToolTip(f"Nothing to {word.lower()}")
            button.clicked.connect(handler)
            can.connect(button.setEnabled)
            stack_signal.connect(lambda text, b=button, w=word: b.setToolTip(f"{w}: {text}" if text
                                                                            else f"Nothing to {w.lower()}"))
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(on_undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.redo_action.triggered.connect(on_redo)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(on_clear)
        self.count_label = QLabel()
        self.count_label.setMinimumWidth(150)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.import_button)
        bar.addWidget(self.export_button)
        bar.addSpacing(8)
        bar.addWidget(self.search, 1)
        for w in (self.clear_button, self.bulk_button, self.undo_button, self.redo_button, self.count_label):
            bar.addWidget(w)
