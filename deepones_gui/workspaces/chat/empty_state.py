"""What a new chat shows: a centred heading, what the designer does, and example questions.

The examples are word-wrapped cards rather than push buttons: a push button never wraps its text,
so a long example made the whole pane wider than the view and cut the intro text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

EXAMPLES = [
    "Propose a model for CIFAR-10 image classification: GPU memory ~8 GB, training time ~1 hour, inference < 10 ms.",
    "What block would improve a ResNet-18 on small, noisy datasets? Give PyTorch code.",
    "Recommend a learning rate and batch size for fine-tuning BERT-base on SST-2.",
]
MAX_WIDTH = 640
CARD_STYLE = ("QFrame#SuggestionCard { border: 1px solid palette(mid); border-radius: 8px; background: palette(base); }"
              "QFrame#SuggestionCard:hover, QFrame#SuggestionCard:focus { border: 1px solid palette(highlight); }")


class SuggestionCard(QFrame):
    """A clickable, keyboard-focusable card holding one wrapped example question."""

    clicked = Signal(str)

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = text
        self.setObjectName("SuggestionCard")
        self.setStyleSheet(CARD_STYLE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("Put this question in the input box")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        lay.addWidget(self.label)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit(self.text)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit(self.text)
            return
        super().keyPressEvent(event)


class ChatEmptyState(QWidget):
    suggestion_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        column = QWidget()
        column.setMaximumWidth(MAX_WIDTH)
        lay = QVBoxLayout(column)
        lay.setSpacing(10)
        lay.addStretch(1)
        self.heading = QLabel("<h2>Chat with your designer model</h2>")
        self.heading.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.heading)
        self.intro = QLabel("Describe a task, a dataset and your limits; the designer proposes an architecture, "
                            "code and hyperparameters. Answers can be sent to Design.")
        self.intro.setWordWrap(True)
        self.intro.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.intro)
        lay.addSpacing(6)
        self.cards = []
        for text in EXAMPLES:
            card = SuggestionCard(text)
            card.clicked.connect(self.suggestion_chosen)
            self.cards.append(card)
            lay.addWidget(card)
        lay.addStretch(2)
        outer.addStretch(1)
        outer.addWidget(column, 100)
        outer.addStretch(1)
