"""A non-modal banner, shown once after an abrupt end of the previous run: what was interrupted,
each with a button that carries on in place. Dismissing it (or acting on every item) hides it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from backend.recovery import InterruptedWork

STYLE = ("QFrame#RecoveryBanner { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; }"
         "QFrame#RecoveryBanner QLabel { background: transparent; }")


class RecoveryBanner(QFrame):
    """One row per interrupted item: its description and an action button."""

    resume_requested = Signal(object)   # InterruptedWork

    def __init__(self, items: list[InterruptedWork], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RecoveryBanner")
        self.setStyleSheet(STYLE)
        self.items = list(items)
        self.buttons: list[QPushButton] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        lay.setSpacing(4)
        head = QHBoxLayout()
        n = len(self.items)
        self.headline = QLabel(f"<b>DeepOnes Studio stopped unexpectedly last time.</b> "
                               f"{n} unfinished item{'s' if n != 1 else ''} can be carried on:")
        self.headline.setWordWrap(True)
        head.addWidget(self.headline, 1)
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setToolTip("Hide this; nothing is lost (unanswered chats keep their Retry)")
        self.dismiss.clicked.connect(self.hide)
        head.addWidget(self.dismiss)
        lay.addLayout(head)
        for item in self.items:
            lay.addLayout(self._row(item))

    def _row(self, item: InterruptedWork) -> QHBoxLayout:
        row = QHBoxLayout()
        text = QLabel(f"• {item.title} — {item.detail}" if item.detail else f"• {item.title}")
        text.setWordWrap(True)
        row.addWidget(text, 1)
        button = QPushButton(item.action)
        button.clicked.connect(self._resume_handler(item, button))
        self.buttons.append(button)
        row.addWidget(button)
        return row

    def _resume_handler(self, item: InterruptedWork, button: QPushButton) -> Callable[[], None]:
        def resume() -> None:
            button.setEnabled(False)   # each item is carried on once
            button.setText("Done")
            self.resume_requested.emit(item)
            if not any(b.isEnabled() for b in self.buttons):
                self.hide()
        return resume
