"""Running stages off the GUI thread: one :class:`DesignRunner` per run, on a pool thread.

The runner opens its own store connection on the worker thread (SQLite connections stay on
their thread) and reports pipeline events, which arrive here on the GUI thread as ``event``.
Model backends are kept between runs (a GGUF stays loaded in its worker), and closed at shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from backend.llm.resolve import BackendCache
from deepones_gui.concurrent import run_in_background


class StageRuns(QObject):
    event = Signal(int, str, object)      # session id, event kind, payload (see backend.pipeline.runner)
    failed = Signal(object, str)          # exception, traceback text
    done = Signal(int)                    # session id

    def __init__(self, db_path: Path, root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path, self.root = db_path, root
        self.task = None                  # the BackgroundTask of the run in progress
        self.runner = None                # its DesignRunner, for Stop
        self._backends = BackendCache()

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self, session_id: int, action: Callable) -> None:
        """Run ``action(runner)`` for ``session_id`` on a pool thread."""
        from backend.pipeline import DesignRunner
        from backend.store import connection

        def work(*, progress, partial, cancel):
            with connection(self.db_path) as db:
                runner = DesignRunner(db, session_id, root=self.root, backend_factory=self._backends.get,
                                      on_event=lambda kind, payload: partial((kind, payload)))
                self.runner = runner
                try:
                    return action(runner)
                finally:
                    self.runner = None

        # A run to the end can take hours: a thread of its own, owned here (Stop cancels it).
        self.task = run_in_background(
            work, own_thread=True,
            on_partial=lambda event: self.event.emit(session_id, *event),
            on_error=lambda exc, tb: self.failed.emit(exc, tb),
            on_done=lambda: self._finished(session_id),
        )

    def _finished(self, session_id: int) -> None:
        self.task = None
        self.done.emit(session_id)

    def stop(self) -> None:
        runner = self.runner
        if runner is not None:
            runner.stop()

    def close(self) -> None:
        """Stop a run, wait for it, release the models (at shutdown)."""
        self.stop()
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks(5000)
        self._backends.close()
