"""Generate runs in the store (migration m014_generate): runs, per-paper state, steps, provenance.

Every write is its own short transaction, made as the work finishes (a step as it is answered, a
paper's samples when it is done), so a run killed at any moment resumes from what was committed.
Samples land in ``samples`` with status ``generated`` and the run's dataset name, deduplicated by
content hash against the whole store (INSERT OR IGNORE on the unique hash): a second run over the
same papers with the same answers adds nothing. A sample this run added gets a
``sample_provenance`` row (paper id/title/year/section, repository file:line, model, prompt
version, run id); one that was already there keeps the provenance it had.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import sqlite_utils

from backend.errors import UserError
from backend.generate.model import CodeUnit, Paper, PaperSource
from backend.generate.pipeline import PaperResult, StepRecord
from backend.store import transaction

RUN_STATUSES = ("pending", "running", "finished", "cancelled", "interrupted", "failed")
PAPER_STATUSES = ("pending", "running", "done", "skipped", "failed")
SAMPLE_STATUS = "generated"

_INSERT_SAMPLE = (
    "INSERT OR IGNORE INTO samples (kind, category, instruction, input, output, system, history, options,"
    " answer, dataset, source_file, source_line, content_hash, created_at, updated_at, record, traits, status)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


class RunError(UserError, ValueError):
    """A run that does not exist or cannot do what was asked; one line for the user."""


def create_run(
    db: sqlite_utils.Database,
    sources: list[PaperSource],
    *,
    model: str,
    dataset: str,
    options: dict[str, Any],
    name: str = "",
) -> int:
    now = time.time()
    with transaction(db) as conn:
        cur = conn.execute(
            "INSERT INTO generate_runs (name, spec, model, dataset, options, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            (
                name,
                json.dumps({"sources": [{"paper": s.paper, "repo": s.repo} for s in sources]}),
                model,
                dataset,
                json.dumps(options),
                now,
                now,
            ),
        )
        run_id = cur.lastrowid
        conn.executemany(
            "INSERT INTO generate_papers (run_id, position, source, repo, updated_at) VALUES (?, ?, ?, ?, ?)",
            [(run_id, i, s.paper, s.repo, now) for i, s in enumerate(sources)],
        )
    return run_id


def run_row(db: sqlite_utils.Database, run_id: int) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM generate_runs WHERE id = ?", [run_id]))
    if not rows:
        raise RunError(f"no generate run {run_id} (see `deepones generate list`)")
    row = rows[0]
    for key in ("spec", "options", "counts"):
        row[key] = json.loads(row[key] or "{}")
    return row


def list_runs(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return [run_row(db, r["id"]) for r in db.query("SELECT id FROM generate_runs ORDER BY id DESC")]


def set_run_status(
    db: sqlite_utils.Database,
    run_id: int,
    status: str,
    message: str | None = None,
    *,
    owner_pid: int | None = None,
) -> None:
    now = time.time()
    with transaction(db) as conn:
        conn.execute(
            "UPDATE generate_runs SET status = ?, message = coalesce(?, message), owner_pid = ?, updated_at = ?,"
            " finished_at = CASE WHEN ? IN ('finished', 'cancelled', 'failed') THEN ? ELSE finished_at END"
            " WHERE id = ?",
            (status, message, owner_pid, now, status, now, run_id),
        )


def request_cancel(db: sqlite_utils.Database, run_id: int) -> str:
    """Ask a running run to stop (from another process: the CLI's ``cancel``); returns its status."""
    row = run_row(db, run_id)
    if row["status"] in ("running", "pending"):
        with transaction(db) as conn:
            conn.execute(
                "UPDATE generate_runs SET cancel_requested = 1, updated_at = ? WHERE id = ?",
                (time.time(), run_id),
            )
    return row["status"]


def cancel_requested(db: sqlite_utils.Database, run_id: int) -> bool:
    row = db.execute("SELECT cancel_requested FROM generate_runs WHERE id = ?", [run_id]).fetchone()
    return bool(row and row[0])


def claim_run(db: sqlite_utils.Database, run_id: int) -> dict[str, Any]:
    """Mark the run as running in this process (clearing an old cancel request); refuses a run that
    another live process is running."""
    from backend.children import pid_alive

    row = run_row(db, run_id)
    pid = row["owner_pid"]
    if row["status"] == "running" and pid and pid != os.getpid() and pid_alive(pid):
        raise RunError(f"generate run {run_id} is already running (process {pid})")
    with transaction(db) as conn:
        conn.execute(
            "UPDATE generate_runs SET status = 'running', cancel_requested = 0, owner_pid = ?,"
            " updated_at = ?, finished_at = NULL WHERE id = ?",
            (os.getpid(), time.time(), run_id),
        )
        # A paper left 'running' by a killed process starts again from its committed steps.
        conn.execute(
            "UPDATE generate_papers SET status = 'pending' WHERE run_id = ? AND status = 'running'", (run_id,)
        )
    return run_row(db, run_id)


def mark_interrupted(db: sqlite_utils.Database) -> list[int]:
    """Runs left 'running' by a process that is gone become 'interrupted' (resumable); their ids."""
    from backend.children import pid_alive

    gone = [
        r["id"]
        for r in db.query("SELECT id, owner_pid FROM generate_runs WHERE status = 'running'")
        if not (r["owner_pid"] and pid_alive(r["owner_pid"]))
    ]
    for run_id in gone:
        set_run_status(db, run_id, "interrupted", "the process running it ended before it finished")
    return gone


def papers(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    rows = list(db.query("SELECT * FROM generate_papers WHERE run_id = ? ORDER BY position", [run_id]))
    for row in rows:
        for key in ("sections", "code_units", "sample_hashes"):
            row[key] = json.loads(row[key] or "[]")
    return rows


def set_paper_read(
    db: sqlite_utils.Database, run_id: int, position: int, paper: Paper, units: list[CodeUnit]
) -> None:
    """What the readers found: the paper's id, title, year, section names and code units."""
    with transaction(db) as conn:
        conn.execute(
            "UPDATE generate_papers SET paper_id = ?, title = ?, year = ?, sections = ?, code_units = ?,"
            " status = 'running', updated_at = ? WHERE run_id = ? AND position = ?",
            (
                paper.paper_id,
                paper.title,
                paper.year,
                json.dumps([s.name for s in paper.sections]),
                json.dumps([{"kind": u.kind, "name": u.name, "file": u.file, "line": u.line} for u in units]),
                time.time(),
                run_id,
                position,
            ),
        )


def set_paper_status(
    db: sqlite_utils.Database, run_id: int, position: int, status: str, reason: str = ""
) -> None:
    with transaction(db) as conn:
        conn.execute(
            "UPDATE generate_papers SET status = ?, reason = ?, updated_at = ? WHERE run_id = ? AND position = ?",
            (status, reason, time.time(), run_id, position),
        )


def record_step(db: sqlite_utils.Database, run_id: int, position: int, step: StepRecord) -> None:
    with transaction(db) as conn:
        conn.execute(
            "INSERT OR REPLACE INTO generate_steps (run_id, position, name, status, reason, prompt, raw_answer, parsed,"
            " prompt_version, attempts, prompt_tokens, completion_tokens, started_at, finished_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                position,
                step.name,
                step.status,
                step.reason,
                json.dumps(step.prompt, ensure_ascii=False),
                step.raw,
                None if step.parsed is None else json.dumps(step.parsed, ensure_ascii=False),
                step.prompt_version,
                step.attempts,
                step.prompt_tokens,
                step.completion_tokens,
                step.started_at,
                step.finished_at,
            ),
        )


def steps(db: sqlite_utils.Database, run_id: int, position: int | None = None) -> list[StepRecord | dict]:
    """A paper's recorded steps as StepRecords (``position`` given), else every step row of the run."""
    if position is None:
        return list(
            db.query("SELECT * FROM generate_steps WHERE run_id = ? ORDER BY position, started_at", [run_id])
        )
    out = []
    for r in db.query(
        "SELECT * FROM generate_steps WHERE run_id = ? AND position = ? ORDER BY started_at, rowid",
        [run_id, position],
    ):
        out.append(
            StepRecord(
                r["name"],
                r["status"],
                r["reason"],
                json.loads(r["prompt"] or "[]"),
                r["raw_answer"],
                None if r["parsed"] is None else json.loads(r["parsed"]),
                r["prompt_version"],
                r["attempts"],
                r["prompt_tokens"],
                r["completion_tokens"],
                r["started_at"] or 0.0,
                r["finished_at"] or 0.0,
            )
        )
    return out


def done_steps(
    db: sqlite_utils.Database, run_id: int, position: int, *, retry_failed: bool = False
) -> dict[str, StepRecord]:
    """The steps a resume reuses: all recorded ones, or (``retry_failed``) all but the failed ones."""
    return {s.name: s for s in steps(db, run_id, position) if not (retry_failed and s.status == "failed")}


def record_paper_result(
    db: sqlite_utils.Database,
    run_id: int,
    position: int,
    result: PaperResult,
    *,
    model: str,
    dataset: str,
    source: str = "",
) -> int:
    """Store a finished paper's samples (status 'generated', deduplicated) with provenance; returns
    how many were new. Idempotent: storing the same result twice adds nothing."""
    from backend.datasets.indexing import index_new_rows
    from backend.datasets.rows import sample_values

    now = time.time()
    added = 0
    hashes = []
    with transaction(db) as conn:
        last = conn.execute("SELECT coalesce(max(id), 0) FROM samples").fetchone()[0]
        for gen in result.samples:
            sample = gen.to_store_sample()
            hashes.append(sample.content_hash())
            cur = conn.execute(
                _INSERT_SAMPLE,
                (*sample_values(sample, dataset, source or result.paper_id, None, now), SAMPLE_STATUS),
            )
            if cur.rowcount != 1:
                continue  # already in the store (an earlier run, an import): it keeps its provenance
            added += 1
            conn.execute(
                "INSERT INTO sample_provenance (sample_id, run_id, paper_id, paper_title, paper_year, section,"
                " repo_file, repo_line, model, prompt_version, step, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    cur.lastrowid,
                    run_id,
                    result.paper_id,
                    result.title,
                    result.year,
                    gen.section,
                    gen.repo_file,
                    gen.repo_line,
                    model,
                    gen.prompt_version,
                    gen.step,
                    now,
                ),
            )
        if added:
            index_new_rows(conn, last)
        conn.execute(
            "UPDATE generate_papers SET status = ?, reason = ?, sample_hashes = ?, samples_added = samples_added + ?,"
            " updated_at = ? WHERE run_id = ? AND position = ?",
            (result.status, result.reason, json.dumps(hashes), added, now, run_id, position),
        )
    return added


def provenance(db: sqlite_utils.Database, sample_id: int) -> dict[str, Any] | None:
    """Where a sample came from (Data's detail pane), or None for one Generate did not make."""
    rows = list(db.query("SELECT * FROM sample_provenance WHERE sample_id = ?", [sample_id]))
    return rows[0] if rows else None


def counts(db: sqlite_utils.Database, run_id: int) -> dict[str, Any]:
    """Papers by status, steps by stage and status, samples by kind (those the run produced)."""
    by_paper = dict(
        db.execute(
            "SELECT status, count(*) FROM generate_papers WHERE run_id = ? GROUP BY status", [run_id]
        ).fetchall()
    )
    by_step: dict[str, dict[str, int]] = {}
    for name, status, n in db.execute(
        "SELECT CASE WHEN instr(name, ':') > 0 THEN substr(name, 1, instr(name, ':') - 1) ELSE name END,"
        " status, count(*) FROM generate_steps WHERE run_id = ? GROUP BY 1, 2",
        [run_id],
    ).fetchall():
        by_step.setdefault(name, {})[status] = n
    hashes = [h for p in papers(db, run_id) for h in p["sample_hashes"]]
    by_kind: dict[str, int] = {}
    for i in range(0, len(hashes), 500):
        chunk = hashes[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for kind, n in db.execute(
            f"SELECT kind, count(*) FROM samples WHERE content_hash IN ({marks}) GROUP BY kind", chunk
        ).fetchall():
            by_kind[kind] = by_kind.get(kind, 0) + n
    added = db.execute(
        "SELECT coalesce(sum(samples_added), 0) FROM generate_papers WHERE run_id = ?", [run_id]
    ).fetchone()[0]
    tokens = db.execute(
        "SELECT coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0)"
        " FROM generate_steps WHERE run_id = ?",
        [run_id],
    ).fetchone()
    return {
        "papers": by_paper,
        "steps": by_step,
        "samples": sum(by_kind.values()),
        "samples_by_kind": by_kind,
        "samples_added": added,
        "prompt_tokens": tokens[0],
        "completion_tokens": tokens[1],
    }


def save_counts(db: sqlite_utils.Database, run_id: int) -> dict[str, Any]:
    result = counts(db, run_id)
    with transaction(db) as conn:
        conn.execute(
            "UPDATE generate_runs SET counts = ?, updated_at = ? WHERE id = ?",
            (json.dumps(result), time.time(), run_id),
        )
    return result


def show(db: sqlite_utils.Database, run_id: int) -> dict[str, Any]:
    """The run as ``deepones generate show --json`` prints it: per paper its title, section names,
    code units, steps (name, status, reason) and samples (id, kind, category)."""
    run = run_row(db, run_id)
    out_papers = []
    for p in papers(db, run_id):
        ids: dict[str, tuple] = {}
        hashes = p["sample_hashes"]
        if hashes:
            marks = ",".join("?" * len(hashes))
            for row in db.execute(
                f"SELECT content_hash, id, kind, category FROM samples WHERE content_hash IN ({marks})",
                hashes,
            ).fetchall():
                ids[row[0]] = row[1:]
        out_papers.append(
            {
                "position": p["position"],
                "source": p["source"],
                "repo": p["repo"],
                "paper_id": p["paper_id"],
                "title": p["title"],
                "year": p["year"],
                "status": p["status"],
                "reason": p["reason"],
                "sections": p["sections"],
                "code_units": p["code_units"],
                "steps": [
                    {"name": s["name"], "status": s["status"], "reason": s["reason"]}
                    for s in db.query(
                        "SELECT name, status, reason FROM generate_steps WHERE run_id = ? AND position = ?"
                        " ORDER BY started_at, rowid",
                        [run_id, p["position"]],
                    )
                ],
                "samples": [
                    {"id": ids[h][0], "kind": ids[h][1], "category": ids[h][2]} for h in hashes if h in ids
                ],
            }
        )
    return {
        "run_id": run_id,
        "name": run["name"],
        "model": run["model"],
        "dataset": run["dataset"],
        "status": run["status"],
        "message": run["message"],
        "counts": counts(db, run_id),
        "papers": out_papers,
    }
