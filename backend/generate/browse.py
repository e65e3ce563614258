"""Reading a Generate run for the workspace: its steps as a light list, one step in full, its latest samples.

Kept apart from :mod:`backend.generate.runs` (which writes runs) so the views read exactly what they
show: the step list carries no prompts (they are the paper's text, ~12 KB each), a step's prompt
and raw answer are read when it is selected, and the latest samples come with their ids (what
"Open in Data" needs).
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils


def step_list(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    """Every recorded step of ``run_id``: position, paper title, name, status, reason, prompt version."""
    cur = db.execute(
        "SELECT s.position, coalesce(nullif(p.title, ''), p.source), s.name, s.status, s.reason, s.prompt_version,"
        " s.attempts FROM generate_steps s JOIN generate_papers p ON p.run_id = s.run_id AND p.position = s.position"
        " WHERE s.run_id = ? ORDER BY s.position, s.started_at, s.rowid",
        [run_id],
    )
    names = ("position", "paper", "name", "status", "reason", "prompt_version", "attempts")
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def step_detail(db: sqlite_utils.Database, run_id: int, position: int, name: str) -> dict[str, Any] | None:
    """One step in full: the prompt as readable text, the raw answer, the parsed JSON (pretty), why it failed."""
    row = db.execute(
        "SELECT status, reason, prompt, raw_answer, parsed, prompt_version, attempts, prompt_tokens,"
        " completion_tokens FROM generate_steps WHERE run_id = ? AND position = ? AND name = ?",
        [run_id, position, name],
    ).fetchone()
    if row is None:
        return None
    status, reason, prompt, raw, parsed, version, attempts, p_tokens, c_tokens = row
    try:
        messages = json.loads(prompt or "[]")
    except ValueError:
        messages = []
    prompt_text = "\n\n".join(
        f"── {m.get('role', '?')} ──\n{m.get('content', '')}" for m in messages if isinstance(m, dict)
    )
    parsed_text = ""
    if parsed:
        try:
            parsed_text = json.dumps(json.loads(parsed), indent=2, ensure_ascii=False)
        except ValueError:
            parsed_text = parsed
    return {
        "status": status,
        "reason": reason,
        "prompt": prompt_text,
        "raw": raw or "",
        "parsed": parsed_text,
        "prompt_version": version,
        "attempts": attempts,
        "prompt_tokens": p_tokens,
        "completion_tokens": c_tokens,
    }


def recent_samples(db: sqlite_utils.Database, run_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The run's latest samples, newest first, with their ids and papers (the live view)."""
    cur = db.execute(
        "SELECT s.id, s.kind, s.category, substr(s.instruction, 1, 200), p.paper_id, p.paper_title, s.status"
        " FROM sample_provenance p JOIN samples s ON s.id = p.sample_id WHERE p.run_id = ?"
        " ORDER BY p.sample_id DESC LIMIT ?",
        [run_id, limit],
    )
    names = ("id", "kind", "category", "instruction", "paper_id", "paper_title", "status")
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def run_list(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Runs newest first for the runs table, with runs whose process is gone marked interrupted first."""
    from backend.generate import runs

    runs.mark_interrupted(db)
    out = []
    for row in runs.list_runs(db):
        papers = db.execute(
            "SELECT count(*), sum(status IN ('done', 'skipped', 'failed')), sum(samples_added)"
            " FROM generate_papers WHERE run_id = ?",
            [row["id"]],
        ).fetchone()
        out.append(
            {
                "id": row["id"],
                "name": row["name"],
                "dataset": row["dataset"],
                "model": row["model"],
                "status": row["status"],
                "message": row["message"] or "",
                "papers": papers[0] or 0,
                "papers_done": papers[1] or 0,
                "samples_added": papers[2] or 0,
                "created_at": row["created_at"],
                "options": row["options"],
            }
        )
    return out
