"""The stage view's buttons: Run stage, Accept and next, Run to the end, Stop, Run edited code, Fork.

A child widget that only says what was pressed (its signals) and shows what the session controller
allows (:meth:`show_actions` with :class:`backend.pipeline.controller.Actions`); the rules live there.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from backend.pipeline.controller import Actions


class StageButtons(QWidget):
    run = Signal()
    accept = Signal()
    run_all = Signal()
    stop = Signal()
    fork = Signal()
    run_code = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_btn = QPushButton("Run stage")
        self.accept_btn = QPushButton("Accept and next")
        self.run_all_btn = QPushButton("Run to the end")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop the model call or the run in progress (Esc)")
        self.fork_btn = QPushButton("Fork from here")
        self.fork_btn.setToolTip("Start a new branch after this stage; the current branch is kept")
        self.run_code_btn = QPushButton("Run edited code")
        self.run_code_btn.setToolTip("Validate the code in the editor as it is, without a model call")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for btn in (self.run_btn, self.accept_btn, self.run_all_btn, self.stop_btn):
            layout.addWidget(btn)
        layout.addStretch(1)
        layout.addWidget(self.run_code_btn)
        layout.addWidget(self.fork_btn)
        for btn, signal in (
            (self.run_btn, self.run),
            (self.accept_btn, self.accept),
            (self.run_all_btn, self.run_all),
            (self.stop_btn, self.stop),
            (self.fork_btn, self.fork),
            (self.run_code_btn, self.run_code),
        ):
            btn.clicked.connect(signal)
        self.show_actions(Actions())

    def show_actions(self, a: Actions) -> None:
        self.run_btn.setText(a.run_label)
        self.run_btn.setToolTip(a.run_tip)
        self.accept_btn.setToolTip(a.accept_tip)
        for btn, on in (
            (self.run_btn, a.run),
            (self.accept_btn, a.accept),
            (self.run_all_btn, a.run_all),
            (self.stop_btn, a.stop),
            (self.fork_btn, a.fork),
            (self.run_code_btn, a.run_code),
        ):
            btn.setEnabled(on)

    def disable_all(self) -> None:
        self.show_actions(Actions())
