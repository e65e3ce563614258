"""Owns a Generate run while it executes: on a thread of its own (never the shared short-task pool),
with its own store connection, the local asyncio runner or the Ray path, and a Cancel.

The worker only stores the latest progress report under a lock; a GUI-thread timer hands it to the
view at most ~8 times a second, so a run that answers hundreds of steps a second never floods the
event loop. ``finished`` is always the last signal of a run.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)
DRAIN_MS = 120


class RunController(QObject):
    progressed = Signal(dict)  # the runner's progress report (papers, per-stage counts, ETA, samples)
    finished = Signal(dict)  # the run's summary (status finished / cancelled / failed, counts)
    failed = Signal(str)  # the run could not start or broke (one line); finished follows
    _wake = Signal()

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path = db_path
        self.run_id: int | None = None
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._latest: dict | None = None
        self._outcome: tuple[str, object] | None = None
        self._timer = QTimer(self, interval=DRAIN_MS)
        self._timer.timeout.connect(self._drain)
        self._wake.connect(self._drain)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, run_id: int, *, use_ray: bool = False) -> None:
        if self.running:
            raise RuntimeError("a generate run is already running")
        self.run_id = run_id
        self._cancel = threading.Event()
        self._latest = self._outcome = None
        self._thread = threading.Thread(
            target=self._work, args=(run_id, use_ray), name=f"generate-run-{run_id}", daemon=True
        )
        self._thread.start()
        self._timer.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the worker ends (shutdown, tests); its signals still need the event loop."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- worker thread ------------------------------------------------------------------------------
    def _report(self, info: dict) -> None:
        with self._lock:
            self._latest = info
        if info.get("event") in ("paper", "end"):
            self._wake.emit()  # a finished paper shows at once, not at the next tick

    def _work(self, run_id: int, use_ray: bool) -> None:
        from backend.store import connection

        outcome: tuple[str, object]
        try:
            with connection(self.db_path) as db:
                if use_ray:
                    from backend.generate.ray_run import run_on_ray

                    summary = run_on_ray(db, run_id, progress=self._report, cancel=self._cancel)
                else:
                    from backend.generate.runner import run

                    summary = run(db, run_id, progress=self._report, cancel=self._cancel)
            outcome = ("done", summary)
        except (ValueError, RuntimeError, OSError) as exc:  # RunError, RayError, a store problem: one line
            outcome = ("error", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except Exception as exc:
            log.exception("generate run %s failed", run_id)
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._outcome = outcome
        self._wake.emit()

    # -- GUI thread ---------------------------------------------------------------------------------
    def _drain(self) -> None:
        with self._lock:
            latest, self._latest = self._latest, None
            outcome = self._outcome
        if latest is not None:
            self.progressed.emit(latest)
        if outcome is None or self._thread is None:
            return
        self._timer.stop()
        self._thread.join(2.0)
        self._thread = None
        kind, value = outcome
        if kind == "error":
            self.failed.emit(str(value))
            self.finished.emit({"run_id": self.run_id, "status": "failed", "message": str(value)})
        else:
            self.finished.emit(dict(value))
