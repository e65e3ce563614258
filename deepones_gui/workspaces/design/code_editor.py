"""A code editor built on QPlainTextEdit: Pygments highlighting, line numbers, find bar, undo.

No maintained code-editor component exists for PySide6 (QScintilla's wheels are PyQt-only,
pyqode/qutepart target PyQt5), so this composes Qt's own text widget with Pygments.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeySequence,
    QPainter,
    QShortcut,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from deepones_gui.workspaces.design.highlight import PythonHighlighter


def monospace_font():
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(max(font.pointSize(), 10))
    return font


class _Gutter(QWidget):
    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802
        self.editor.paint_gutter(event)


class CodeEditor(QPlainTextEdit):
    """Python source with line numbers; ``go_to_line`` marks a line (e.g. from a traceback)."""

    def __init__(self, parent: QWidget | None = None, *, highlight: bool = True) -> None:
        super().__init__(parent)
        self.setFont(monospace_font())
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 4)
        self.gutter = _Gutter(self)
        self.highlighter = PythonHighlighter(self.document()) if highlight else None
        self._marked_line: int | None = None
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._highlight_lines)
        self._update_gutter_width()

    def gutter_width(self) -> int:
        digits = max(3, len(str(max(1, self.blockCount()))))
        return 10 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_gutter_width(self, *_args) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect, dy) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        cr = self.contentsRect()
        self.gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event) -> None:
        painter = QPainter(self.gutter)
        painter.fillRect(event.rect(), self.palette().alternateBase())
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        muted = self.palette().placeholderText().color()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                marked = self._marked_line == number + 1
                painter.setPen(QColor("#b91c1c") if marked else muted)
                painter.drawText(0, top, self.gutter.width() - 5, self.fontMetrics().height(),
                                 Qt.AlignmentFlag.AlignRight, str(number + 1))
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1

    def _highlight_lines(self) -> None:
        selections = []
        if not self.isReadOnly():
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(self.palette().alternateBase())
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            sel.cursor = self.textCursor()
            sel.cursor.clearSelection()
            selections.append(sel)
        if self._marked_line is not None:  # last, so it wins over the current-line shade
            block = self.document().findBlockByNumber(self._marked_line - 1)
            if block.isValid():
                sel = QTextEdit.ExtraSelection()
                sel.format.setBackground(QColor(254, 202, 202))
                sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                sel.cursor = QTextCursor(block)
                selections.append(sel)
        self.setExtraSelections(selections)

    def go_to_line(self, line: int) -> None:
        """Move the cursor to ``line`` (1-based), mark it, and scroll it into view."""
        block = self.document().findBlockByNumber(max(0, line - 1))
        if not block.isValid():
            return
        self._marked_line = line
        self.setTextCursor(QTextCursor(block))
        self.centerCursor()
        self._highlight_lines()
        self.gutter.update()
        self.setFocus()

    def current_line(self) -> int:
        return self.textCursor().blockNumber() + 1

    def set_code(self, code: str) -> None:
        """Replace the text (a new document state, so Undo cannot undo past a loaded version)."""
        self._marked_line = None
        self.setPlainText(code)


class FindBar(QWidget):
    """Ctrl+F: find forward (Enter) / backward (Shift+Enter) in a text edit; Esc closes."""

    def __init__(self, editor: QPlainTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.field = QLineEdit()
        self.field.setPlaceholderText("Find…")
        self.field.setClearButtonEnabled(True)
        self.status = QLabel()
        prev_btn, next_btn, close_btn = QToolButton(), QToolButton(), QToolButton()
        prev_btn.setText("▲")
        prev_btn.setToolTip("Previous (Shift+Enter)")
        next_btn.setText("▼")
        next_btn.setToolTip("Next (Enter)")
        close_btn.setText("✕")
        close_btn.setToolTip("Close (Esc)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self.field, 1)
        layout.addWidget(prev_btn)
        layout.addWidget(next_btn)
        layout.addWidget(self.status)
        layout.addWidget(close_btn)
        self.field.returnPressed.connect(lambda: self.find(backward=False))
        self.field.textChanged.connect(lambda: self.find(backward=False, from_start=True))
        prev_btn.clicked.connect(lambda: self.find(backward=True))
        next_btn.clicked.connect(lambda: self.find(backward=False))
        close_btn.clicked.connect(self.close_bar)
        QShortcut(QKeySequence("Shift+Return"), self.field, lambda: self.find(backward=True))
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
        self.hide()
        self.editor.setFocus()

    def find(self, *, backward: bool, from_start: bool = False) -> bool:
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
        return found


class CodePane(QWidget):
    """A titled code editor with its find bar; ``edited`` fires on user edits (not on set_code)."""

    edited = Signal(str)

    def __init__(self, placeholder: str = "", parent: QWidget | None = None, *, highlight: bool = True) -> None:
        super().__init__(parent)
        self.editor = CodeEditor(highlight=highlight)
        self.editor.setPlaceholderText(placeholder)
        self.find_bar = FindBar(self.editor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.find_bar)
        QShortcut(QKeySequence.StandardKey.Find, self, self.find_bar.open_bar,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._loading = False
        self.editor.textChanged.connect(self._changed)

    def _changed(self) -> None:
        if not self._loading:
            self.edited.emit(self.editor.toPlainText())

    def set_code(self, code: str) -> None:
        self._loading = True
        try:
            self.editor.set_code(code)
        finally:
            self._loading = False

    def code(self) -> str:
        return self.editor.toPlainText()

    def set_read_only(self, read_only: bool) -> None:
        self.editor.setReadOnly(read_only)
