"""The metric follower: a child process that parses a job's ``stdout.log`` and streams the points.

Parsing is pure Python; on a thread of the GUI process it would hold the GIL and stall the window
(the finished-job path already parses in a child). So whoever wants live metrics starts this module
(``python -m backend.jobs.metric_follower JOBDIR [--follow]``) and reads length-prefixed
``marshal`` frames ``{name: (steps, values)}`` from its stdout: decoding them is a C call.
It ends when the job has ended and its log is read, when not following and the log is read, or
when its reader goes away.
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from backend.jobs.metrics import MetricExtractor, MetricPoint
from backend.jobs.status import job_active
from backend.jobs.tail import LogTailer

FRAME = struct.Struct("<I")   # payload length, then the marshalled payload
POLL_S = 0.3


def group_points(points: list[MetricPoint]) -> dict[str, tuple[list[float], list[float]]]:
    grouped: dict[str, tuple[list[float], list[float]]] = {}
    for p in points:
        xs, ys = grouped.setdefault(p.name, ([], []))
        xs.append(p.step)
        ys.append(p.value)
    return grouped


def follow_metrics(workdir: Path, *, follow: bool, poll_s: float = POLL_S,
                   abandoned: Callable[[], bool] = lambda: False) -> Iterator[dict]:
    """Grouped points as the log grows (in this process): what the child runs. ``abandoned()``
    true ends it early (the reader is gone)."""
    tailer = LogTailer(workdir, ("stdout",))
    extractor = MetricExtractor()
    while True:
        running = follow and job_active(workdir)
        while True:
            data = tailer.read("stdout")
            if not data:
                break
            grouped = group_points(extractor.feed_text(data.decode("utf-8", errors="replace")))
            if grouped:
                yield grouped
        if not running:
            grouped = group_points(extractor.flush())
            if grouped:
                yield grouped
            return
        if abandoned():
            return
        time.sleep(poll_s)


def encode_frame(grouped: dict) -> bytes:
    body = marshal.dumps(grouped)
    return FRAME.pack(len(body)) + body


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print("usage: python -m backend.jobs.metric_follower JOBDIR [--follow]", file=sys.stderr)
        return 2
    parent = os.getppid()
    out = sys.stdout.buffer
    try:
        # A reader that died without closing the pipe re-parents this child: stop then too.
        for grouped in follow_metrics(Path(args[0]), follow="--follow" in argv,
                                      abandoned=lambda: os.getppid() != parent):
            out.write(encode_frame(grouped))
            out.flush()
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
