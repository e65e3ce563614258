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

import os
import select
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.children import python_argv
from backend.jobs.metric_follower import FRAME, decode_frame
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
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, close_fds=True)
        self.fd = self.proc.stdout.fileno()
        self.buf = b""
        self.done = False

    def frames(self, timeout: float) -> list[dict]:
        """Frames that arrived within ``timeout`` (none when the child has ended)."""
        if self.done:
            return []
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
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


def watch_job(job_id: str, workdir: Path | str, *, output: bool = True, metrics: bool = False, follow: bool = True,
              stop: threading.Event | None = None, poll_s: float = 0.3, text_tail: int | None = None,
              streams: tuple[str, ...] = ("stdout", "stderr")) -> Iterator[JobEvent]:
    """Events of one job until it ends (or, with ``follow=False``, until what is on disk is read).

    ``text_tail``: when more than twice that many bytes of output are waiting, skip to the last
    ``text_tail`` bytes (an "output" event says how much was skipped). ``stop`` ends the watch early.
    """
    workdir = Path(workdir)
    stop = stop or threading.Event()
    tailer = LogTailer(workdir, streams, max_chunk=64 * 1024 if text_tail else 8 << 20) if output else None
    child = _MetricChild(workdir, follow) if metrics else None
    last_status: dict | None = None
    try:
        while not stop.is_set():
            running = follow and job_active(workdir)
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
            if child is not None:
                # While the job runs, wait here up to ``poll_s`` for points; once it has ended,
                # read the child to its end (it exits when the whole log is parsed).
                deadline = time.monotonic() + poll_s
                while not stop.is_set() and not child.done:
                    wait = max(0.0, deadline - time.monotonic()) if running else poll_s
                    for grouped in child.frames(wait):
                        yield JobEvent(job_id, "metrics", grouped)
                    if running and time.monotonic() >= deadline:
                        break
            elif running:
                stop.wait(poll_s)
            if not running:
                yield JobEvent(job_id, "ended", read_status(workdir))
                return
    finally:
        if child is not None:
            child.close()
