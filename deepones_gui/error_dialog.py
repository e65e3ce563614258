"""A non-modal dialog for unexpected exceptions: the app keeps running, details can be copied."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from backend.logsetup import redact

log = logging.getLogger("deepones.gui")


class ErrorDialog(QDialog):
    def __init__(self, summary: str, details: str, log_path: Path | None, parent: QWidget | None = None):
        # Imported here: ``Qt``'s enum set-up costs ~30 ms, and the hook is installed at start-up.
        from PySide6.QtCore import Qt

        super().__init__(parent)
        self.setWindowTitle("DeepOnes Studio: unexpected error")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(640, 380)
        self.details = redact(details)
        layout = QVBoxLayout(self)
        head = QLabel(
            f"<b>Something went wrong:</b> {summary}<br>"
            "The app is still running; your work has not been lost."
            + (f"<br>Log file: <code>{log_path}</code>" if log_path else "")
        )
        head.setWordWrap(True)
        head.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(head)
        text = QPlainTextEdit(self.details)
        text.setReadOnly(True)
        layout.addWidget(text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy details")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.details))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)


class _Relay(QObject):
    # Exceptions from worker threads are relayed to the GUI thread through a queued signal.
    raised = Signal(str, str)


class ExceptionHook:
    """Installs sys/threading excepthooks that log and show an :class:`ErrorDialog`."""

    def __init__(self, log_path: Path | None, parent_getter=lambda: None) -> None:
        self.log_path = log_path
        self.parent_getter = parent_getter
        self.dialogs: list[ErrorDialog] = []
        self._relay = _Relay()
        self._relay.raised.connect(self._show)
        self._old_hook = sys.excepthook
        sys.excepthook = self._hook
        threading.excepthook = lambda a: self._hook(a.exc_type, a.exc_value, a.exc_traceback)

    def _hook(self, etype, value, tb) -> None:
        if issubclass(etype, KeyboardInterrupt):
            self._old_hook(etype, value, tb)
            return
        details = "".join(traceback.format_exception(etype, value, tb))
        log.error("unexpected exception\n%s", details)
        self._relay.raised.emit(f"{etype.__name__}: {value}", details)

    def _show(self, summary: str, details: str) -> None:
        dlg = ErrorDialog(summary, details, self.log_path, self.parent_getter())
        self.dialogs = [d for d in self.dialogs if d.isVisible()] + [dlg]
        dlg.show()

    def uninstall(self) -> None:
        sys.excepthook = self._old_hook
        threading.excepthook = threading.__excepthook__
