"""One cancellation type end to end: the GUI's pool task, a design run, a model call, a job.

A :class:`CancelToken` is a :class:`threading.Event` (so ``run_job(cancel=...)`` and any code
written against an Event take it) that also reads naturally (``token.cancel()``,
``token.cancelled``, ``if token:``) and can pass a cancel on at once: ``on_cancel(callback)``
runs ``callback`` when the token is set, so a Stop on a run reaches the model call inside it
before that call's first token, without polling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Cancelled(Exception):
    """Raised by work that noticed its token; reported as a cancel, not an error."""


class CancelToken(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self._callbacks: list[Callable[[], None]] = []
        self._callbacks_lock = threading.Lock()

    def set(self) -> None:
        super().set()
        with self._callbacks_lock:
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def cancel(self) -> None:
        self.set()

    @property
    def cancelled(self) -> bool:
        return self.is_set()

    def __bool__(self) -> bool:  # ``if cancel:`` reads naturally inside workers
        return self.is_set()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` when this token is cancelled (now, if it is already); returns a function
        that takes the callback off again (call it when the linked work has ended)."""
        with self._callbacks_lock:
            if not self.is_set():
                self._callbacks.append(callback)

                def remove() -> None:
                    with self._callbacks_lock:
                        if callback in self._callbacks:
                            self._callbacks.remove(callback)

                return remove
        callback()
        return lambda: None
