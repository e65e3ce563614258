"""Training runs in the store (table ``train_runs``, migration m013).

A run is a recipe + base + data selection; each start or resume of it is an ordinary job, listed
in ``job_ids``. The run row keeps what the GUI and the CLI show without reading job folders: the
data counts per stage, the latest job, loss first/last, the adapter, merged folder and GGUF, and
the model's lineage.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from backend.store import transaction

if TYPE_CHECKING:
    import sqlite_utils

JSON_FIELDS = ("base", "recipe", "data_summary", "job_ids", "lineage", "evaluation")
RUN_STATUSES = ("created", "queued", "running", "succeeded", "failed", "cancelled", "timeout", "memory", "lost")


def _decode(row: dict | None) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in JSON_FIELDS:
        raw = out.get(key)
        out[key] = json.loads(raw) if raw else ({} if key not in ("job_ids",) else [])
    return out


def create_run(db: sqlite_utils.Database, *, name: str, trainer: str, base: dict, data_source: str,
               data_summary: list[dict], recipe: dict) -> int:
    now = time.time()
    with transaction(db):
        cur = db.conn.execute(
            "INSERT INTO train_runs (name, status, trainer, base_spec, base, data_source, data_summary, recipe,"
            " job_ids, created_at, updated_at) VALUES (?, 'created', ?, ?, ?, ?, ?, ?, '[]', ?, ?)",
            (name, trainer, base.get("spec", ""), json.dumps(base), data_source, json.dumps(data_summary),
             json.dumps(recipe), now, now))
        return int(cur.lastrowid)


def update_run(db: sqlite_utils.Database, run_id: int, **values: Any) -> None:
    if not values:
        return
    cols = []
    params: list = []
    for key, value in values.items():
        cols.append(f"{key}=?")
        params.append(json.dumps(value) if key in JSON_FIELDS else value)
    cols.append("updated_at=?")
    params += [time.time(), run_id]
    with transaction(db):
        db.conn.execute(f"UPDATE train_runs SET {', '.join(cols)} WHERE id=?", params)


def get_run(db: sqlite_utils.Database, run_id: int) -> dict | None:
    cur = db.conn.execute("SELECT * FROM train_runs WHERE id=?", (run_id,))
    row = cur.fetchone()
    return _decode(dict(zip([d[0] for d in cur.description], row, strict=True))) if row else None


def list_runs(db: sqlite_utils.Database, limit: int = 200) -> list[dict]:
    cur = db.conn.execute("SELECT * FROM train_runs ORDER BY id DESC LIMIT ?", (limit,))
    names = [d[0] for d in cur.description]
    return [_decode(dict(zip(names, row, strict=True))) for row in cur]


def attach_job(db: sqlite_utils.Database, run_id: int, job_id: str, workdir: str) -> None:
    run = get_run(db, run_id)
    if run is None:
        raise KeyError(run_id)
    update_run(db, run_id, job_ids=[*run["job_ids"], job_id], job_id=job_id, workdir=workdir, status="running")
