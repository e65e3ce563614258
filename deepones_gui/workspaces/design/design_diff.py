"""Two designs against each other: the proposal text, the model code and the diagrams, differences marked.

Shows a :class:`backend.ideation.compare.DesignDiff` (A_I against A_B, or any two cards). The code
and text use Traces' side-by-side view; the diagrams are the model check's drawings
(:func:`backend.ideation.diagram.diff` marks what was added, removed or changed).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from backend.ideation.compare import DesignDiff
from deepones_gui.workspaces.traces.diff_view import SideBySideDiff


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: palette(placeholder-text); padding: 24px;")
    return label


class DesignDiffDialog(QDialog):
    def __init__(
        self,
        diff: DesignDiff,
        before_diagram: dict | None,
        after_diagram: dict | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.diff = diff
        self.setWindowTitle(f"{diff.before.label} → {diff.after.label}")
        self.resize(1100, 680)
        self.tabs = QTabWidget()
        self.text_view = SideBySideDiff()
        self.text_view.show_rows(diff.text_rows, diff.before.label, diff.after.label)
        self.tabs.addTab(self.text_view, f"Proposal ({_lines(diff.text_changes)} changed)")
        if diff.code_rows is not None:
            self.code_view = SideBySideDiff()
            self.code_view.show_rows(diff.code_rows, diff.before.label, diff.after.label)
            self.tabs.addTab(self.code_view, f"Model code ({_lines(diff.code_changes or 0)} changed)")
        else:
            missing = [v.label for v in (diff.before, diff.after) if not v.code.strip()]
            self.code_view = _note(
                "No code to compare yet: "
                + " and ".join(missing)
                + (" has" if len(missing) == 1 else " have")
                + " not been implemented."
            )
            self.tabs.addTab(self.code_view, "Model code")
        self.unified = QPlainTextEdit()
        self.unified.setReadOnly(True)
        from deepones_gui.widgets.code_editor import monospace_font

        self.unified.setFont(monospace_font())
        self.unified.setPlainText(
            (diff.unified_text() + "\n" + diff.unified_code()).strip() or "(no differences)"
        )
        self.tabs.addTab(self.unified, "Unified")
        self.tabs.addTab(self._diagrams(before_diagram, after_diagram), "Diagrams")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)

    def _diagrams(self, before: dict | None, after: dict | None) -> QWidget:
        if not before or not after:
            return _note(
                "The diagrams appear here once both designs have been checked (the check draws the "
                "model from a traced forward pass)."
            )
        from backend.ideation.diagram import diff, diff_summary
        from deepones_gui.ideation.diagram_view import DiagramPair

        self.marks = diff_summary(*diff(before, after, 1))
        box = QWidget()
        lay = QVBoxLayout(box)
        counts = ", ".join(f"{len(ids)} {mark}" for mark, ids in self.marks.items())
        lay.addWidget(QLabel(f"Top-level modules: {counts} (added green, removed red, changed amber)"))
        self.diagram_pair = DiagramPair()
        self.diagram_pair.set_pair(before, after, (self.diff.before.label, self.diff.after.label))
        lay.addWidget(self.diagram_pair, 1)
        return box
