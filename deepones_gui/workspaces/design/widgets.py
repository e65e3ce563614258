"""Small views of the Design workspace: the stage rail, run output with tracebacks, a code diff."""

from __future__ import annotations

import difflib

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap, QTextCursor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPlainTextEdit, QWidget

from backend.pipeline.controller import NEXT  # rail item data for "the next stage, not run yet"
from backend.pipeline.state import STAGE_TITLES, Step
from deepones_gui.widgets.code_editor import monospace_font
from deepones_gui.widgets.highlight import DiffHighlighter, TracebackHighlighter, frame_line

STATUS_STYLE = {  # status -> (colour, glyph)
    "pending": ("#9ca3af", "○"),
    "running": ("#2563eb", "…"),
    "done": ("#16a34a", "✓"),
    "partial": ("#d97706", "!"),   # done, but with a caveat (e.g. no hyperparameter could be read)
    "succeeded": ("#16a34a", "✓"),
    "failed": ("#dc2626", "✗"),
    "error": ("#dc2626", "!"),
    "stopped": ("#d97706", "■"),
    "interrupted": ("#d97706", "■"),
}
# The stage title an item stands for ("Debug 2"): the header reads it from the selected item, so the
# header and the rail never disagree (one source of truth for the selected step).
TITLE_ROLE = Qt.ItemDataRole.UserRole + 1


def next_title(stage: str, next_attempt: int) -> str:
    return STAGE_TITLES[stage] + (f" {next_attempt}" if stage == "debug" else "")
MAX_LINE = 2000  # Qt lays out a 200,000-character line for seconds: longer lines are cut for display


def display_log(text: str) -> str:
    """A log as a terminal shows it: carriage-return redraws (tqdm) keep their last state; huge lines cut."""
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            parts = [p for p in line.split("\r") if p]
            line = parts[-1] if parts else ""
        if len(line) > MAX_LINE:
            line = f"{line[:MAX_LINE]} … [{len(line) - MAX_LINE:,} more characters]"
        lines.append(line)
    return "\n".join(lines)


def status_icon(status: str, size: int = 18) -> QIcon:
    colour, glyph = STATUS_STYLE.get(status, ("#9ca3af", "?"))
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.setPen(QColor("white"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(size - 6)
    painter.setFont(font)
    painter.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, glyph)
    painter.end()
    return QIcon(pix)


class StageRail(QListWidget):
    """Propose, Improve, Implement, Debug 1..n, Hyperparameters, Final run, each with a status icon."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StageRail")
        self.setIconSize(QSize(18, 18))
        self.setMinimumWidth(170)
        self.setStyleSheet("QListWidget#StageRail::item { padding: 6px 4px; }")

    def show_branch(self, steps: list[Step], next_stage: str | None, next_attempt: int, planned: list[str]) -> None:
        """The branch's steps, then (``next_stage``) the one not run yet, then the ``planned`` ones greyed."""
        self.blockSignals(True)
        self.clear()
        for step in steps:
            label = step.title
            if step.score is not None:
                label += f"  ({step.score:g})"
            elif step.error_type:
                label += f"  · {step.error_type}"
            elif step.unfinished:
                label += f"  · {step.status}"
            # Done with an error type (a hyperparameters answer with no values) is not a green success.
            shown_status = "partial" if step.status == "done" and step.error_type else step.status
            item = QListWidgetItem(status_icon(shown_status), label)
            item.setData(Qt.ItemDataRole.UserRole, step.id)
            item.setData(TITLE_ROLE, step.title)
            tip = f"{step.title}: {step.status}" + (f", {step.error_type}" if step.error_type else "")
            item.setToolTip(tip + (f"\n{step.why_stopped}" if step.unfinished else ""))
            self.addItem(item)
        if next_stage is not None:
            title = next_title(next_stage, next_attempt)
            item = QListWidgetItem(status_icon("pending"), f"{title}  — next")
            item.setData(Qt.ItemDataRole.UserRole, NEXT)
            item.setData(TITLE_ROLE, title)
            item.setToolTip("Not run yet: its prompt is shown for editing before it is sent")
            self.addItem(item)
        for stage in planned:  # later stages, greyed out, so the whole pipeline is visible
            later = QListWidgetItem(status_icon("pending"), STAGE_TITLES[stage])
            later.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(later)
        self.blockSignals(False)

    def select_data(self, value: int) -> None:
        for row in range(self.count()):
            if self.item(row).data(Qt.ItemDataRole.UserRole) == value:
                self.setCurrentRow(row)
                return

    def selected_data(self) -> int | None:
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def selected_title(self) -> str:
        item = self.currentItem()
        return (item.data(TITLE_ROLE) or "") if item is not None else ""


class OutputView(QPlainTextEdit):
    """stdout + stderr of a run with the traceback highlighted; clicking a program frame jumps to it."""

    line_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(monospace_font())
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setPlaceholderText("The run's standard output and standard error appear here.")
        # Tracebacks carry long paths: wrap them in this narrow pane rather than scroll sideways.
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setMaximumBlockCount(20_000)  # live output of a long run stays light; the job dir has it all
        self.highlighter = TracebackHighlighter(self.document())
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)

    def show_run(self, stdout: str, stderr: str) -> None:
        parts = []
        if stdout:
            parts.append("── stdout ──\n" + display_log(stdout.rstrip()))
        if stderr:
            parts.append("── stderr ──\n" + display_log(stderr.rstrip()))
        self.setPlainText("\n\n".join(parts))
        # The exception is at the end of a traceback: show the end.
        self.moveCursor(QTextCursor.MoveOperation.End)
        self.ensureCursorVisible()
        self.horizontalScrollBar().setValue(0)

    def append_output(self, text: str) -> None:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(display_log(text))
        self.ensureCursorVisible()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and not self.textCursor().hasSelection():
            self.activate_line(self.cursorForPosition(event.position().toPoint()).blockNumber())

    def activate_line(self, block_number: int) -> int | None:
        """If text line ``block_number`` is a frame of the program, emit its line number."""
        line = frame_line(self.document().findBlockByNumber(block_number).text())
        if line is not None:
            self.line_activated.emit(line)
        return line


class DiffView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(monospace_font())
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setPlaceholderText("A debug attempt shows what changed since the previous attempt here.")
        self.highlighter = DiffHighlighter(self.document())

    def show_diff(self, before: str, after: str, before_name: str, after_name: str) -> None:
        diff = difflib.unified_diff(before.splitlines(), after.splitlines(), before_name, after_name, lineterm="", n=3)
        self.setPlainText("\n".join(diff) or "(no changes)")
