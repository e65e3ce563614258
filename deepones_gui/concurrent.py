"""Run plain functions off the GUI thread with progress, partial results and Cancel (after Orange3).

The function is ordinary Python that knows nothing of Qt: it receives ``progress(fraction, text)``
and a ``cancel`` token (:class:`backend.cancel.CancelToken`, the one cancellation type of the app)
it should check now and then. Results come back on the GUI thread as signals, so views just
connect callbacks.

Two kinds of work, two homes:

* short loads (a page of rows, a query, a summary) run on the shared pool, which stays small;
  :class:`LatestOnly` runs the loads of which only the newest matters (a filter typed letter by
  letter), cancelling the previous one and dropping whatever it still reports;
* long runs (a design run to the end, a sweep, a training watcher, a download) get a thread of
  their own (``own_thread=True``), owned by the controller that keeps the returned task and
  cancels it: however many run, they never hold a pool thread a page load waits for.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

# One cancellation type end to end: the token a task gets is the one a design run, a model call
# and a job take (backend.cancel), so a Cancel reaches all of them.
from backend.cancel import Cancelled, CancelToken

__all__ = ["BackgroundTask", "CancelToken", "Cancelled", "LatestOnly", "run_in_background", "shared_pool",
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
        self.dropped = False            # superseded (LatestOnly) or its owner is gone: report nothing
        self.thread: threading.Thread | None = None   # a long run's own thread

    def cancel(self) -> None:
        self.token.cancel()

    def drop(self) -> None:
        """Cancel, and drop everything it reports from now on (its callbacks are not called)."""
        self.dropped = True
        self.token.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a long run's thread has ended (shutdown, tests)."""
        if self.thread is not None:
            self.thread.join(timeout)
            return not self.thread.is_alive()
        return self not in _live

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
    own_thread: bool = False,
    **kwargs: Any,
) -> BackgroundTask:
    """Start ``fn(*args, progress=, partial=, cancel=, **kwargs)`` on a pool thread, or, for a long
    run (``own_thread=True``), on a thread of its own that the caller owns through the task.

    With an ``owner`` (the widget the callbacks update), everything the task reports after the owner
    is deleted is dropped, and the task is asked to cancel: a page closed mid-work never gets a
    callback on its deleted widgets ("Internal C++ object already deleted"). A task that was
    dropped (:meth:`BackgroundTask.drop`, :class:`LatestOnly`) reports nothing either.
    """
    task = BackgroundTask(fn, args, kwargs)
    # Without an owner, each callback that is a method of a QObject (a page's ``self._loaded``) is
    # guarded by that object: a report landing after it was deleted is dropped, not delivered to
    # a deleted widget. Callers need not remember ``owner=`` for that; they pass it to also cancel.
    on_result, on_error, on_progress, on_partial, on_cancelled, on_done = (
        _guarded(owner if owner is not None else _receiver(slot), task, slot)
        for slot in (on_result, on_error, on_progress, on_partial, on_cancelled, on_done))
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
    if own_thread:
        name = getattr(fn, "__name__", "run")
        task.thread = threading.Thread(target=task.run, name=f"long-run-{name}", daemon=True)
        task.thread.start()
    else:
        (pool or shared_pool()).start(task)
    return task


def _receiver(slot: Callable[..., Any] | None) -> QObject | None:
    """The QObject a bound-method callback belongs to, if it is one."""
    receiver = getattr(slot, "__self__", None)
    return receiver if isinstance(receiver, QObject) else None


def _guarded(owner: QObject | None, task: BackgroundTask, slot: Callable[..., Any] | None) -> Callable[..., Any] | None:
    if slot is None:
        return None
    import shiboken6

    def guarded(*args: Any) -> None:
        if task.dropped:
            return
        if owner is None or shiboken6.isValid(owner):
            slot(*args)
        else:
            task.drop()
    return guarded


class LatestOnly:
    """Background loads of which only the newest matters (as Orange's ``ConcurrentMixin``): each
    :meth:`run` cancels the previous task and drops whatever it still reports, so a slow old
    query can never overwrite a newer one's rows. Replaces per-page generation counters."""

    def __init__(self) -> None:
        self.task: BackgroundTask | None = None

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> BackgroundTask:
        self.drop()
        self.task = run_in_background(fn, *args, **kwargs)
        return self.task

    def drop(self) -> None:
        """Drop the task in flight, if any (a page that stops caring, e.g. on close)."""
        if self.task is not None:
            self.task.drop()
            self.task = None


# Short loads only (long runs have their own threads): a few threads are plenty, and the pool
# does not grow with the number of long runs.
POOL_THREADS = 4


def shared_pool() -> QThreadPool:
    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() != POOL_THREADS:
        pool.setMaxThreadCount(POOL_THREADS)
    return pool


def wait_for_background_tasks(timeout_ms: int = 10_000) -> bool:
    """Block until every background task, long runs included, has finished (shutdown, tests)."""
    import time

    deadline = time.monotonic() + timeout_ms / 1000
    for task in [t for t in list(_live) if t.thread is not None]:
        if not task.wait(max(0.0, deadline - time.monotonic())):
            return False
    return QThreadPool.globalInstance().waitForDone(max(0, int((deadline - time.monotonic()) * 1000)))
