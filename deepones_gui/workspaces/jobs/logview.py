"""A job's output: ANSI colours, follow mode, search (the shared find bar), wrap, jump to the first traceback.

The view keeps at most ``MAX_BLOCKS`` lines (older ones scroll out) so an output flood cannot
freeze the window; the complete capped log stays in the job dir ("Open folder").
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from deepones_gui.widgets.find_bar import FindBar

MAX_BLOCKS = 20000
ANSI = re.compile(r"\x1b\[([0-9;]*)m")
OTHER_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-ln-z]|\x1b\][^\x07]*\x07")
TRACEBACK = "Traceback (most recent call last)"
COLOURS = {30: "#000000", 31: "#c62828", 32: "#2e7d32", 33: "#b58900", 34: "#1565c0", 35: "#8e24aa", 36: "#00838f",
           37: "#666666", 90: "#777777", 91: "#e53935", 92: "#43a047", 93: "#c9a000", 94: "#1e88e5", 95: "#ab47bc",
           96: "#00acc1", 97: "#999999"}


def ansi_segments(text: str, state: dict) -> list[tuple[str, dict]]:
    """Split ``text`` into (plain text, style) pieces; ``state`` carries the style across chunks."""
    text = OTHER_ESCAPES.sub("", text)
    out, pos = [], 0
    for m in ANSI.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], dict(state)))
        codes = [int(c) for c in m.group(1).split(";") if c.isdigit()] or [0]
        for code in codes:
            if code == 0:
                state.clear()
            elif code == 1:
                state["bold"] = True
            elif code == 22:
                state.pop("bold", None)
            elif code in COLOURS:
                state["fg"] = COLOURS[code]
            elif code == 39:
                state.pop("fg", None)
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], dict(state)))
    return out


class LogView(QWidget):
    def __init__(self, parent: QWidget | None = None, *, error_stream: bool = False) -> None:
        super().__init__(parent)
        self.error_stream = error_stream
        self._style: dict = {}
        self._pending_cr = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        self.follow = QCheckBox("Follow")
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep the newest output in view")
        bar.addWidget(self.follow)
        self.wrap = QCheckBox("Wrap")
        self.wrap.setToolTip("Wrap long lines instead of scrolling sideways")
        self.wrap.toggled.connect(self.set_wrap)
        bar.addWidget(self.wrap)
        self.tb_button = QToolButton()
        self.tb_button.setText("First traceback")
        self.tb_button.setToolTip("Jump to the first Python traceback")
        self.tb_button.clicked.connect(self.jump_to_traceback)
        bar.addWidget(self.tb_button)
        lay.addLayout(bar)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_BLOCKS)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(9.5)
        self.text.setFont(mono)
        lay.addWidget(self.text, 1)
        self.find_bar = FindBar(self.text, closable=False, incremental=False,
                                placeholder="Search the log")
        self.search_tip = "Enter: next match, Shift+Enter: previous (wraps around)"
        self.find_bar.field.setToolTip(self.search_tip)
        self.find_bar.found.connect(self._found)
        self.search = self.find_bar.field
        self.status = self.find_bar.status
        bar.insertWidget(1, self.find_bar, 1)
        self.text.verticalScrollBar().valueChanged.connect(self._scrolled)

    def _scrolled(self, value: int) -> None:
        bar = self.text.verticalScrollBar()
        # Scrolling up pauses follow mode; scrolling back to the end resumes it.
        if value < bar.maximum() - 2 and self.text.hasFocus():
            self.follow.setChecked(False)
        elif value >= bar.maximum():
            self.follow.setChecked(True)

    def clear(self) -> None:
        self.text.clear()
        self._style = {}
        self.status.setText("")

    def append_text(self, chunk: str) -> None:
        """Append raw program output (ANSI colours applied; ``\\r`` redraws collapse to their last state)."""
        if not chunk:
            return
        # Progress bars redraw a line with '\r': keep only the last state of each such line.
        chunk = re.sub(r"[^\n]*\r(?!\n)", "", chunk.replace("\r\n", "\n"))
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        base = QTextCharFormat()
        if self.error_stream:
            base.setForeground(QColor("#8a1c1c"))
        for text, style in ansi_segments(chunk, self._style):
            fmt = QTextCharFormat(base)
            if "fg" in style:
                fmt.setForeground(QColor(style["fg"]))
            if style.get("bold"):
                fmt.setFontWeight(QFont.Weight.Bold)
            cursor.insertText(text, fmt)
        if self.follow.isChecked():
            bar = self.text.verticalScrollBar()
            bar.setValue(bar.maximum())

    def plain_text(self) -> str:
        return self.text.toPlainText()

    def find(self, needle: str, backward: bool = False) -> bool:
        return self.find_bar.find(backward=backward, text=needle)

    def _found(self, found: bool) -> None:
        if found:
            self.follow.setChecked(False)   # stay on the match

    def set_wrap(self, on: bool) -> None:
        if self.wrap.isChecked() != on:
            self.wrap.setChecked(on)
        mode = QPlainTextEdit.LineWrapMode.WidgetWidth if on else QPlainTextEdit.LineWrapMode.NoWrap
        self.text.setLineWrapMode(mode)

    def jump_to_traceback(self) -> bool:
        doc = self.text.document()
        cursor = doc.find(TRACEBACK)
        if cursor.isNull():
            self.status.setText("no traceback")
            return False
        self.follow.setChecked(False)
        self.text.setTextCursor(cursor)
        self.text.centerCursor()
        self.status.setText(f"traceback at line {cursor.blockNumber() + 1}")
        return True

    def has_traceback(self) -> bool:
        return not self.text.document().find(TRACEBACK).isNull()
