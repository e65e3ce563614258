"""The one place a job's end is recorded: its ``jobs`` row made final and its metrics stored, once.

Whoever sees a job end calls :func:`finalise_job`: the blocking ``run_job``, a design run, a model
check, a training run, the Ray executor and the reconciliation that catches jobs nobody watched
(``records.sync_jobs``). Several of them can see the same end (a design run's own thread and the
Jobs page's reconciliation in a child process), so the write is idempotent: a conditional
``UPDATE ... WHERE status is not final`` inside ``BEGIN IMMEDIATE`` lets exactly one of them record
it, whatever the thread or process; the others return False and write nothing.

Metrics come from the caller when it already has them (a design run's event stream parsed the log
while the job ran: :class:`backend.jobs.watch.JobStream`), else from one parse of ``stdout.log``.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from itertools import repeat

from backend.jobs.spec import FINAL_STATUSES, JobResult
from backend.store import transaction

log = logging.getLogger(__name__)
_NOT_FINAL = ",".join("?" * len(FINAL_STATUSES))


def is_recorded(db, job_id: str) -> bool:
    """True when the job's row is final already (or there is no row to finish)."""
    row = db.conn.execute("SELECT status FROM jobs WHERE id=?", (job_id,)).fetchone()
    return row is None or row[0] in FINAL_STATUSES


def _write(db, result: JobResult, st: dict, columns: dict) -> bool:
    with transaction(db):
        cur = db.conn.execute(
            "UPDATE jobs SET status=?, reason=?, exit_code=?, signal=?, score=?, wall_s=?, peak_rss_mb=?,"
            f" pid=?, started_at=?, ended_at=? WHERE id=? AND status NOT IN ({_NOT_FINAL})",
            (
                result.status,
                result.reason,
                result.exit_code,
                result.signal,
                result.score,
                result.wall_s,
                result.peak_rss_mb,
                st.get("pid"),
                st.get("started_at"),
                st.get("ended_at") or time.time(),
                result.job_id,
                *FINAL_STATUSES,
            ),
        )
        if cur.rowcount == 0:
            return False  # recorded already (by another thread or process), or no row
        db.conn.execute("DELETE FROM metrics WHERE job_id=?", (result.job_id,))
        for name, (steps, values) in columns.items():
            # Rows straight from the columns (C loops): no point object per value.
            db.conn.executemany(
                "INSERT INTO metrics (job_id, name, step, value, recorded_at) VALUES (?,?,?,?,NULL)",
                zip(repeat(result.job_id), repeat(name), steps.tolist(), values.tolist()),
            )
    return True


def finalise_job(
    db,
    result: JobResult,
    status: dict | None = None,
    *,
    columns: dict | None = None,
    with_metrics: bool = True,
) -> bool:
    """Record the job's end (final row + metrics) unless it is recorded already; True when this call did.

    ``columns``: the metrics {name: (steps, values)} when the caller has them; otherwise ``stdout.log``
    is parsed here (only when the row still needs recording). On a full disk the row is recorded without
    its metrics, else not at all: the job folder keeps everything and the next reconciliation records it.
    """
    if result.status not in FINAL_STATUSES or is_recorded(db, result.job_id):
        return False
    st = status or {}
    if columns is None and with_metrics:
        from backend.jobs.metrics import parse_file_columns

        columns = parse_file_columns(result.stdout_path)
    for metrics in ((columns or {}), {}) if with_metrics else ({},):
        try:
            return _write(db, result, st, metrics)
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            log.warning(
                "job %s not recorded%s: %s", result.job_id, " with its metrics" if metrics else "", exc
            )
    return False
