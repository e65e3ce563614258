"""One message in the conversation: header (who, branch switcher, actions), Markdown body, footer.

Assistant footers show time to first token and tokens/s; failed answers show the error with a
Retry button; a note says when old turns were left out to fit the context window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from backend.llm.conversations import ChatMessage
from backend.llm.degenerate import RETRY_LABEL, is_loop_stop
from backend.llm.model_spec import ModelSpec
from deepones_gui.context import describe_model
from deepones_gui.workspaces.chat.markdown_view import MarkdownView

USER_BG = "#eef4ff"
ASSISTANT_BG = "#ffffff"
ERROR_BG = "#fff1f0"


def stats_text(ttft_ms: float | None, tokens_per_s: float | None, completion_tokens: int | None,
               prompt_tokens: int | None = None) -> str:
    parts = []
    if ttft_ms is not None:
        parts.append(f"TTFT {ttft_ms:.0f} ms")
    if tokens_per_s:
        parts.append(f"{tokens_per_s:.1f} tokens/s")
    if completion_tokens:
        parts.append(f"{completion_tokens} tokens")
    if prompt_tokens:
        parts.append(f"prompt {prompt_tokens}")
    return " · ".join(parts)


def _small_button(text: str, tip: str) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setAutoRaise(True)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    return b


class MessageWidget(QFrame):
    edit_requested = Signal(int)          # user message id
    regenerate_requested = Signal(int)    # assistant message id
    retry_requested = Signal(int)         # failed assistant message id
    branch_requested = Signal(int)        # sibling message id to show
    send_to_design = Signal(dict)
    compare_requested = Signal(str)       # a user prompt to ask several designers at once (Design's board)
    check_code = Signal(str)              # a code block's "Check"

    def __init__(self, role: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.message: ChatMessage | None = None
        self.setObjectName("message")
        self._set_background(USER_BG if role == "user" else ASSISTANT_BG)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 6, 12, 8)
        lay.setSpacing(4)

        head = QHBoxLayout()
        head.setSpacing(2)
        self.who = QLabel(f"<b>{title}</b>")
        head.addWidget(self.who)
        self.prev_branch = _small_button("‹", "Previous alternative")
        self.branch_label = QLabel()
        self.branch_label.setStyleSheet("color: palette(dark);")
        self.next_branch = _small_button("›", "Next alternative")
        for w in (self.prev_branch, self.branch_label, self.next_branch):
            head.addWidget(w)
            w.hide()
        self.prev_branch.clicked.connect(lambda: self._switch(-1))
        self.next_branch.clicked.connect(lambda: self._switch(+1))
        head.addStretch(1)
        self.copy_button = _small_button("Copy", "Copy the whole message")
        self.copy_button.clicked.connect(self._copy_all)
        head.addWidget(self.copy_button)
        if role == "user":
            self.edit_button = _small_button("Edit", "Edit this message and send it again (the old branch is kept)")
            self.edit_button.clicked.connect(lambda: self.message and self.edit_requested.emit(self.message.id))
            head.addWidget(self.edit_button)
            self.compare_button = _small_button("Compare", "Ask for several proposals for this prompt at once and "
                                                "compare them side by side (Design's proposal board)")
            self.compare_button.clicked.connect(lambda: self.body.text.strip() and
                                                self.compare_requested.emit(self.body.text))
            head.addWidget(self.compare_button)
        else:
            self.design_button = _small_button("Send to Design", "Send this answer's text and code to Design")
            self.design_button.clicked.connect(self._send_all)
            self.regen_button = _small_button("Regenerate", "Ask again (the old answer is kept as an alternative)")
            self.regen_button.clicked.connect(
                lambda: self.message and self.regenerate_requested.emit(self.message.id))
            head.addWidget(self.design_button)
            head.addWidget(self.regen_button)
        lay.addLayout(head)

        self.body = MarkdownView()
        self.body.send_code.connect(lambda code: self.send_to_design.emit({"text": "", "code": code}))
        self.body.check_code.connect(self.check_code)
        lay.addWidget(self.body)

        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #9a6700;")
        self.note.hide()
        lay.addWidget(self.note)

        foot = QHBoxLayout()
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color: #b42318;")
        self.error.hide()
        foot.addWidget(self.error, 1)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setToolTip("Ask the model again")
        self.retry_button.clicked.connect(lambda: self.message and self.retry_requested.emit(self.message.id))
        self.retry_button.hide()
        foot.addWidget(self.retry_button)
        self.stats = QLabel()
        self.stats.setStyleSheet("color: palette(dark); font-size: 9pt;")
        foot.addWidget(self.stats, 0, Qt.AlignmentFlag.AlignRight)
        if role == "user":
            self.stats.hide()
        lay.addLayout(foot)

    def _set_background(self, colour: str) -> None:
        self.setStyleSheet(f"QFrame#message {{ background: {colour}; border: 1px solid #d0d7de; border-radius: 10px; }}")

    # -- state ------------------------------------------------------------------------------------
    def set_message(self, message: ChatMessage) -> None:
        self.message = message
        self.body.set_text(message.content)
        n = len(message.sibling_ids)
        for w in (self.prev_branch, self.branch_label, self.next_branch):
            w.setVisible(n > 1)
        if n > 1:
            i = message.branch_index
            self.branch_label.setText(f"{i + 1}/{n}")
            self.prev_branch.setEnabled(i > 0)
            self.next_branch.setEnabled(i < n - 1)
        if self.role == "assistant":
            if ModelSpec.parse(message.model or "").is_replay:
                # Replayed text arrives instantly: its speed says nothing about a model.
                self.stats.setText(f"replayed · {message.completion_tokens or 0} tokens")
            else:
                self.stats.setText(stats_text(message.ttft_ms, message.tokens_per_s, message.completion_tokens,
                                              message.prompt_tokens))
            model = describe_model(message.model or "")
            self.stats.setToolTip(f"Model: {model}")
            if message.dropped_messages:
                self.show_note(f"{message.dropped_messages} earlier message(s) were left out to fit the "
                               "context window.")
        if message.error:
            self.show_error(message.error, retryable=True)
            if is_loop_stop(message.error):
                self.retry_button.setText(RETRY_LABEL)
                self.retry_button.setToolTip("Ask again with a stronger repeat penalty and a higher temperature")
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        for name in ("edit_button", "regen_button", "design_button"):
            button = getattr(self, name, None)
            if button is not None:
                button.setEnabled(not busy and self.message is not None)
        self.retry_button.setEnabled(not busy)

    def show_note(self, text: str) -> None:
        self.note.setText("⚠ " + text)
        self.note.show()

    def show_error(self, text: str, retryable: bool = True) -> None:
        self._set_background(ERROR_BG)
        self.error.setText(text)
        self.error.show()
        self.retry_button.setVisible(True)
        self.retry_button.setToolTip("Ask the model again" if retryable else
                                     "This may fail again until the cause is fixed")
        if self.role == "assistant":
            self.regen_button.hide()

    def append_text(self, text: str) -> None:
        self.body.append(text)

    def _switch(self, step: int) -> None:
        if self.message is None:
            return
        i = self.message.branch_index + step
        if 0 <= i < len(self.message.sibling_ids):
            self.branch_requested.emit(self.message.sibling_ids[i])

    def _copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self.body.text)

    def _send_all(self) -> None:
        text = self.body.text
        from backend.pipeline.extract import fenced_program

        code = fenced_program(text).rstrip("\n")   # the program the Design pipeline reads from it
        self.send_to_design.emit({"text": text, "code": code})
