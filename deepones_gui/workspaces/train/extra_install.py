"""Train's one-click install of what training needs (the [train] extra) into the execution environment.

Shown only when that environment lacks a module the built-in trainer imports; pip runs off the GUI
thread with its output in a log and a Cancel that stops it (:func:`backend.train.launch.install_train_extra`).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from deepones_gui.concurrent import run_in_background


def _missing(interpreter: str, *, progress, partial, cancel) -> list[str]:
    from backend.train.launch import missing_modules

    return missing_modules(interpreter)


def _install(interpreter: str, stop: threading.Event, *, progress, partial, cancel) -> list[str]:
    from backend.train.launch import install_train_extra

    return install_train_extra(interpreter, on_line=partial, cancel=stop)


class TrainExtraInstall(QWidget):
    ready = Signal()  # the environment has what training needs (after a check or an install)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.interpreter = ""
        self.missing: list[str] = []
        self._stop: threading.Event | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #9a6700;")
        self.install_button = QPushButton("Install the train extra")
        self.install_button.clicked.connect(self.install)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.message, 1)
        row.addWidget(self.install_button)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setMaximumHeight(110)
        self.log.hide()
        lay.addWidget(self.log)
        self.hide()

    def check(self, interpreter: str) -> None:
        """Ask ``interpreter`` (off the GUI thread) what it lacks; shows this row only when something is missing."""
        self.interpreter = interpreter
        if self._stop is None:
            run_in_background(
                _missing, interpreter, on_result=self._show_missing, on_error=self._check_failed, owner=self
            )

    def _check_failed(self, exc: BaseException, _tb: str) -> None:
        self.message.setText(f"⚠ Could not check the execution environment: {exc}")
        self.install_button.setEnabled(False)
        self.show()

    def _show_missing(self, missing: list[str]) -> None:
        from backend.train.launch import train_extra_requirements

        self.missing = list(missing)
        if not missing:
            self.hide()
            self.ready.emit()
            return
        packages = ", ".join(r.split(">")[0].split("=")[0] for r in train_extra_requirements())
        self.message.setText(
            f"⚠ Training needs {', '.join(missing)}, which the execution environment "
            f"({self.interpreter}) lacks. Install the train extra ({packages}) there with one click."
        )
        self.install_button.setEnabled(True)
        self.show()

    def install(self) -> None:
        if self._stop is not None or not self.interpreter:
            return
        self._stop = threading.Event()
        self.install_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.log.clear()
        self.log.show()
        run_in_background(
            _install,
            self.interpreter,
            self._stop,
            on_partial=self.log.appendPlainText,
            on_result=self._installed,
            on_error=self._failed,
            on_done=self._idle,
            owner=self,
        )

    def cancel(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self.message.setText("Cancelling pip…")

    def _installed(self, still_missing: list[str]) -> None:
        self.log.appendPlainText(
            "Installed." if not still_missing else f"Still missing: {', '.join(still_missing)}"
        )
        self._show_missing(still_missing)

    def _failed(self, exc: BaseException, _tb: str) -> None:
        self.message.setText(f"⚠ The install did not finish: {exc}")

    def _idle(self) -> None:
        self._stop = None
        self.cancel_button.setEnabled(False)
        self.install_button.setEnabled(bool(self.missing))
