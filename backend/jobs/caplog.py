"""Captured output with a size cap: the supervisor's log files (standard library only)."""

from __future__ import annotations


class CappedLog:
    """A log file that keeps the first and last ``max_bytes / 2`` with a marker in between."""

    def __init__(self, path: str, max_bytes: int) -> None:
        self.fh = open(path, "wb")  # noqa: SIM115 - lives as long as the job
        self.head_max = max(1, max_bytes // 2)
        self.tail_max = max(1, max_bytes - self.head_max)
        self.head_len = 0
        self.tail: list[bytes] = []
        self.tail_len = 0
        self.dropped = 0
        self.dirty = False
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        if self.head_len < self.head_max:
            n = min(len(data), self.head_max - self.head_len)
            self.fh.write(data[:n])
            self.head_len += n
            data = data[n:]
        if not data:
            return
        self.tail.append(data)
        self.tail_len += len(data)
        self.dirty = True
        # Drop whole chunks from the front (cheap); the last partial trim happens at flush.
        while self.tail and self.tail_len - len(self.tail[0]) >= self.tail_max:
            first = self.tail.pop(0)
            self.tail_len -= len(first)
            self.dropped += len(first)

    def flush(self) -> None:
        if self.dirty:
            extra = max(0, self.tail_len - self.tail_max)
            body = b"".join(self.tail)[extra:]
            self.fh.seek(self.head_len)
            self.fh.truncate()
            dropped = self.dropped + extra
            if dropped:
                self.fh.write(
                    b"\n[deepones: %d bytes of output omitted here: the log keeps its first and last %d bytes]\n"
                    % (dropped, self.head_max)
                )
            self.fh.write(body)
            self.dirty = False
        self.fh.flush()

    def close(self) -> None:
        self.flush()
        self.fh.close()
