"""Jobs in the store: the ``jobs`` row mirrors the job dir's ``status.json``; ``metrics`` holds parsed values.

The supervisor only writes files (it must stay lean and must not fight the GUI for the DB), so
whoever observes a job (``run_job``, the GUI, the CLI) brings the row up to date with
:func:`sync_jobs`. A row that is not final while its supervisor is gone becomes ``lost``. A job's end
is written by :func:`backend.jobs.finalise.finalise_job` alone.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from backend.jobs.finalise import finalise_job
from backend.jobs.spec import FINAL_STATUSES, JobSpec, JobStatus
from backend.jobs.status import mark_lost, read_status, result_from_status, supervisor_alive


def record_created(db, job_id: str, spec: JobSpec, workdir: Path) -> None:
    db["jobs"].insert({
        "id": job_id, "name": spec.name or Path(spec.argv[0]).name if spec.argv else job_id,
        "command": json.dumps(spec.argv), "interpreter": spec.interpreter, "workdir": str(workdir),
        "status": "queued", "gpu": spec.gpu, "limits": json.dumps(spec.to_dict()["limits"]),
        "origin": spec.origin, "created_at": time.time(),
    }, replace=True)


def finished_unrecorded(db) -> list[str]:
    """Ids of jobs that ended on disk but whose row is not final yet (cheap: reads status.json)."""
    marks = ",".join("?" * len(FINAL_STATUSES))
    rows = db.query(f"SELECT id, workdir FROM jobs WHERE status NOT IN ({marks})", FINAL_STATUSES)
    return [r["id"] for r in rows if read_status(Path(r["workdir"])).get("status") in FINAL_STATUSES]


def sync_jobs(db) -> list[str]:
    """Bring every unfinished row up to date from its job dir; returns ids whose status changed.

    This is the re-attach step after a GUI restart: running jobs stay running (their supervisor
    still holds its lock), finished ones get their final state and metrics, vanished ones are ``lost``.
    """
    changed = []
    marks = ",".join("?" * len(FINAL_STATUSES))
    rows = list(db.query(f"SELECT id, workdir, status FROM jobs WHERE status NOT IN ({marks})", FINAL_STATUSES))
    for row in rows:
        workdir = Path(row["workdir"])
        st = read_status(workdir)
        alive = supervisor_alive(workdir)
        status = st.get("status", "queued")
        if status in FINAL_STATUSES:
            finalise_job(db, result_from_status(row["id"], workdir, st), st)
            changed.append(row["id"])
        elif alive:
            if status != row["status"]:
                # Never over a final row: the job's end may have been recorded since the SELECT above.
                db.conn.execute(f"UPDATE jobs SET status=?, pid=?, started_at=? WHERE id=? AND status NOT IN ({marks})",
                                (status, st.get("pid"), st.get("started_at"), row["id"], *FINAL_STATUSES))
                changed.append(row["id"])
        elif "supervisor_pid" in st or not workdir.exists() or time.time() - float(st.get("created_at") or 0) > 30:
            # No supervisor and no final status: the job vanished. A job created a moment ago may
            # simply not have started its supervisor yet, hence the 30 s allowance.
            st = mark_lost(workdir, st)
            if st.get("status") != JobStatus.LOST:
                continue      # some of it still runs and could not be stopped: not "lost" yet
            finalise_job(db, result_from_status(row["id"], workdir, st), st, with_metrics=workdir.exists())
            changed.append(row["id"])
    return changed


def list_jobs(db, limit: int = 200) -> list[dict]:
    return list(db.query("SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", [limit]))


def latest_job(db, *, origin: str | None = None, status: str | None = None) -> dict | None:
    """The newest job with that origin and status (either may be None: any)."""
    rows = list(db.query("SELECT * FROM jobs WHERE (? IS NULL OR origin = ?) AND (? IS NULL OR status = ?)"
                         " ORDER BY created_at DESC LIMIT 1", [origin, origin, status, status]))
    return rows[0] if rows else None


def job_metric_names(db, job_id: str) -> list[str]:
    return [r["name"] for r in db.query("SELECT DISTINCT name FROM metrics WHERE job_id=? ORDER BY name", [job_id])]


def get_job(db, job_id: str) -> dict | None:
    rows = list(db.query("SELECT * FROM jobs WHERE id = ? OR id LIKE ? ORDER BY created_at DESC LIMIT 2",
                         [job_id, job_id + "%"]))
    if len(rows) == 1 or (rows and rows[0]["id"] == job_id):
        return rows[0]
    return None


def best_metric(db, job_id: str) -> tuple[str, float] | None:
    """The most telling number of a job: its score, else the best accuracy-like or lowest loss-like metric."""
    rows = list(db.query("SELECT name, max(value) AS hi, min(value) AS lo FROM metrics WHERE job_id=? GROUP BY name",
                         [job_id]))
    for row in rows:
        if any(k in row["name"] for k in ("acc", "f1", "bleu", "score")) and row["hi"] is not None:
            return row["name"], row["hi"]
    for row in rows:
        if "loss" in row["name"] and row["lo"] is not None:
            return row["name"], row["lo"]
    return None


def job_gpu_summary(workdir: Path) -> str:
    """One line about the GPU readings the job's supervisor recorded (``gpu.jsonl``)."""
    path = Path(workdir) / "gpu.jsonl"
    try:
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    except (OSError, ValueError):
        rows = []
    if not rows:
        return "No GPU readings recorded for this job."
    util = [r["util_pct"] for r in rows if r.get("util_pct") is not None]
    mem = [r["mem_used_mb"] for r in rows if r.get("mem_used_mb") is not None]
    span = rows[-1]["t"] - rows[0]["t"]
    return (f"Recorded during the job: {len({r['t'] for r in rows})} readings over {span:.0f} s; "
            f"peak utilisation {max(util, default=0):.0f}%, peak memory {max(mem, default=0) / 1024:.1f} GB.")


def metric_series(db, job_id: str) -> dict[str, list[tuple[float, float]]]:
    """A finished job's recorded metrics: name -> [(step, value)], in step order."""
    series: dict[str, list[tuple[float, float]]] = {}
    for name, step, value in db.conn.execute(
        "SELECT name, step, value FROM metrics WHERE job_id = ? AND value IS NOT NULL ORDER BY name, step", (job_id,)
    ):
        series.setdefault(name, []).append((float(step), float(value)))
    return series
