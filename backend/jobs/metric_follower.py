"""The metric follower: a child process that parses a job's ``stdout.log`` and streams the points.

Parsing on a thread of the GUI process would hold the GIL and stall the window, so whoever wants
live metrics starts this module (``python -m backend.jobs.metric_follower JOBDIR [--follow]``),
closes its stdin once the job is over (the child then reads the rest at once), and reads length-prefixed frames ``{name: (steps, values)}`` from its stdout: the columns travel
as raw float64 bytes inside a ``marshal`` dict, and :func:`decode_frame` turns them back into
numpy arrays without a Python object per point. It ends when the job has ended and its log is
read, when not following and the log is read, or when its reader goes away.
"""

from __future__ import annotations

import marshal
import os
import select
import struct
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from backend.jobs.metrics import Columns, MetricExtractor
from backend.jobs.status import job_active
from backend.jobs.tail import LogTailer

FRAME = struct.Struct("<I")   # payload length, then the marshalled payload
POLL_S = 0.1   # how often a job with no reader to tell it is checked for its end


def follow_metrics(workdir: Path, *, follow: bool, poll_s: float = POLL_S,
                   abandoned: Callable[[], bool] = lambda: False,
                   told_over: Callable[[float], bool] | None = None) -> Iterator[Columns]:
    """Columns of the points as the log grows (in this process): what the child runs.
    ``abandoned()`` true ends it early (the reader is gone). ``told_over(timeout)`` waits up to
    ``timeout`` and is True once the reader says the job is over: the rest is read at once."""
    tailer = LogTailer(workdir, ("stdout",))
    extractor = MetricExtractor()
    over = False
    while True:
        running = follow and not over and job_active(workdir)
        while True:
            data = tailer.read("stdout")
            if not data:
                break
            columns = extractor.feed_columns(data.decode("utf-8", errors="replace"))
            if columns:
                yield columns
        if not running:
            columns = extractor.flush_columns()
            if columns:
                yield columns
            return
        if abandoned():
            return
        if told_over is not None:
            over = told_over(poll_s)
        else:
            time.sleep(poll_s)


def _told_over(timeout: float) -> bool:
    """The reader closes this child's stdin when the job is over (or when it goes away): EOF."""
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(ready) and not os.read(sys.stdin.fileno(), 4096)


def encode_frame(columns: Columns) -> bytes:
    body = marshal.dumps({name: (np.ascontiguousarray(s, dtype=np.float64).tobytes(),
                                 np.ascontiguousarray(v, dtype=np.float64).tobytes())
                          for name, (s, v) in columns.items()})
    return FRAME.pack(len(body)) + body


def decode_frame(body: bytes) -> Columns:
    """A frame's payload (after the length) as name -> (steps, values) float64 arrays."""
    return {name: (np.frombuffer(s, dtype=np.float64), np.frombuffer(v, dtype=np.float64))
            for name, (s, v) in marshal.loads(body).items()}


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print("usage: python -m backend.jobs.metric_follower JOBDIR [--follow]", file=sys.stderr)
        return 2
    parent = os.getppid()
    out = sys.stdout.buffer
    try:
        # An empty frame first: "ready, reading along" (a reader waits for the rest only then).
        out.write(encode_frame({}))
        out.flush()
        # A reader that died without closing the pipe re-parents this child: stop then too.
        for columns in follow_metrics(Path(args[0]), follow="--follow" in argv,
                                      abandoned=lambda: os.getppid() != parent, told_over=_told_over):
            out.write(encode_frame(columns))
            out.flush()
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
