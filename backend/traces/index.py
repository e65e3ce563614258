"""The trace list at scale: a per-session summary index and the filter queries over it.

A trace is a design session; its attempts are the session's ``design_steps``. Filtering 10,000
sessions / 200,000 attempts by outcome, error type or label in well under 100 ms needs per-session
facts precomputed, so ``trace_index`` / ``trace_errors`` hold one summary per session. They are a
cache, never the source: :func:`refresh` recomputes the sessions whose ``updated_at`` moved since
they were indexed (every step write bumps it), so any writer (the Design runner, the CLI, another
process) is picked up on the next query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import sqlite_utils

from backend.pipeline.state import RUN_STAGES as VALIDATION_STAGES
from backend.store import transaction

PROGRAM_STAGES = (*VALIDATION_STAGES, "final")   # stages that run a program
OUTCOMES = ("failed", "recovered", "clean", "never_ran", "open")
OUTCOME_TITLES = {"failed": "Failed", "recovered": "Recovered after debugging", "clean": "Ran clean",
                  "never_ran": "Never ran", "open": "Open"}
_LIGHT_COLUMNS = "id, session_id, parent_id, stage, status, error_type, score, job_id"
_CHUNK = 400


def summarise(steps: Iterable[dict]) -> dict:
    """Outcome and counts of one session from its steps (dicts with the light columns).

    - never_ran: no program ran (no steps yet, only designer stages, or only syntax errors);
    - recovered: an attempt failed and a later attempt on its branch scored;
    - failed: an attempt failed and nothing after it on any branch scored;
    - clean: runs and no failure; open: ran, no failure and no score yet (stopped, running).
    """
    steps = list(steps)
    children: dict[int | None, list[dict]] = {}
    for s in steps:
        children.setdefault(s["parent_id"], []).append(s)
    runs = [s for s in steps if s["stage"] in PROGRAM_STAGES]
    ran = any(s["job_id"] or (s["status"] in ("failed", "succeeded") and s["error_type"] != "SyntaxError")
              for s in runs)
    failed = [s for s in runs if s["error_type"] and s["status"] == "failed"]
    errors = Counter(s["error_type"] for s in steps if s["error_type"])

    def scored_below(step_id: int) -> bool:
        todo = list(children.get(step_id, ()))
        while todo:
            s = todo.pop()
            if s["score"] is not None and s["stage"] in PROGRAM_STAGES:
                return True
            todo.extend(children.get(s["id"], ()))
        return False

    if not ran and not failed:
        outcome = "never_ran"
    elif failed and any(scored_below(s["id"]) for s in failed):
        outcome = "recovered"
    elif failed:
        outcome = "never_ran" if not ran else "failed"
    elif any(s["score"] is not None for s in runs):
        outcome = "clean"
    else:
        outcome = "open"
    scores = [s["score"] for s in runs if s["score"] is not None]
    return {"outcome": outcome, "attempts": len(steps), "debug_steps": sum(1 for s in steps if s["stage"] == "debug"),
            "failures": len(failed), "best_score": max(scores) if scores else None, "errors": dict(errors)}


def stale_sessions(db: sqlite_utils.Database) -> list[int]:
    return [r[0] for r in db.conn.execute(
        "SELECT s.id FROM design_sessions s LEFT JOIN trace_index t ON t.session_id = s.id"
        " WHERE t.session_id IS NULL OR t.source_updated_at != s.updated_at")]


def refresh(db: sqlite_utils.Database, session_ids: Iterable[int] | None = None, progress=None) -> int:
    """Bring the summary index up to date (the given sessions, default: every changed one)."""
    ids = list(session_ids) if session_ids is not None else stale_sessions(db)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        sessions = {r["id"]: r for r in db.query(
            f"SELECT id, title, task, designer, programmer, created_at, updated_at FROM design_sessions"
            f" WHERE id IN ({marks})", chunk)}
        by_session: dict[int, list[dict]] = {sid: [] for sid in sessions}
        cur = db.conn.execute(f"SELECT {_LIGHT_COLUMNS} FROM design_steps WHERE session_id IN ({marks})", chunk)
        cols = [d[0] for d in cur.description]
        for row in cur:
            step = dict(zip(cols, row, strict=True))
            by_session.setdefault(step["session_id"], []).append(step)
        with transaction(db):
            for sid, session in sessions.items():
                facts = summarise(by_session.get(sid, []))
                db.conn.execute(
                    "INSERT INTO trace_index (session_id, source_updated_at, task, title, designer, programmer,"
                    " created_at, outcome, attempts, debug_steps, failures, best_score)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(session_id) DO UPDATE SET"
                    " source_updated_at=excluded.source_updated_at, task=excluded.task, title=excluded.title,"
                    " designer=excluded.designer, programmer=excluded.programmer, outcome=excluded.outcome,"
                    " attempts=excluded.attempts, debug_steps=excluded.debug_steps, failures=excluded.failures,"
                    " best_score=excluded.best_score",
                    (sid, session["updated_at"], session["task"], session["title"], session["designer"],
                     session["programmer"], session["created_at"], facts["outcome"], facts["attempts"],
                     facts["debug_steps"], facts["failures"], facts["best_score"]))
                db.conn.execute("DELETE FROM trace_errors WHERE session_id = ?", (sid,))
                db.conn.executemany("INSERT INTO trace_errors (error_type, session_id, n) VALUES (?, ?, ?)",
                                    [(e, sid, n) for e, n in facts["errors"].items()])
        if progress:
            progress(min(1.0, (start + len(chunk)) / len(ids)), f"Indexed {start + len(chunk):,} of {len(ids):,} traces")
    return len(ids)


@dataclass(frozen=True)
class TraceFilter:
    """What the trace list shows; every field narrows it (None/empty = any)."""

    outcome: str | None = None
    error_type: str | None = None
    label: str | None = None
    task: str | None = None
    designer: str | None = None
    programmer: str | None = None
    min_debug: int | None = None
    max_debug: int | None = None
    since: float | None = None        # created at or after (epoch seconds)
    until: float | None = None        # created before
    text: str = ""                    # words that must all appear in one attempt's code, output or debug log
    session_ids: tuple[int, ...] = field(default=())

    def with_(self, **changes) -> TraceFilter:
        return replace(self, **changes)


def fts_query(text: str) -> str:
    """User words as an FTS5 query: each word quoted (no syntax errors from '(' or '-'), all required."""
    words = [w.replace('"', '""') for w in text.split()]
    return " ".join(f'"{w}"' for w in words)


def _where(flt: TraceFilter) -> tuple[str, list]:
    conds, args = ["1"], []
    if flt.outcome:
        if flt.outcome not in OUTCOMES:
            raise ValueError(f"Unknown outcome {flt.outcome!r}; one of {', '.join(OUTCOMES)}.")
        conds.append("t.outcome = ?")
        args.append(flt.outcome)
    for column in ("task", "designer", "programmer"):
        value = getattr(flt, column)
        if value:
            conds.append(f"t.{column} = ?")
            args.append(value)
    if flt.error_type:
        conds.append("t.session_id IN (SELECT session_id FROM trace_errors WHERE error_type = ?)")
        args.append(flt.error_type)
    if flt.label:
        conds.append("t.session_id IN (SELECT session_id FROM trace_labels WHERE label = ?)")
        args.append(flt.label)
    if flt.min_debug is not None:
        conds.append("t.debug_steps >= ?")
        args.append(flt.min_debug)
    if flt.max_debug is not None:
        conds.append("t.debug_steps <= ?")
        args.append(flt.max_debug)
    if flt.since is not None:
        conds.append("t.created_at >= ?")
        args.append(flt.since)
    if flt.until is not None:
        conds.append("t.created_at < ?")
        args.append(flt.until)
    if flt.session_ids:
        conds.append(f"t.session_id IN ({','.join('?' * len(flt.session_ids))})")
        args.extend(flt.session_ids)
    if flt.text.strip():
        conds.append("t.session_id IN (SELECT d.session_id FROM trace_steps_fts f JOIN design_steps d"
                     " ON d.id = f.rowid WHERE trace_steps_fts MATCH ?)")
        args.append(fts_query(flt.text))
    return " AND ".join(conds), args


@dataclass
class TracePage:
    rows: list[dict]                  # newest first: session_id, task, title, designer, programmer, outcome, ...
    total: int                        # traces matching the filter
    error_counts: dict[str, int]      # traces per error type within the filter
    label_counts: dict[str, int]      # traces per label within the filter


def query(db: sqlite_utils.Database, flt: TraceFilter = TraceFilter(), *, limit: int = 500, offset: int = 0,
          counts: bool = True, refresh_first: bool = True) -> TracePage:
    """One page of traces for ``flt`` with its total and the per-error-type / per-label counts."""
    if refresh_first:
        refresh(db)
    where, args = _where(flt)
    rows = list(db.query(
        f"SELECT t.* FROM trace_index t WHERE {where} ORDER BY t.created_at DESC, t.session_id DESC"
        f" LIMIT ? OFFSET ?", [*args, limit, offset]))
    ids = [r["session_id"] for r in rows]
    errors: dict[int, list[str]] = {i: [] for i in ids}
    labels: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for sid, err in db.conn.execute(
                f"SELECT session_id, error_type FROM trace_errors WHERE session_id IN ({marks}) ORDER BY n DESC", chunk):
            errors[sid].append(err)
        for sid, label in db.conn.execute(
                f"SELECT DISTINCT session_id, label FROM trace_labels WHERE session_id IN ({marks})", chunk):
            labels[sid].append(label)
    for r in rows:
        r["error_types"] = errors[r["session_id"]]
        r["labels"] = sorted(labels[r["session_id"]])
    if not counts:
        return TracePage(rows, len(rows), {}, {})
    total = db.conn.execute(f"SELECT count(*) FROM trace_index t WHERE {where}", args).fetchone()[0]
    error_counts = dict(db.conn.execute(
        f"SELECT error_type, count(*) FROM trace_errors WHERE session_id IN"
        f" (SELECT t.session_id FROM trace_index t WHERE {where}) GROUP BY error_type ORDER BY 2 DESC", args).fetchall())
    label_counts = dict(db.conn.execute(
        f"SELECT label, count(DISTINCT session_id) FROM trace_labels WHERE session_id IN"
        f" (SELECT t.session_id FROM trace_index t WHERE {where}) GROUP BY label ORDER BY 2 DESC", args).fetchall())
    return TracePage(rows, total, error_counts, label_counts)


def matching_ids(db: sqlite_utils.Database, flt: TraceFilter) -> list[int]:
    """Every session id the filter matches (bulk labelling, export of a filtered set)."""
    refresh(db)
    where, args = _where(flt)
    return [r[0] for r in db.conn.execute(
        f"SELECT t.session_id FROM trace_index t WHERE {where} ORDER BY t.created_at DESC, t.session_id DESC", args)]


def facet_values(db: sqlite_utils.Database) -> dict[str, list[str]]:
    """The values the filter boxes offer (tasks, designers, programmers, error types)."""
    out = {}
    for column in ("task", "designer", "programmer"):
        out[column] = [r[0] for r in db.conn.execute(f"SELECT DISTINCT {column} FROM trace_index ORDER BY 1")]
    out["error_type"] = [r[0] for r in db.conn.execute("SELECT DISTINCT error_type FROM trace_errors ORDER BY 1")]
    return out
