"""Streams a ChatBackend on a worker thread and hands text to the GUI in ~16 ms batches.

The worker appends chunks to a locked buffer; a GUI-thread timer drains it once per frame and
emits one ``text_ready`` per batch. Generation therefore never waits for rendering (the worker
never blocks on the GUI), and the GUI does at most one update per frame however fast tokens come.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal

from backend.llm.base import BackendError, ChatBackend, ChatStats, GenerationSettings, Message, Response

log = logging.getLogger(__name__)
FRAME_MS = 16


class ChatRunner(QObject):
    """One generation at a time. Signals arrive on the GUI thread, in order; ``finished`` is last."""

    started = Signal()
    first_text = Signal(float)          # seconds from start() to the first text reaching the GUI
    text_ready = Signal(str)            # a batch of new text
    notice = Signal(str)                # e.g. "3 earlier messages were left out…"
    failed = Signal(str, bool)          # message, retryable
    finished = Signal(object, bool)     # ChatStats, stopped by the user
    _wake = Signal()                    # worker -> GUI: drain now (first token, end), not at the next tick

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._done: tuple | None = None
        self._thread: threading.Thread | None = None
        self._response: Response | None = None   # this generation: its own Stop, stats and end
        self._started_at = 0.0
        self._got_text = False
        self._noticed = False
        self.text = ""                  # everything delivered so far
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._drain)
        self._wake.connect(self._drain)  # queued: emitted from the worker thread

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, backend: ChatBackend, messages: list[Message], settings: GenerationSettings) -> None:
        if self.running:
            raise RuntimeError("a generation is already running")
        # Made here, on the GUI thread, before the worker thread exists: a Stop pressed at any moment
        # from now on (before the first token, while the model loads) reaches this call.
        response = self._response = backend.prompt(list(messages), settings)
        self._pending.clear()
        self._done = None
        self._got_text = False
        self._noticed = False
        self.text = ""
        self._started_at = time.perf_counter()
        self._thread = threading.Thread(target=self._work, args=(response,),
                                        name="chat-generation", daemon=True)
        self._thread.start()
        self._timer.start()
        self.started.emit()

    def stop(self) -> None:
        if self._response is not None:
            self._response.cancel()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the worker thread ends (shutdown, tests); signals still need the event loop."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- worker thread ---------------------------------------------------------------------------
    def _work(self, response: Response) -> None:
        outcome: tuple
        first = True
        try:
            for chunk in response:
                with self._lock:
                    self._pending.append(chunk)
                if first:
                    first = False
                    self._wake.emit()  # time to first token should not wait for the next frame
            outcome = ("ok", None, False)
        except BackendError as exc:
            outcome = ("error", str(exc), exc.retryable)
        except Exception as exc:
            log.exception("chat generation failed")
            outcome = ("error", f"{type(exc).__name__}: {exc}", True)
        with self._lock:
            self._done = outcome
        self._wake.emit()

    # -- GUI thread --------------------------------------------------------------------------------
    def _drain(self) -> None:
        if self._thread is None:
            return  # a late wake-up after the run already finished
        with self._lock:
            batch = "".join(self._pending)
            self._pending.clear()
            done = self._done
        response = self._response
        if not self._noticed and response is not None and response.stats.dropped_messages:
            self._noticed = True
            n = response.stats.dropped_messages
            self.notice.emit(f"{n} earlier message{'s' if n != 1 else ''} left out to fit the context window.")
        if batch:
            if not self._got_text:
                self._got_text = True
                self.first_text.emit(time.perf_counter() - self._started_at)
            self.text += batch
            self.text_ready.emit(batch)
        if done is not None:
            self._finish(done)

    def _finish(self, done: tuple) -> None:
        self._timer.stop()
        if self._thread is not None:
            self._thread.join(1.0)
        self._thread = None
        response, self._response = self._response, None
        stats = response.stats if response is not None else ChatStats()
        kind, message, retryable = done
        if kind == "error":
            self.failed.emit(message, retryable)
        self.finished.emit(stats, bool(response is not None and response.cancelled))
