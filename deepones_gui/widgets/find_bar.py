"""One find bar for every text view: find next (Enter) / previous (Shift+Enter), wrapping around.

Used by the Jobs log view (always shown, inline) and the Design code editor (Ctrl+F opens it,
Esc closes it).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor, QTextDocument
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QToolButton, QWidget


class FindBar(QWidget):
    """Finds in ``editor``. ``closable``: a close button and Esc hide the bar (it starts hidden)."""

    found = Signal(bool)

    def __init__(self, editor: QPlainTextEdit, parent: QWidget | None = None, *, closable: bool = True,
                 placeholder: str = "Find…", incremental: bool = True) -> None:
        super().__init__(parent)
        self.editor = editor
        self.closable = closable
        self.field = QLineEdit()
        self.field.setPlaceholderText(placeholder)
        self.field.setClearButtonEnabled(True)
        self.status = QLabel()
        self.status.setStyleSheet("color:#777;")
        self.prev_btn, self.next_btn = QToolButton(), QToolButton()
        self.prev_btn.setText("▲")
        self.prev_btn.setToolTip("Previous match (Shift+Enter)")
        self.next_btn.setText("▼")
        self.next_btn.setToolTip("Next match (Enter)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.prev_btn)
        layout.addWidget(self.next_btn)
        layout.addWidget(self.status)
        self.field.returnPressed.connect(lambda: self.find(backward=False))
        if incremental:
            self.field.textChanged.connect(lambda: self.find(backward=False, from_start=True))
        self.prev_btn.clicked.connect(lambda: self.find(backward=True))
        self.next_btn.clicked.connect(lambda: self.find(backward=False))
        QShortcut(QKeySequence("Shift+Return"), self.field, lambda: self.find(backward=True))
        if closable:
            close_btn = QToolButton()
            close_btn.setText("✕")
            close_btn.setToolTip("Close (Esc)")
            close_btn.clicked.connect(self.close_bar)
            layout.addWidget(close_btn)
            QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close_bar,
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.hide()

    def open_bar(self) -> None:
        selected = self.editor.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.field.setText(selected)
        self.show()
        self.field.setFocus()
        self.field.selectAll()

    def close_bar(self) -> None:
        if self.closable:
            self.hide()
        self.editor.setFocus()

    def find(self, *, backward: bool = False, from_start: bool = False, text: str | None = None) -> bool:
        """Select the next (previous) match, wrapping around the end (start); False when there is none."""
        if text is not None and text != self.field.text():
            self.field.blockSignals(True)
            self.field.setText(text)
            self.field.blockSignals(False)
        text = self.field.text()
        if not text:
            self.status.setText("")
            return False
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        if from_start:
            cursor = self.editor.textCursor()
            cursor.setPosition(cursor.selectionStart())
            self.editor.setTextCursor(cursor)
        found = self.editor.find(text, flags)
        if not found:  # wrap around
            cursor = self.editor.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start)
            self.editor.setTextCursor(cursor)
            found = self.editor.find(text, flags)
        self.status.setText("" if found else "not found")
        self.found.emit(found)
        return found
