"""Watching a job: one iterator of events, each carrying the job id, for every observer.

    for event in watch_job(job_id, workdir, output=True, metrics=True):
        event.kind     # "output" (stream, text) | "metrics" {name: (steps, values)} float64 arrays
                       # | "status" (status.json dict, on each change) | "ended" (final status dict)

The Jobs charts and log view, the Design page, Bench and Traces all watch jobs this way (a Qt view
runs the loop on a worker thread and re-emits events as signals). Output comes from the one log
tailer; metrics are parsed in a child process (:mod:`backend.jobs.metric_follower`), so a watcher in
the GUI process never spends its GIL on regular expressions.
"""

from __future__ import annotations

import collections
import os
import select
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.children import python_argv
from backend.jobs.metric_follower import FRAME, decode_frame
from backend.jobs.spec import FINAL_STATUSES
from backend.jobs.status import job_active, read_status
from backend.jobs.tail import LogTailer


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    kind: str
    payload: Any


class _MetricChild:
    """The metric follower child and the frames it sends."""

    def __init__(self, workdir: Path, follow: bool) -> None:
        argv = python_argv("-m", "backend.jobs.metric_follower", str(workdir)) + (["--follow"] if follow else [])
        # Its stdin is how it learns that the job is over (closed: see job_over).
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, close_fds=True)
        self.fd = self.proc.stdout.fileno()
        self.buf = b""
        self.done = False
        self.woken = False

    def job_over(self) -> None:
        """Tell the child the job has ended: it reads the rest of the log now, sends it and exits."""
        if not self.proc.stdin.closed:
            self.proc.stdin.close()

    def frames(self, timeout: float, wake_fd: int | None = None) -> list[dict]:
        """Frames that arrived within ``timeout`` (none when the child has ended); a byte on
        ``wake_fd`` ends the wait early."""
        if self.done:
            return []
        ready, _, _ = select.select([self.fd] + ([wake_fd] if wake_fd is not None else []), [], [], timeout)
        self.woken = wake_fd is not None and wake_fd in ready
        if self.woken:
            os.read(wake_fd, 4096)
        if self.fd in ready:
            data = os.read(self.fd, 1 << 20)
            if not data:
                self.done = True
                self.proc.wait()
            self.buf += data
        out = []
        while len(self.buf) >= FRAME.size:
            (n,) = FRAME.unpack_from(self.buf)
            if len(self.buf) < FRAME.size + n:
                break
            out.append(decode_frame(self.buf[FRAME.size:FRAME.size + n]))
            self.buf = self.buf[FRAME.size + n:]
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.job_over()


def watch_job(job_id: str, workdir: Path | str, *, output: bool = True, metrics: bool = False, follow: bool = True,
              stop: threading.Event | None = None, poll_s: float = 0.3, text_tail: int | None = None,
              streams: tuple[str, ...] = ("stdout", "stderr"),
              active: Callable[[], bool] | None = None, wake_fd: int | None = None) -> Iterator[JobEvent]:
    """Events of one job until it ends (or, with ``follow=False``, until what is on disk is read).

    ``text_tail``: when more than twice that many bytes of output are waiting, skip to the last
    ``text_tail`` bytes (an "output" event says how much was skipped). ``stop`` ends the watch early.
    ``active()``: whether the job may still write (default: its supervisor holds its lock); a caller
    that waits on the job's handle knows better (a remote run mirrored into the folder), and a byte
    written to ``wake_fd`` makes the watch look again at once (it has just changed).
    With ``output``, "output_end" says the whole output was sent; with ``metrics``, "metrics_ready"
    says the metric child has started, and "metrics_end" (True: the metrics of the whole log were
    sent) comes once it has ended.
    """
    workdir = Path(workdir)
    stop = stop or threading.Event()
    active = active or (lambda: job_active(workdir))
    tailer = LogTailer(workdir, streams, max_chunk=64 * 1024 if text_tail else 8 << 20) if output else None
    child = _MetricChild(workdir, follow) if metrics else None
    last_status: dict | None = None
    try:
        while not stop.is_set():
            running = follow and active()
            st = read_status(workdir)
            if st != last_status and st:
                last_status = st
                yield JobEvent(job_id, "status", st)
            if tailer is not None:
                for stream in tailer.streams:
                    if text_tail and tailer.pending(stream) > 2 * text_tail:
                        skipped = tailer.skip_to_tail(stream, text_tail)
                        yield JobEvent(job_id, "output", (stream, f"[… {skipped:,} bytes not shown here: see the log file …]\n"))
                    while not stop.is_set():
                        data = tailer.read(stream)
                        if not data:
                            break
                        yield JobEvent(job_id, "output", (stream, data.decode("utf-8", errors="replace")))
                if not running:
                    yield JobEvent(job_id, "output_end", None)   # all of it: only metrics may follow
            if child is not None and not child.done:
                # While the job runs, wait here up to ``poll_s`` for points; once it has ended,
                # read the child to its end (told so, it parses the rest and exits).
                if not running:
                    child.job_over()
                deadline = time.monotonic() + poll_s
                while not stop.is_set() and not child.done:
                    wait = max(0.0, deadline - time.monotonic()) if running else poll_s
                    for grouped in child.frames(wait, wake_fd if running else None):
                        # The child's first frame is empty: it has started and reads along.
                        yield JobEvent(job_id, "metrics" if grouped else "metrics_ready", grouped)
                    if child.done:
                        # The child read the log to its end once the job was over (its status final),
                        # or it stopped early (a remote run whose folder has no supervisor lock).
                        complete = read_status(workdir).get("status") in FINAL_STATUSES
                        yield JobEvent(job_id, "metrics_end", complete)
                    if running and (time.monotonic() >= deadline or child.woken):
                        break
            elif running:         # no metrics (any more): a plain pause, never a busy loop
                if wake_fd is None:
                    stop.wait(poll_s)
                elif select.select([wake_fd], [], [], poll_s)[0]:
                    os.read(wake_fd, 4096)
            if not running:
                yield JobEvent(job_id, "ended", read_status(workdir))
                return
    finally:
        if child is not None:
            child.close()


# -- one stream per job ---------------------------------------------------------------------------
TEXT_TAIL = 1 << 20      # output kept for a late subscriber, per stream (the log file has it all)
STREAM_POLL_S = 0.1
KEEP_ENDED = 16          # ended streams kept for replay (a stage's chart shown again: no new parse)
Subscriber = Callable[[JobEvent], None]


class JobStream:
    """One job's events for everyone in this process who looks at it: one watcher, many subscribers.

    A design run's own thread (its live output, then its final record), the stage's live chart and
    the Jobs page's log view subscribe to the same stream, so the job's output is tailed once and its
    metrics parsed once (in the metric child). The stream remembers what it sent (every metric
    column, the last :data:`TEXT_TAIL` characters of each output stream, the status, the end), and a
    subscriber that comes late gets that first, then the live events. Callbacks run on the stream's
    thread (or, for the replay, on the subscribing thread): a Qt view re-emits them as signals.
    """

    def __init__(self, job_id: str, workdir: Path | str, *, follow: bool = True,
                 active: Callable[[], bool] | None = None) -> None:
        self.job_id, self.workdir, self.follow = job_id, Path(workdir), follow
        self._active = active
        self._lock = threading.RLock()      # a subscriber may unsubscribe from its own callback
        self._subscribers: list[Subscriber] = []
        self._metrics: dict[str, tuple[list, list]] = {}
        self._output: dict[str, collections.deque[str]] = {}   # the last chunks of each stream
        self._output_size: dict[str, int] = {}
        self._status: dict | None = None
        self.final: dict | None = None          # the status the job ended with
        self.metrics_complete = False           # the metrics of the whole log were sent
        self.metrics_ready = False              # the metric child has started (and reads along)
        self._ended = threading.Event()
        self._output_end = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-stream-{job_id}", daemon=True)
        self._wake_r, self._wake_w = os.pipe()   # see wake(); closed (None) when the stream ends
        os.set_blocking(self._wake_w, False)

    def start(self) -> JobStream:
        self._thread.start()
        return self

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        try:
            # Polled at 10 Hz: a design run waits for the stream's end before it records its step.
            for event in watch_job(self.job_id, self.workdir, output=True, metrics=True, follow=self.follow,
                                   stop=self._stop, text_tail=TEXT_TAIL, active=self._active, poll_s=STREAM_POLL_S,
                                   wake_fd=self._wake_r):
                self.publish(event.kind, event.payload)
        except Exception:  # noqa: BLE001 - e.g. the metric child could not start: say so, end the stream
            import logging

            logging.getLogger(__name__).exception("watching job %s failed", self.job_id)
        finally:
            if not self._stop.is_set() and self.final is None:   # the watch failed: end it all the same
                self.publish("ended", read_status(self.workdir))
            self._ended.set()
            with self._lock:      # never a write to a closed (maybe reused) descriptor: see wake()
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_w = None

    def wake(self) -> None:
        """Look at the job again now (its ``active`` has just turned false: the run is over)."""
        with self._lock:
            if self._wake_w is not None:
                try:
                    os.write(self._wake_w, b"!")
                except BlockingIOError:   # woken many times already and not read yet: enough
                    pass

    def _remember(self, event: JobEvent) -> None:
        kind, payload = event.kind, event.payload
        if kind == "metrics":
            for name, (steps, values) in payload.items():
                kept = self._metrics.setdefault(name, ([], []))
                kept[0].append(steps)
                kept[1].append(values)
        elif kind == "output":
            stream, text = payload
            chunks = self._output.setdefault(stream, collections.deque())
            chunks.append(text)
            size = self._output_size.get(stream, 0) + len(text)
            while len(chunks) > 1 and size - len(chunks[0]) >= TEXT_TAIL:   # the oldest go once a tail is kept
                size -= len(chunks.popleft())
            self._output_size[stream] = size
        elif kind == "status":
            self._status = payload
        elif kind == "metrics_ready":
            self.metrics_ready = True
        elif kind == "metrics_end":
            self.metrics_complete = bool(payload)
        elif kind == "output_end":
            self._output_end.set()
        elif kind == "ended":
            self.final = payload

    def publish(self, kind: str, payload: Any) -> None:
        """Send an event to every subscriber (and remember it for later ones)."""
        event = JobEvent(self.job_id, kind, payload)
        with self._lock:
            self._remember(event)
            subscribers = list(self._subscribers)
        for fn in subscribers:
            _deliver(fn, event)

    def metric_columns(self) -> dict | None:
        """Every metric point the stream sent, as {name: (steps, values)}; None unless the whole log was read."""
        if not self.metrics_complete:
            return None
        import numpy as np

        with self._lock:
            return {name: (np.concatenate(steps), np.concatenate(values))
                    for name, (steps, values) in self._metrics.items()}

    def _replay(self) -> list[JobEvent]:
        events = [JobEvent(self.job_id, "status", self._status)] if self._status else []
        events += [JobEvent(self.job_id, "metrics_ready", {})] if self.metrics_ready else []
        events += [JobEvent(self.job_id, "output", (stream, "".join(chunks)[-TEXT_TAIL:]))
                   for stream, chunks in self._output.items() if chunks]
        if self._metrics:
            import numpy as np

            events.append(JobEvent(self.job_id, "metrics", {
                name: (np.concatenate(steps), np.concatenate(values)) for name, (steps, values) in self._metrics.items()}))
        if self.ended or self.final is not None:
            events.append(JobEvent(self.job_id, "metrics_end", self.metrics_complete))
            events.append(JobEvent(self.job_id, "ended", self.final or {}))
        return events

    def subscribe(self, fn: Subscriber, *, replay: bool = True) -> Callable[[], None]:
        """Call ``fn(event)`` for what was sent so far (``replay``) and every event to come; returns
        the call that unsubscribes. When the last subscriber of a running stream leaves, it stops."""
        with self._lock:
            # Under the lock: no live event can come between the replay and the first live one.
            for event in self._replay() if replay else []:
                _deliver(fn, event)
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)
                idle = not self._subscribers and not self.ended
            if idle:
                self.stop()
        return unsubscribe

    def wait(self, timeout: float | None = None) -> dict | None:
        """Block until the job has ended and every event was sent; the final status (None on timeout)."""
        self._ended.wait(timeout)
        return self.final if self._ended.is_set() else None

    def wait_output(self, timeout: float | None = None) -> bool:
        """Block until the job has ended and its whole output was sent (the metric child may still be
        reading); False on timeout."""
        return self._output_end.wait(timeout) or self._ended.is_set()

    def stop(self) -> None:
        """Stop watching (nobody looks any more); a later :func:`open_stream` starts a fresh one."""
        self._stop.set()
        with _registry_lock:
            if _streams.get(self.job_id) is self:
                del _streams[self.job_id]


def _deliver(fn: Subscriber, event: JobEvent) -> None:
    try:
        fn(event)
    except Exception:  # noqa: BLE001 - one broken view must not stop the stream for the others
        import logging

        logging.getLogger(__name__).exception("a subscriber of job %s failed on %s", event.job_id, event.kind)


_streams: dict[str, JobStream] = {}
_registry_lock = threading.Lock()


def open_stream(job_id: str, workdir: Path | str, *, follow: bool = True,
                active: Callable[[], bool] | None = None) -> JobStream:
    """The job's one stream in this process: the live one (or an ended one that saw the whole job),
    else a new one, started. ``active``: see :func:`watch_job`."""
    with _registry_lock:
        stream = _streams.get(job_id)
        whole = stream is not None and stream.ended and stream.metrics_complete \
            and (stream.final or {}).get("status") in FINAL_STATUSES
        if stream is not None and not stream.stopped and (not stream.ended or whole):
            return stream
        stream = _streams[job_id] = JobStream(job_id, workdir, follow=follow, active=active)
        ended = [i for i, s in _streams.items() if s.ended]
        for old in ended[:max(0, len(ended) - KEEP_ENDED)]:
            del _streams[old]
    return stream.start()
