"""Parsing JSONL in worker processes while the importer's process only reads lines and writes rows.

Per-record Python (JSON, format detection, validation, the normalised hash) is most of an import's
cost and holds the GIL; with the records of a large file parsed in child processes, the parent's
SQLite work (which releases the GIL) and the parsing run side by side. Chunks come back in file
order, so batches commit in the same order as a serial import: a killed import still resumes
without duplicates, and rejections keep their line numbers.

The parent's share is kept small because it is the import's bottleneck at scale: it reads blocks of
whole lines (one read and one newline count per block, no per-line Python), and the rows come back
marshalled (plain tuples of str/int/float/None load about twice as fast as pickled ones).
"""

from __future__ import annotations

import marshal
import os
import pickle
import queue
import struct
import subprocess
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from backend.children import python_argv
from backend.datasets import readers
from backend.datasets.readers import FileUnreadable, JsonLinesReader, decode_line
from backend.datasets.schema import RecordError

# Files smaller than this parse in-process: starting workers costs ~1 s.
PARALLEL_MIN_BYTES = 16 * 2**20
MAX_WORKERS = 4
IN_FLIGHT_PER_WORKER = 2   # chunks read ahead per worker: memory stays a few batches, whatever the file size
# Blocks hold about ``chunk_lines`` lines: their size is estimated from the file's first bytes.
MIN_BLOCK_BYTES, MAX_BLOCK_BYTES = 16 * 1024, 16 * 2**20
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ParsedChunk:
    rows: list[tuple] = field(default_factory=list)
    rejections: list[tuple[int, str]] = field(default_factory=list)
    unknown_fields: Counter = field(default_factory=Counter)
    records: int = 0
    bytes_done: int = 0   # the reader's position after this chunk (for progress)


def worker_count() -> int:
    return max(0, min(MAX_WORKERS, (os.cpu_count() or 1)))


def use_parallel(reader: object, size: int) -> bool:
    return isinstance(reader, JsonLinesReader) and size >= PARALLEL_MIN_BYTES and worker_count() >= 2


def block_lines(first_line: int, block: bytes | RecordError, max_line_bytes: int
                ) -> Iterator[tuple[int, bytes | RecordError]]:
    """(line number, raw line) of one block from JsonLinesReader.line_blocks, over-long lines as the
    RecordError JsonLinesReader.raw_lines gives them."""
    if isinstance(block, RecordError):
        yield first_line, block
        return
    lines = block.split(b"\n")
    if block.endswith(b"\n"):
        lines.pop()
    for line_no, raw in enumerate(lines, first_line):
        if len(raw) > max_line_bytes:
            yield line_no, RecordError(f"line is longer than {max_line_bytes // 2**20} MB; skipped")
        else:
            yield line_no, raw


def parse_chunk(first_line: int, block: bytes | RecordError, max_line_bytes: int, fmt: str, dataset: str,
                source: str, now: float) -> ParsedChunk:
    """In a worker: the rows and rejections of one block of whole lines."""
    from backend.datasets.rows import record_row

    chunk = ParsedChunk()
    for line_no, raw in block_lines(first_line, block, max_line_bytes):
        value = raw if isinstance(raw, RecordError) else decode_line(raw, line_no == 1)
        if value is None:
            continue
        chunk.records += 1
        row = record_row(value, fmt, dataset, source, line_no, now, chunk.unknown_fields)
        if isinstance(row, str):
            chunk.rejections.append((line_no, row))
        else:
            chunk.rows.append(row)
    return chunk


class _Worker:
    """One child process parsing chunks: a pickled request on stdin, a pickled ParsedChunk back.

    A plain child (not multiprocessing) so that no caller's ``__main__`` is ever re-imported and
    nothing outlives the import: it exits when its stdin closes, also when the parent is killed.
    """

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
        self.proc = subprocess.Popen(python_argv("-m", "backend.datasets.parse_pool"), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)

    def send(self, request: tuple) -> None:
        _write_frame(self.proc.stdin, request)

    def receive(self) -> ParsedChunk:
        fields = _read_frame(self.proc.stdout, marshal.loads)
        if fields is None:
            raise FileUnreadable(f"a parsing worker stopped (exit code {self.proc.wait()})")
        rows, rejections, unknown_fields, records = fields
        return ParsedChunk(rows, rejections, Counter(unknown_fields), records)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def _write_frame(stream, value: object, dumps: Callable[[object], bytes] | None = None) -> None:
    data = dumps(value) if dumps else pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def _read_frame(stream, loads: Callable[[bytes], object] = pickle.loads) -> object | None:
    header = stream.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack("<Q", header)
    data = stream.read(size)
    return loads(data) if len(data) == size else None


def block_size(reader: JsonLinesReader, chunk_lines: int) -> int:
    """Bytes that hold about ``chunk_lines`` lines, judged by the lines in the file's first 64 KiB."""
    with open(reader.path, "rb") as fh:
        head = fh.read(readers.SNIFF_BYTES)
    per_line = len(head) / max(1, head.count(b"\n"))
    return int(min(MAX_BLOCK_BYTES, max(MIN_BLOCK_BYTES, per_line * chunk_lines)))


def parsed_chunks(reader: JsonLinesReader, fmt: str, dataset: str, source: str, chunk_lines: int,
                  now: Callable[[], float], cancelled: Callable[[], bool]) -> Iterator[ParsedChunk]:
    """Chunks of ``chunk_lines`` lines parsed by worker processes, yielded in file order.

    One thread per worker feeds it a chunk and reads its result straight away (pipe I/O releases
    the GIL), so a worker never waits for the caller, who writes the previous chunk meanwhile; a
    worker holds one chunk at a time, so no pipe fills up both ways.
    """
    blocks = reader.line_blocks(block_size(reader, chunk_lines))
    max_line_bytes = readers.MAX_LINE_BYTES
    workers = [_Worker() for _ in range(worker_count())]
    idle: queue.Queue[_Worker] = queue.Queue()
    for worker in workers:
        idle.put(worker)

    def parse(request: tuple) -> ParsedChunk:
        worker = idle.get()
        try:
            worker.send(request)
            return worker.receive()
        finally:
            idle.put(worker)

    in_flight: deque[tuple[Future, int]] = deque()   # file order: (result, reader position after it)
    with ThreadPoolExecutor(max_workers=len(workers), thread_name_prefix="parse-feeder") as feeders:
        try:
            while True:
                while len(in_flight) < len(workers) * IN_FLIGHT_PER_WORKER:
                    first_line, block = next(blocks, (0, None))
                    if block is None:
                        break
                    in_flight.append((feeders.submit(parse, (first_line, block, max_line_bytes, fmt, dataset,
                                                             source, now())),
                                      reader.bytes_done))
                if not in_flight:
                    return
                future, bytes_done = in_flight.popleft()
                result = future.result()
                result.bytes_done = bytes_done
                yield result
                if cancelled():
                    return
        finally:
            for future, _ in in_flight:
                future.cancel()
            for future, _ in in_flight:
                if not future.cancelled():
                    future.exception()  # let a started chunk finish before its worker is closed
            for worker in workers:
                worker.close()


def serve() -> None:
    """The worker's loop: parse chunks until stdin closes."""
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")   # frames only: anything printed goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    while True:
        request = _read_frame(stdin)
        if request is None:
            return
        chunk = parse_chunk(*request)
        _write_frame(stdout, (chunk.rows, chunk.rejections, dict(chunk.unknown_fields), chunk.records),
                     marshal.dumps)


if __name__ == "__main__":
    # Through the package, so the request's classes (RecordError) unpickle as the parent's, not __main__'s.
    from backend.datasets.parse_pool import serve as package_serve

    package_serve()
