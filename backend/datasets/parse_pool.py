"""Parsing JSONL in worker processes while the importer's process only reads lines and writes rows.

Per-record Python (JSON, format detection, validation, the normalised hash) is most of an import's
cost and holds the GIL; with the records of a large file parsed in child processes, the parent's
SQLite work (which releases the GIL) and the parsing run side by side. Chunks come back in file
order, so batches commit in the same order as a serial import: a killed import still resumes
without duplicates, and rejections keep their line numbers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from backend.datasets.readers import JsonLinesReader, decode_line
from backend.datasets.schema import RecordError

# Files smaller than this parse in-process: starting workers costs ~1 s.
PARALLEL_MIN_BYTES = 16 * 2**20
MAX_WORKERS = 4
IN_FLIGHT_PER_WORKER = 2   # chunks queued per worker: memory stays a few batches, whatever the file size


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
    from backend.datasets.importer import record_row

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


def parsed_chunks(reader: JsonLinesReader, fmt: str, dataset: str, source: str, chunk_lines: int,
                  now: Callable[[], float], cancelled: Callable[[], bool]) -> Iterator[ParsedChunk]:
    """Chunks of ``chunk_lines`` lines parsed by a pool of worker processes, yielded in file order."""
    workers = worker_count()
    # spawn: never fork a process that may hold Qt threads or SQLite handles, and leave no server behind.
    context = multiprocessing.get_context("spawn")
    pending: deque[tuple[Future, int]] = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        try:
            lines: list = []
            for item in reader.raw_lines():
                lines.append(item)
                if len(lines) < chunk_lines:
                    continue
                pending.append((pool.submit(parse_chunk, lines, fmt, dataset, source, now()), reader.bytes_done))
                lines = []
                while len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    yield _result(*pending.popleft())
                    if cancelled():
                        return
            if lines:
                pending.append((pool.submit(parse_chunk, lines, fmt, dataset, source, now()), reader.bytes_done))
            while pending:
                yield _result(*pending.popleft())
                if cancelled():
                    return
        finally:
            for future, _ in pending:
                future.cancel()


def _result(future: Future, bytes_done: int) -> ParsedChunk:
    chunk = future.result()
    chunk.bytes_done = bytes_done
    return chunk
