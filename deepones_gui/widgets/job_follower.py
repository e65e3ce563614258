"""``JobFollower``: a job's events, from its one stream (:func:`backend.jobs.watch.open_stream`), as Qt signals.

Every view of a job in this process (the Jobs page's chart and log view, a design stage's live chart)
subscribes to the same stream as the design run that started it, so the job's log is tailed once and
its metrics are parsed once, in the watcher's child process. A late subscriber first gets what the
stream has sent so far. Text chunks wait for the view's ``ack()`` before the next one is sent
(back-pressure: an output flood never piles up in the GUI's event queue).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from backend.jobs.watch import JobEvent


class JobFollower(QObject):
    points = Signal(str, object)  # job id, {name: (steps, values)}
    text = Signal(str, str, str)  # job id, stream, text
    finished = Signal(str)

    def __init__(
        self,
        job_id: str,
        workdir: Path,
        parent: QObject | None = None,
        *,
        with_text: bool = False,
        with_points: bool = True,
    ) -> None:
        super().__init__(parent)
        self.job_id, self.workdir = job_id, Path(workdir)
        self.with_text, self.with_points = with_text, with_points
        self._stop = threading.Event()
        self._ended = threading.Event()
        self._ack = threading.Event()
        self._ack.set()
        self._thread: threading.Thread | None = None
        self.done = False

    def ack(self) -> None:
        """The consumer has shown the last text chunk: the next one may come."""
        self._ack.set()

    def start(self, follow: bool = True) -> None:
        # The subscription (and its replay, which may wait for acks) happens on a thread of its own,
        # never on the GUI thread that would have to deliver those acks.
        self._thread = threading.Thread(
            target=self._run, args=(follow,), name=f"follow-{self.job_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _emit_text(self, stream: str, text: str) -> None:
        deadline = time.monotonic() + 2.0  # at most 2 s, in case nobody acknowledges
        while not self._ack.wait(0.05):
            if self._stop.is_set() or time.monotonic() > deadline:
                break
        self._ack.clear()
        self.text.emit(self.job_id, stream, text)

    def _on_event(self, event: JobEvent) -> None:
        if self._stop.is_set():
            return
        try:
            if event.kind == "metrics" and self.with_points:
                self.points.emit(self.job_id, event.payload)
            elif event.kind == "output" and self.with_text:
                self._emit_text(*event.payload)
        except RuntimeError:  # the view closed meanwhile and took this QObject with it
            self._stop.set()
        if event.kind == "ended":
            self._ended.set()

    def _run(self, follow: bool) -> None:
        from backend.jobs.watch import open_stream

        unsubscribe = open_stream(self.job_id, self.workdir, follow=follow).subscribe(self._on_event)
        try:
            while not self._stop.is_set() and not self._ended.wait(0.2):
                pass
        finally:
            unsubscribe()
            self.done = True
            try:
                self.finished.emit(self.job_id)
            except RuntimeError:  # the page closed meanwhile and took this QObject with it
                pass
