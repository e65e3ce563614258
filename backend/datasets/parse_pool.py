"""Parsing JSONL in worker processes while the importer's process only reads lines and writes rows.

Per-record Python (JSON, format detection, validation, the normalised hash) is most of an import's
cost and holds the GIL; with the records of a large file parsed in child processes, the parent's
SQLite work (which releases the GIL) and the parsing run side by side. Chunks come back in file
order, so batches commit in the same order as a serial import: a killed import still resumes
without duplicates, and rejections keep their line numbers.
"""

from __future__ import annotations

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
from itertools import islice
from pathlib import Path

from backend.children import python_argv
from backend.datasets.readers import FileUnreadable, JsonLinesReader, decode_line
from backend.datasets.schema import RecordError

# Files smaller than this parse in-process: starting workers costs ~1 s.
PARALLEL_MIN_BYTES = 16 * 2**20
MAX_WORKERS = 4
IN_FLIGHT_PER_WORKER = 2   # chunks read ahead per worker: memory stays a few batches, whatever the file size
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


def parse_chunk(lines: list[tuple[int, bytes | RecordError]], fmt: str, dataset: str, source: str,
                now: float) -> ParsedChunk:
    """In a worker: the rows and rejections of one chunk of raw lines."""
    from backend.datasets.rows import record_row

    chunk = ParsedChunk()
    for line_no, raw in lines:
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
        chunk = _read_frame(self.proc.stdout)
        if chunk is None:
            raise FileUnreadable(f"a parsing worker stopped (exit code {self.proc.wait()})")
        return chunk

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


def _write_frame(stream, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def _read_frame(stream) -> object | None:
    header = stream.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack("<Q", header)
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


def parsed_chunks(reader: JsonLinesReader, fmt: str, dataset: str, source: str, chunk_lines: int,
                  now: Callable[[], float], cancelled: Callable[[], bool]) -> Iterator[ParsedChunk]:
    """Chunks of ``chunk_lines`` lines parsed by worker processes, yielded in file order.

    One thread per worker feeds it a chunk and reads its result straight away (pipe I/O releases
    the GIL), so a worker never waits for the caller, who writes the previous chunk meanwhile; a
    worker holds one chunk at a time, so no pipe fills up both ways.
    """
    lines = reader.raw_lines()
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
                    chunk = list(islice(lines, chunk_lines))
                    if not chunk:
                        break
                    in_flight.append((feeders.submit(parse, (chunk, fmt, dataset, source, now())),
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
        _write_frame(stdout, parse_chunk(*request))


if __name__ == "__main__":
    # Through the package, so results pickle as backend.datasets.parse_pool.ParsedChunk, not __main__'s.
    from backend.datasets.parse_pool import serve as package_serve

    package_serve()
