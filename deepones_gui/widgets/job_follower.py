"""``JobFollower``: a job's events (:func:`backend.jobs.watch.watch_job`) as Qt signals.

The watch loop runs on a worker thread; metrics are parsed in the watcher's child process, so this
thread only reads files and decodes frames. Text chunks wait for the view's ``ack()`` before the
next one is sent (back-pressure: an output flood never piles up in the GUI's event queue).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

TEXT_TAIL = 1 << 20


class JobFollower(QObject):
    points = Signal(str, object)        # job id, {name: (steps, values)}
    text = Signal(str, str, str)        # job id, stream, text
    finished = Signal(str)

    def __init__(self, job_id: str, workdir: Path, parent: QObject | None = None, *, with_text: bool = False,
                 with_points: bool = True) -> None:
        super().__init__(parent)
        self.job_id, self.workdir = job_id, Path(workdir)
        self.with_text, self.with_points = with_text, with_points
        self._stop = threading.Event()
        self._ack = threading.Event()
        self._ack.set()
        self._thread: threading.Thread | None = None
        self.done = False

    def ack(self) -> None:
        """The consumer has shown the last text chunk: the next one may come."""
        self._ack.set()

    def start(self, follow: bool = True) -> None:
        self._thread = threading.Thread(target=self._run, args=(follow,), name=f"follow-{self.job_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _emit_text(self, stream: str, text: str) -> None:
        deadline = time.monotonic() + 2.0      # at most 2 s, in case nobody acknowledges
        while not self._ack.wait(0.05):
            if self._stop.is_set() or time.monotonic() > deadline:
                break
        self._ack.clear()
        self.text.emit(self.job_id, stream, text)

    def _run(self, follow: bool) -> None:
        from backend.jobs.watch import watch_job

        try:
            for event in watch_job(self.job_id, self.workdir, output=self.with_text, metrics=self.with_points,
                                   follow=follow, stop=self._stop, text_tail=TEXT_TAIL if self.with_text else None):
                if self._stop.is_set():
                    break
                if event.kind == "metrics":
                    self.points.emit(self.job_id, event.payload)
                elif event.kind == "output":
                    self._emit_text(*event.payload)
        finally:
            self.done = True
            try:
                self.finished.emit(self.job_id)
            except RuntimeError:   # the page closed meanwhile and took this QObject with it
                pass
