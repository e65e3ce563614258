"""What the Design workspace shows before the first session: what a session is, and how to start one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class Welcome(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.addStretch(1)
        title = QLabel("Design a deep learning program, one stage at a time")
        title.setStyleSheet("font-size: 16pt; font-weight: 600;")
        text = QLabel(
            "A session follows the DeepBench pipeline: the designer proposes an architecture and improves it, "
            "the programmer implements it, the program runs on a small subset and is debugged until it scores, "
            "the designer picks hyperparameters, and the final program runs under the time limits.\n\n"
            "Every prompt is shown before it is sent and can be edited; every answer and program can be edited "
            "too, and any stage can be forked. The demo task trains on scikit-learn's digits on the CPU, offline.")
        text.setWordWrap(True)
        # At most 720 px for easy reading, narrower (more lines) in a small window: a fixed 720 px
        # made the Design page, and so the main window, too wide for a laptop screen.
        text.setMaximumWidth(720)
        title.setWordWrap(True)
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.new_btn = QPushButton("New session…")
        self.demo_btn = QPushButton("Start with the offline demo task")
        self.demo_btn.setToolTip("Digits classification with the models from Preferences (the embedded SmolLM2 by default)")
        for w in (title, text):
            # Centred by stretches, not by an alignment flag: an aligned label gets its size hint
            # and never wraps narrower, a stretched one follows the width it is given.
            line = QHBoxLayout()
            line.addStretch(0)
            line.addWidget(w, 1)
            line.addStretch(0)
            box.addLayout(line)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.demo_btn)
        row.addWidget(self.new_btn)
        row.addStretch(1)
        box.addSpacing(12)
        box.addLayout(row)
        box.addStretch(2)
