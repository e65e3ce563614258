"""A code editor built on QPlainTextEdit: Pygments highlighting, line numbers, find bar (the shared
:mod:`deepones_gui.widgets.find_bar`), undo.

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
    QTextFormat,
)
from PySide6.QtWidgets import (
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from deepones_gui.widgets.find_bar import FindBar
from deepones_gui.widgets.highlight import PythonHighlighter


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
        self._marked_code = ""
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._highlight_lines)
        # The marked line is the traceback's, for the code that ran: once the text changes it may point
        # at another line, so any edit clears it (no stale error highlight on replaced code).
        self.document().contentsChange.connect(self._text_edited)
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
        self._marked_code = self.toPlainText()
        self.setTextCursor(QTextCursor(block))
        self.centerCursor()
        self._highlight_lines()
        self.gutter.update()
        self.setFocus()

    def clear_mark(self) -> None:
        if self._marked_line is not None:
            self._marked_line = None
            self._highlight_lines()
            self.gutter.update()

    def _text_edited(self, *_args) -> None:
        # Compared by text: the syntax highlighter's format passes also report a "change".
        if self._marked_line is not None and self.toPlainText() != self._marked_code:
            self.clear_mark()

    def marked_line(self) -> int | None:
        return self._marked_line

    def current_line(self) -> int:
        return self.textCursor().blockNumber() + 1

    def set_code(self, code: str) -> None:
        """Replace the text (a new document state, so Undo cannot undo past a loaded version)."""
        self.setPlainText(code)
        self.clear_mark()


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
