"""The detail pane: the rendered sample, review buttons, note, edit and edit history."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from backend.datasets.schema import CATEGORIES, KINDS
from deepones_gui.widgets.flow_layout import FlowLayout
from deepones_gui.workspaces.data.render import sample_html
from deepones_gui.workspaces.data.render_provenance import paper_of_link

REVIEW_BUTTONS = (
    ("accepted", "✔ Accept", "A", "#2e7d32"),
    ("rejected", "✘ Reject", "R", "#c62828"),
    ("needs-fix", "✎ Needs fix", "F", "#b26a00"),
    ("unreviewed", "↺ Reset", "U", "#546e7a"),
)


BUTTON_PADDING = 28   # frame + 8 px padding each side + breathing room


class EditDialog(QDialog):
    """Edit the text fields of one sample; the page records each changed field as an undoable edit."""

    def __init__(self, sample: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit sample #{sample['id']}")
        self.resize(720, 560)
        form = QFormLayout(self)
        self.kind = QComboBox()
        self.kind.addItems(KINDS)
        self.kind.setCurrentText(sample["kind"])
        self.category = QComboBox()
        self.category.setEditable(True)
        self.category.addItems(CATEGORIES)
        self.category.setCurrentText(sample["category"])
        self.fields: dict[str, QPlainTextEdit] = {}
        form.addRow("Kind", self.kind)
        form.addRow("Category", self.category)
        for name in ("instruction", "input", "output"):
            edit = QPlainTextEdit(sample.get(name) or "")
            edit.setMinimumHeight(60 if name == "input" else 120)
            self.fields[name] = edit
            form.addRow(name.capitalize(), edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.original = sample

    def changes(self) -> dict[str, str]:
        new = {"kind": self.kind.currentText(), "category": self.category.currentText().strip()}
        new.update({k: e.toPlainText() for k, e in self.fields.items()})
        return {k: v for k, v in new.items() if v != (self.original.get(k) or "")}


class DetailPane(QWidget):
    statusRequested = Signal(str)
    tagRequested = Signal()
    noteSubmitted = Signal(str)
    editRequested = Signal()
    paperFilterRequested = Signal(str)   # a provenance link: show only this paper's samples

    def __init__(self) -> None:
        super().__init__()
        self.sample: dict | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        # Wraps in a narrow pane: four buttons side by side made the Data page (and the window) wider than a laptop screen.
        buttons = FlowLayout()
        self.review_buttons: dict[str, QPushButton] = {}
        for status, text, key, colour in REVIEW_BUTTONS:
            text = f"{text}  {key}"   # the key beside the label it applies, as Argilla shows it
            button = QPushButton(text)
            button.setToolTip(f"Mark the selected samples {status} (key {key} in the table)")
            button.setStyleSheet(f"QPushButton {{ color: {colour}; font-weight: bold; padding: 3px 8px; }}")
            bold = button.font()
            bold.setBold(True)
            # Bold text is wider than the font the style measures with: size for the bold text.
            button.setMinimumWidth(QFontMetrics(bold).horizontalAdvance(text) + BUTTON_PADDING)
            button.clicked.connect(lambda _=False, s=status: self.statusRequested.emit(s))
            buttons.add(button)
            self.review_buttons[status] = button
        layout.addLayout(buttons)
        # At least one review button wide (they wrap below each other): with no minimum the splitter gave
        # the pane 0 px at 1280 wide, and the review buttons and the sample were not on screen at all.
        self.setMinimumWidth(max(b.minimumWidth() for b in self.review_buttons.values()) + 24)
        tools = QHBoxLayout()
        self.tag_button = QPushButton("Tag…  (T)")
        self.tag_button.clicked.connect(self.tagRequested)
        self.edit_button = QPushButton("Edit…  (E)")
        self.edit_button.clicked.connect(self.editRequested)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note (N), Enter to save")
        self.note.returnPressed.connect(lambda: self.noteSubmitted.emit(self.note.text()))
        tools.addWidget(self.tag_button)
        tools.addWidget(self.edit_button)
        tools.addStretch(1)
        layout.addLayout(tools)
        # A row of its own: beside the two buttons the pane's width left it ~70 px, and a saved note
        # showed as "Distractors B".
        layout.addWidget(self.note)
        split = QSplitter(Qt.Orientation.Vertical)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._link)
        split.addWidget(self.browser)
        history_box = QWidget()
        hl = QVBoxLayout(history_box)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(QLabel("Edit history"))
        self.history = QListWidget()
        self.history.setWordWrap(True)
        hl.addWidget(self.history)
        split.addWidget(history_box)
        split.setSizes([600, 110])
        split.setStretchFactor(0, 1)
        layout.addWidget(split, 1)
        self.show_sample(None)

    def _link(self, url) -> None:
        paper = paper_of_link(url.toString())
        if paper:
            self.paperFilterRequested.emit(paper)

    def show_sample(self, sample: dict | None, history: list[dict] | None = None,
                    highlight: list[str] | None = None) -> None:
        self.sample = sample
        enabled = sample is not None
        for button in (*self.review_buttons.values(), self.tag_button, self.edit_button, self.note):
            button.setEnabled(enabled)
        self.history.clear()
        if sample is None:
            self.browser.setHtml("<p style='color:#777; margin:24px'>Select a sample to see it here.<br><br>"
                                 "Keys in the table: <b>A</b> accept · <b>R</b> reject · <b>F</b> needs fix · "
                                 "<b>U</b> reset · <b>T</b> tag · <b>N</b> note · <b>E</b> edit · "
                                 "<b>J/K</b> next/previous · <b>Ctrl+Z</b> undo</p>")
            self.note.clear()
            return
        self.browser.setHtml(sample_html(sample, highlight))
        if not self.note.hasFocus():
            self.note.setText(sample.get("note") or "")
            self.note.setCursorPosition(0)
        for h in history or []:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(h["at"]))
            old = (h["old"] or "").replace("\n", " ")[:60]
            new = (h["new"] or "").replace("\n", " ")[:60]
            self.history.addItem(f"{when}  {h['field']}: “{old}” → “{new}”")
        if not history:
            self.history.addItem("No edits yet")
