"""Running the proposal board's work off the GUI thread: asking, merging and checking.

One operation at a time, owned here (not parked on the shared pool's caller): it opens its own store
connection on the worker thread, reports the board's events (:mod:`backend.ideation.board`) as the
``event`` signal on the GUI thread, and Stop reaches the board in flight. Model backends are kept
between operations (a GGUF stays loaded in its worker) and closed at shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from backend.llm.resolve import BackendCache
from deepones_gui.concurrent import run_in_background


class BoardRuns(QObject):
    event = Signal(str, object)  # board event kind, payload
    failed = Signal(str)  # one line for the user
    done = Signal()

    def __init__(self, db_path: Path, root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path, self.root = db_path, root
        self.task = None
        self.board = None  # the ProposalBoard working now, for Stop
        self.what = ""  # what is running, in words ("asking 4 proposals")
        self._backends = BackendCache()

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self, session_id: int, what: str, action: Callable) -> bool:
        """Run ``action(board)`` for ``session_id`` on a worker thread; False while another runs."""
        if self.running:
            return False
        from backend.ideation.board import BoardError, ProposalBoard
        from backend.store import connection

        def work(*, progress, partial, cancel):
            with connection(self.db_path) as db:
                board = ProposalBoard(
                    db,
                    session_id,
                    root=self.root,
                    backend_factory=self._backends.get,
                    on_event=lambda kind, payload: partial((kind, payload)),
                )
                self.board = board
                try:
                    return action(board)
                except BoardError as exc:
                    return exc  # an expected refusal: shown as one line, not a traceback
                finally:
                    self.board = None

        def finished(result) -> None:
            if isinstance(result, Exception):
                self.failed.emit(str(result))

        self.what = what
        self.task = run_in_background(
            work,
            owner=self,
            on_partial=lambda event: self.event.emit(*event),
            on_result=finished,
            on_error=lambda exc, tb: self.failed.emit(f"{what.capitalize()} failed: {exc}"),
            on_done=self._finished,
        )
        return True

    def _finished(self) -> None:
        self.task = None
        self.what = ""
        self.done.emit()

    def stop(self) -> None:
        board = self.board
        if board is not None:
            board.stop()

    def close(self) -> None:
        """Stop the work in flight, wait for it, release the models (at shutdown)."""
        self.stop()
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks(5000)
        self._backends.close()
