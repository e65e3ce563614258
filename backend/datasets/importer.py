"""Streaming import: records -> samples in batched transactions, deduplicated by content hash.

Memory stays constant (one record and one batch at a time). Every batch is one transaction, so
killing the process leaves the store consistent, and re-running the import adds only what is
missing (``INSERT OR IGNORE`` on the unique content hash).
"""

from __future__ import annotations

import errno
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from backend.datasets.import_runs import RunLock
from backend.datasets.indexing import bulk_write_settings, index_new_rows
from backend.datasets.parse_pool import PARALLEL_MIN_BYTES, parsed_chunks, use_parallel
from backend.datasets.readers import FileUnreadable, RestUnreadable, open_reader
from backend.datasets.rows import SAMPLE_COLUMNS, SampleRow, record_row
from backend.outfiles import store_root
from backend.store import transaction

if TYPE_CHECKING:
    import sqlite_utils

BATCH_SIZE = 2000
# Rows per transaction when workers parse a large file: each commit rewrites the pages of the
# content-hash index that its (random) hashes touch, and at 1M rows a 10k-row commit already touches
# most of them, so fewer, bigger commits write far less (measured at 100k rows: 2k -> 10k took 15.5 s
# to 10 s to browsable). 50k rows hold ~100 MB while they wait; per-batch indexing keeps ``batch_size``.
BULK_BATCH_SIZE = 50_000
MAX_REPORTED_REJECTIONS = 1000   # the rest are counted, not listed
PROGRESS_EVERY_S = 0.1

INSERT_SQL = (f"INSERT OR IGNORE INTO samples ({', '.join(SAMPLE_COLUMNS)})"
              f" VALUES ({','.join('?' * len(SAMPLE_COLUMNS))})")
LEGACY_ROW_LEN = 15   # rows built before record/traits existed: padded with (None, 0)

Progress = Callable[[float, str], None]


def insert_samples(conn, rows: list[tuple] | list[SampleRow], *, index: bool = True) -> int:
    """Insert sample rows (:class:`SampleRow`, or tuples in SAMPLE_COLUMNS order); call inside a
    transaction. Returns rows added (a row whose content hash is in the store already is not).

    With ``index`` (small writers), the new rows are searchable at once when the index was
    complete; the importer passes False and leaves them to :mod:`backend.datasets.indexing`.
    """
    if rows and isinstance(rows[0], SampleRow):
        rows = [row.to_row() for row in rows]
    if rows and len(rows[0]) == LEGACY_ROW_LEN:
        rows = [(*r, None, 0) for r in rows]
    last = conn.execute("SELECT coalesce(max(id), 0) FROM samples").fetchone()[0]
    inserted = conn.executemany(INSERT_SQL, rows).rowcount
    if inserted and index:
        index_new_rows(conn, last)
    return inserted


def storage_error(exc: BaseException) -> str | None:
    """A one-line message for a write the disk refused (full, read-only); None for anything else."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("full" in text or "disk I/O" in text):
        return ("the disk is full: the import stopped; every completed batch is kept — free some space "
                "and import the same files again to add the rest (nothing is duplicated)")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ("the disk is full: the import stopped; every completed batch is kept — free some space "
                "and import the same files again to add the rest (nothing is duplicated)")
    if isinstance(exc, sqlite3.OperationalError) and "readonly" in text:
        return "the store is read-only: nothing more can be imported"
    return None


@dataclass
class Rejection:
    line: int
    reason: str
    file: str = ""

    def as_dict(self) -> dict:
        return {"line": self.line, "reason": self.reason, "file": self.file}


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_total: int = 0
    errors: list[str] = field(default_factory=list)   # files that could not be read at all
    files: int = 0
    records: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    unknown_fields: Counter = field(default_factory=Counter)   # field name -> records that had it

    @property
    def notices(self) -> list[str]:
        """Said once per import: unknown fields kept verbatim (in 'extra', exported back)."""
        return [f"kept {n:,} unknown field{'s' if n != 1 else ''} '{name}'"
                for name, n in self.unknown_fields.most_common()]

    def reject(self, line: int, reason: str, file: str, count: int = 1) -> None:
        """One rejection line; ``count`` records when it stands for the unreadable rest of a file."""
        self.rejected_total += count
        if len(self.rejected) < MAX_REPORTED_REJECTIONS:
            self.rejected.append(Rejection(line, reason, file))

    def as_dict(self) -> dict:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": [{"line": r.line, "reason": r.reason, "file": r.file} for r in self.rejected],
            "rejected_total": self.rejected_total,
            "errors": self.errors,
            "cancelled": self.cancelled,
            "notices": self.notices,
        }


def _never_cancelled() -> bool:
    return False


class _Meter:
    """Turns byte positions into a fraction, a rate and an ETA, at most every PROGRESS_EVERY_S."""

    def __init__(self, progress: Progress | None, total_bytes: int) -> None:
        self.progress = progress
        self.total = max(1, total_bytes)
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, done_bytes: int, report: ImportReport, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.perf_counter()
        if not force and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        elapsed = max(1e-6, now - self.start)
        frac = min(1.0, done_bytes / self.total)
        rate = report.records / elapsed
        eta = elapsed * (1 - frac) / frac if frac > 0.001 else None
        eta_text = f"ETA {int(eta) // 60}:{int(eta) % 60:02d}" if eta is not None else "ETA —"
        self.progress(frac, f"{report.imported:,} imported · {report.duplicates:,} duplicates · "
                            f"{report.rejected_total:,} rejected · {rate:,.0f} records/s · {eta_text}")


def import_paths(
    db: sqlite_utils.Database,
    sources: Iterable[Path | str],
    *,
    dataset: str | None = None,
    fmt: str = "auto",
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | object | None = None,
    index_batches: bool = False,
) -> ImportReport:
    """Import every file (or ``hf://owner/name`` hub dataset) in ``sources``; never raises for bad data.

    Rows are browsable as each batch commits; the search index is built behind them by
    :func:`backend.datasets.indexing.index_pending` (``index_batches`` indexes each batch in its
    transaction instead: slower in total, kept to measure against in ``bench_data.py``).
    """
    report = ImportReport()
    started = time.perf_counter()
    expanded: list[tuple[Path, str]] = []
    for source in sources:
        text = str(source)
        if fmt == "hub" or text.startswith("hf://"):
            from backend.datasets.hub import HubError, dataset_files

            repo_id = text.removeprefix("hf://").removeprefix("datasets/")
            try:
                expanded += [(p, dataset or repo_id) for p in dataset_files(repo_id)]
            except HubError as exc:
                report.errors.append(str(exc))
        else:
            expanded.append((Path(source), dataset or Path(source).stem))
    sizes = [p.stat().st_size if p.is_file() else 0 for p, _ in expanded]
    meter = _Meter(progress, sum(sizes))
    done_before = 0
    # Content hashes land at random places in their unique index: a bigger page cache for the
    # duration of the import keeps that index in memory (restored afterwards).
    # Large imports also checkpoint in the background (commits stop waiting for the disk); small
    # ones, the GUI's everyday case, never start the thread.
    with bulk_write_settings(db.conn, background_checkpoint=sum(sizes) >= PARALLEL_MIN_BYTES):
        for (path, name), size in zip(expanded, sizes, strict=True):
            if _is_cancelled(cancel):
                report.cancelled = True
                break
            try:
                _import_one(db, path, name, fmt, batch_size, report, meter, done_before, cancel, index_batches)
            except (sqlite3.OperationalError, OSError) as exc:
                message = storage_error(exc)
                if message is None:
                    raise
                report.errors.append(message)
                break
            done_before += size
    meter.update(done_before, report, force=True)
    report.seconds = time.perf_counter() - started
    return report


def _is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    return bool(cancel() if callable(cancel) else cancel)


def _import_one(db, path: Path, dataset: str, fmt: str, batch_size: int, report: ImportReport,
                meter: _Meter, done_before: int, cancel, index_batches: bool = False) -> None:
    try:
        reader = open_reader(path, "parquet" if fmt == "parquet" else "auto")
        records = iter(reader)
        first = next(records, None)  # Parquet opens lazily: surface a bad file before logging the run
    except FileUnreadable as exc:
        report.errors.append(str(exc))
        return
    report.files += 1
    conn = db.conn
    lock = RunLock(store_root(db))   # says "still running" to other processes until this one ends
    try:
        _run(db, conn, lock, path, dataset, fmt, batch_size, report, meter, done_before, cancel, index_batches,
             reader, records, first)
    finally:
        lock.release()


def _run(db, conn, lock: RunLock, path: Path, dataset: str, fmt: str, batch_size: int, report: ImportReport,
         meter: _Meter, done_before: int, cancel, index_batches: bool, reader, records, first) -> None:
    with transaction(db):
        run_id = conn.execute(
            "INSERT INTO sample_imports (source, dataset, format, started_at) VALUES (?,?,?,?)",
            (str(path), dataset, fmt, time.time()),
        ).lastrowid
        lock.bind(run_id)
    counts = [report.imported, report.duplicates, report.rejected_total]
    batch: list[tuple] = []
    source = str(path)
    now = time.time()
    status, message = "done", None

    def flush() -> None:
        if not batch:
            return
        with transaction(db):
            inserted = insert_samples(conn, batch, index=index_batches)
            conn.execute(
                "UPDATE sample_imports SET imported=imported+?, duplicates=duplicates+? WHERE id=?",
                (inserted, len(batch) - inserted, run_id),
            )
        report.imported += inserted
        report.duplicates += len(batch) - inserted
        batch.clear()

    parallel = use_parallel(reader, reader.total_bytes)
    try:
        if parallel:  # a large JSONL file: parsed by worker processes, read again from its start
            records.close()
            reader.bytes_done = 0
            for chunk in parsed_chunks(reader, fmt, dataset, source, batch_size, time.time,
                                       lambda: _is_cancelled(cancel)):
                report.records += chunk.records
                for line_no, reason in chunk.rejections:
                    report.reject(line_no, reason, source)
                report.unknown_fields.update(chunk.unknown_fields)
                batch.extend(chunk.rows)
                if len(batch) >= (batch_size if index_batches else max(batch_size, BULK_BATCH_SIZE)):
                    flush()
                    meter.update(done_before + chunk.bytes_done, report)
            flush()
            if _is_cancelled(cancel):
                report.cancelled = True
                status = "cancelled"
            records, first = iter(()), None
        chain = [] if first is None else [first]
        for location, value in _chain(chain, records):
            lost = value.records if isinstance(value, RestUnreadable) else 1
            report.records += lost
            row = record_row(value, fmt, dataset, source, location, now, report.unknown_fields)
            if isinstance(row, str):
                report.reject(location, row, source, lost)
                continue
            batch.append(row)
            if len(batch) >= batch_size:
                flush()
                now = time.time()
                meter.update(done_before + reader.bytes_done, report)
                if _is_cancelled(cancel):
                    report.cancelled = True
                    status = "cancelled"
                    break
        flush()
    except FileUnreadable as exc:  # cut short (truncated Parquet, a crashed reader): keep the rows before
        flush()
        report.errors.append(str(exc))
        status, message = "failed", str(exc)
    except (sqlite3.OperationalError, OSError) as exc:
        message = storage_error(exc)
        if message is None:
            raise
        report.errors.append(message)
        status = "failed"
    except BaseException:
        conn.execute("UPDATE sample_imports SET status='failed', finished_at=? WHERE id=?", (time.time(), run_id))
        raise
    try:
        conn.execute(
            "UPDATE sample_imports SET status=?, rejected=?, message=?, finished_at=? WHERE id=?",
            (status, report.rejected_total - counts[2], message, time.time(), run_id),
        )
    except sqlite3.OperationalError as exc:  # a full disk may refuse even this: the run stays 'running'
        if storage_error(exc) is None:
            raise


def _chain(first: list, rest):
    yield from first
    yield from rest
