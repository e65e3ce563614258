"""Saving what the user types, debounced: each edit becomes a new version in the store.

Typing queues a save under a key (the same key replaces the older save); the queue is written
after a pause, and at once before anything else reads or changes the session (flush). What is
saved where is the session controller's rule (:class:`backend.pipeline.controller.DesignSession`);
this is only the timer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)
SAVE_DELAY_MS = 700


class EditQueue(QObject):
    def __init__(self, on_failure: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: dict[tuple, tuple[Callable, tuple]] = {}
        self._on_failure = on_failure
        self._timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._timer.timeout.connect(self.flush)

    def queue(self, key: tuple, fn: Callable, *args) -> None:
        self._pending[key] = (fn, args)
        self._timer.start()

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for fn, args in pending.values():
            try:
                fn(*args)
            except Exception:
                log.exception("saving an edit failed")
                self._on_failure()
