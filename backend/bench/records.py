"""The store side of sweeps: ``bench_sweeps`` (what to run) and ``bench_results`` (one row per run).

A sweep plans all its rows when it is created, so resuming is "run the rows not finished": a row
left ``running`` by a killed process is run again from a fresh session, and the unique key
(sweep, task, designer, variant, run) makes a duplicate impossible.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field

import sqlite_utils

from backend.children import pid_alive
from backend.errors import UserError
from backend.store import transaction

VARIANTS = ("base", "plus")
FINISHED = ("succeeded", "failed")          # a run that counts in the tables
RERUN = ("pending", "running", "lost", "cancelled")   # what a resumed sweep runs (again)


class SweepError(UserError, ValueError):
    """Bad sweep input or an unknown sweep; ``str(exc)`` is one line fit for the user."""


@dataclass
class SweepSpec:
    tasks: list[str]
    designers: list[str]
    programmer: str
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    runs: int = 8
    max_debug: int = 20
    time_limit_s: float = 4200.0
    train_time_limit_s: float = 3600.0
    subset_size: int = 1000
    max_tokens: int | None = None
    executor: str = "local"
    parallel: int | None = None      # None: one per GPU, at least one
    interpreter: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SweepSpec:
        raw = json.loads(text)
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})

    def check(self) -> None:
        if not self.tasks:
            raise SweepError("a sweep needs at least one task")
        if not self.designers:
            raise SweepError("a sweep needs at least one designer model")
        if not self.programmer:
            raise SweepError("a sweep needs a programmer model")
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or not self.variants:
            raise SweepError(f"unknown variant {', '.join(bad) or '(none)'}; use base and/or plus")
        if self.runs < 1:
            raise SweepError("--runs must be at least 1")


def create_sweep(db: sqlite_utils.Database, spec: SweepSpec) -> int:
    """Record the sweep and plan every run row, in one transaction (all or nothing)."""
    spec.check()
    now = time.time()
    with transaction(db):
        cur = db.conn.execute("INSERT INTO bench_sweeps (spec, status, created_at, updated_at) VALUES (?, 'pending', ?, ?)",
                              (spec.to_json(), now, now))
        sweep_id = int(cur.lastrowid)
        db.conn.executemany(
            "INSERT INTO bench_results (sweep_id, task, designer, variant, run_index) VALUES (?, ?, ?, ?, ?)",
            [(sweep_id, t, d, v, i) for t in spec.tasks for d in spec.designers for v in spec.variants
             for i in range(spec.runs)])
    return sweep_id


def sweep_row(db: sqlite_utils.Database, sweep_id: int) -> dict:
    rows = list(db.query("SELECT * FROM bench_sweeps WHERE id = ?", [sweep_id]))
    if not rows:
        raise SweepError(f"no sweep {sweep_id} (see `deepones bench list`)")
    return rows[0]


def sweep_spec(db: sqlite_utils.Database, sweep_id: int) -> SweepSpec:
    return SweepSpec.from_json(sweep_row(db, sweep_id)["spec"])


def set_sweep_status(db: sqlite_utils.Database, sweep_id: int, status: str, owner_pid: int | None = None) -> None:
    db.conn.execute("UPDATE bench_sweeps SET status = ?, owner_pid = ?, updated_at = ? WHERE id = ?",
                    (status, owner_pid, time.time(), sweep_id))


def claim_sweep(db: sqlite_utils.Database, sweep_id: int) -> None:
    """Mark the sweep as run by this process; refuse when another live process runs it."""
    with transaction(db):
        row = sweep_row(db, sweep_id)
        pid = row["owner_pid"]
        if row["status"] == "running" and pid and pid != os.getpid() and pid_alive(pid):
            raise SweepError(f"sweep {sweep_id} is being run by process {pid}")
        set_sweep_status(db, sweep_id, "running", os.getpid())


def list_sweeps(db: sqlite_utils.Database) -> list[dict]:
    out = []
    for row in db.query("SELECT * FROM bench_sweeps ORDER BY id DESC"):
        counts = dict(db.conn.execute("SELECT status, count(*) FROM bench_results WHERE sweep_id = ? GROUP BY status",
                                      (row["id"],)).fetchall())
        out.append({**row, "spec": json.loads(row["spec"]), "counts": counts})
    return out


def results(db: sqlite_utils.Database, sweep_id: int, *, where: str = "", args: tuple = ()) -> list[dict]:
    sql = "SELECT * FROM bench_results WHERE sweep_id = ?" + (f" AND {where}" if where else "")
    rows = list(db.query(sql + " ORDER BY task, designer, variant, run_index", [sweep_id, *args]))
    for row in rows:
        row["error_types"] = json.loads(row["error_types"] or "[]")
    return rows


def runs_to_do(db: sqlite_utils.Database, sweep_id: int) -> list[dict]:
    marks = ",".join("?" for _ in RERUN)
    return results(db, sweep_id, where=f"status IN ({marks})", args=RERUN)


def start_run(db: sqlite_utils.Database, row_id: int, session_id: int, executor: str) -> None:
    db.conn.execute("UPDATE bench_results SET status = 'running', session_id = ?, executor = ?, started_at = ?,"
                    " finished_at = NULL WHERE id = ?", (session_id, executor, time.time(), row_id))


def finish_run(db: sqlite_utils.Database, row_id: int, **fields) -> None:
    if "error_types" in fields:
        fields["error_types"] = json.dumps(fields["error_types"])
    fields["finished_at"] = time.time()
    sets = ", ".join(f"{k} = ?" for k in fields)
    db.conn.execute(f"UPDATE bench_results SET {sets} WHERE id = ?", (*fields.values(), row_id))


def progress(db: sqlite_utils.Database, sweep_id: int) -> dict:
    """Counts by status, and an ETA from the wall time of the runs finished so far."""
    rows = db.conn.execute(
        "SELECT status, count(*), avg(finished_at - started_at) FROM bench_results WHERE sweep_id = ? GROUP BY status",
        (sweep_id,)).fetchall()
    counts = {status: n for status, n, _ in rows}
    done = sum(counts.get(s, 0) for s in FINISHED)
    total = sum(counts.values())
    per_run = [avg for status, _, avg in rows if status in FINISHED and avg is not None]
    mean_s = sum(per_run) / len(per_run) if per_run else None
    return {"total": total, "done": done, "counts": counts, "mean_run_s": mean_s}


def eta_s(progress_info: dict, parallel: int) -> float | None:
    mean = progress_info["mean_run_s"]
    if mean is None:
        return None
    left = progress_info["total"] - progress_info["done"]
    return mean * left / max(1, parallel)
