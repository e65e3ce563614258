"""The one log tailer: new bytes of a job's ``stdout.log`` / ``stderr.log`` since the last read.

Used by :class:`backend.jobs.runner.JobHandle` (``wait(on_output=...)``, ``deepones jobs logs -f``),
by :func:`backend.jobs.watch.watch_job` (the GUI's charts and log view) and by the metric
follower child. The supervisor caps a log by keeping its head and rewriting its tail, so a file
can shrink under a reader: the reader then continues from the new end of the head.
"""

from __future__ import annotations

from pathlib import Path

STREAMS = ("stdout", "stderr")


class LogTailer:
    """Reads what is new in the job's logs; ``max_chunk`` bounds one read (the rest comes next time)."""

    def __init__(self, workdir: Path | str, streams: tuple[str, ...] = STREAMS, *, max_chunk: int = 8 << 20) -> None:
        self.workdir = Path(workdir)
        self.streams = tuple(streams)
        self.offsets = dict.fromkeys(self.streams, 0)
        self.max_chunk = max_chunk

    def pending(self, stream: str) -> int:
        """Bytes written but not read yet (0 when the log does not exist)."""
        try:
            size = (self.workdir / f"{stream}.log").stat().st_size
        except OSError:
            return 0
        if size < self.offsets[stream]:
            self.offsets[stream] = size
        return size - self.offsets[stream]

    def skip_to_tail(self, stream: str, keep: int) -> int:
        """Skip all but the last ``keep`` unread bytes (a view cannot show megabytes usefully); returns bytes skipped."""
        skipped = max(0, self.pending(stream) - keep)
        self.offsets[stream] += skipped
        return skipped

    def read(self, stream: str) -> bytes:
        """The next unread bytes of one stream (at most ``max_chunk``)."""
        n = min(self.pending(stream), self.max_chunk)
        if n <= 0:
            return b""
        try:
            with open(self.workdir / f"{stream}.log", "rb") as fh:
                fh.seek(self.offsets[stream])
                data = fh.read(n)
        except OSError:
            return b""
        self.offsets[stream] += len(data)
        return data

    def read_all(self) -> list[tuple[str, str]]:
        """Everything new, as (stream, text) pairs, each stream read to its current end."""
        out = []
        for stream in self.streams:
            while True:
                data = self.read(stream)
                if not data:
                    break
                out.append((stream, data.decode("utf-8", errors="replace")))
        return out
