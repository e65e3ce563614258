"""Run plain functions off the GUI thread with progress, partial results and Cancel (after Orange3).

The function is ordinary Python that knows nothing of Qt: it receives ``progress(fraction, text)``
and a ``cancel`` token it should check now and then. Results come back on the GUI thread as
signals, so views just connect callbacks.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

# One cancellation type end to end: the token a task gets is the one a design run, a model call
# and a job take (backend.cancel), so a Cancel reaches all of them.
from backend.cancel import Cancelled, CancelToken

__all__ = ["BackgroundTask", "CancelToken", "Cancelled", "run_in_background", "shared_pool",
           "wait_for_background_tasks"]


class TaskSignals(QObject):
    progress = Signal(float, str)
    partial = Signal(object)
    finished = Signal(object)
    failed = Signal(object, str)   # exception, formatted traceback
    cancelled = Signal()
    done = Signal()                # always last, whatever happened


class BackgroundTask(QRunnable):
    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = TaskSignals()
        self.token = CancelToken()

    def cancel(self) -> None:
        self.token.cancel()

    def _emit(self, name: str, *args: Any) -> None:
        try:
            getattr(self.signals, name).emit(*args)
        except RuntimeError:
            # The app is shutting down and Qt already deleted the signal object: nobody is
            # listening any more, so the result is simply dropped.
            self.token.cancel()

    def run(self) -> None:
        emit = self._emit
        try:
            result = self.fn(
                *self.args,
                progress=lambda frac, text="": emit("progress", float(frac), str(text)),
                partial=lambda value: emit("partial", value),
                cancel=self.token,
                **self.kwargs,
            )
        except Cancelled:
            emit("cancelled")
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI as a signal
            if self.token.cancelled:
                emit("cancelled")
            else:
                emit("failed", exc, traceback.format_exc())
        else:
            if self.token.cancelled:
                emit("cancelled")
            else:
                emit("finished", result)
        finally:
            emit("done")
            _live.discard(self)


# Keep tasks alive until they finish, even if the caller drops its reference.
_live: set[BackgroundTask] = set()


def run_in_background(
    fn: Callable[..., Any],
    *args: Any,
    on_result: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException, str], None] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
    on_partial: Callable[[Any], None] | None = None,
    on_cancelled: Callable[[], None] | None = None,
    on_done: Callable[[], None] | None = None,
    pool: QThreadPool | None = None,
    owner: QObject | None = None,
    **kwargs: Any,
) -> BackgroundTask:
    """Start ``fn(*args, progress=, partial=, cancel=, **kwargs)`` on a pool thread.

    With an ``owner`` (the widget the callbacks update), everything the task reports after the owner
    is deleted is dropped, and the task is asked to cancel: a page closed mid-work never gets a
    callback on its deleted widgets ("Internal C++ object already deleted").
    """
    task = BackgroundTask(fn, args, kwargs)
    if owner is not None:
        on_result, on_error, on_progress, on_partial, on_cancelled, on_done = (
            _while_alive(owner, task, slot) for slot in (on_result, on_error, on_progress, on_partial,
                                                         on_cancelled, on_done))
    for signal, slot in (
        (task.signals.finished, on_result),
        (task.signals.failed, on_error),
        (task.signals.progress, on_progress),
        (task.signals.partial, on_partial),
        (task.signals.cancelled, on_cancelled),
        (task.signals.done, on_done),
    ):
        if slot is not None:
            signal.connect(slot)
    _live.add(task)
    (pool or shared_pool()).start(task)
    return task


def _while_alive(owner: QObject, task: BackgroundTask, slot: Callable[..., Any] | None) -> Callable[..., Any] | None:
    if slot is None:
        return None
    import shiboken6

    def guarded(*args: Any) -> None:
        if shiboken6.isValid(owner):
            slot(*args)
        else:
            task.cancel()
    return guarded


# Qt sizes its global pool to the CPU count: on a 2-core machine a sweep and a DeepQA evaluation
# would take both threads, and every page load after them (a table, a trace) would wait hours.
# The tasks mostly wait on SQLite, files and child processes, so many threads cost little.
MIN_THREADS = 32


def shared_pool() -> QThreadPool:
    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() < MIN_THREADS:
        pool.setMaxThreadCount(MIN_THREADS)
    return pool


def wait_for_background_tasks(timeout_ms: int = 10_000) -> bool:
    """Block until every background task has finished (used at shutdown and by tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
