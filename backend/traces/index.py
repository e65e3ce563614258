"""The trace list at scale: a per-session summary index and the filter queries over it.

A trace is a design session; its attempts are the session's ``design_steps``. Filtering 10,000
sessions / 200,000 attempts by outcome, error type or label in well under 100 ms needs per-session
facts precomputed, so ``trace_index`` / ``trace_errors`` hold one summary per session. They are a
cache, never the source: :func:`refresh` recomputes the sessions whose ``updated_at`` moved since
they were indexed (every step write bumps it), so any writer (the Design runner, the CLI, another
process) is picked up on the next query.
"""

from __future__ import annotations

import math
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
_PAGE_KEYS = ("session_id", "task", "title", "designer", "programmer", "created_at", "outcome", "attempts",
              "debug_steps", "failures", "best_score", "error_mask")
_PAGE_COLUMNS = ", ".join(f"t.{k}" for k in _PAGE_KEYS)
MAX_BITS = 62   # error types past this many are filtered and counted through trace_errors instead


def error_bits(db: sqlite_utils.Database) -> dict[str, int]:
    return dict(db.conn.execute("SELECT error_type, bit FROM trace_error_bits").fetchall())


def score_value(value: object) -> float | None:
    """A step's score as a number, or None: a row written by something else (an old import, a hand edit)
    may hold text there, and one such row must not break the listing of every trace."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def summarise(steps: Iterable[dict]) -> dict:
    """Outcome and counts of one session from its steps (dicts with the light columns).

    - never_ran: no program ran (no steps yet, only designer stages, or only syntax errors);
    - recovered: an attempt failed and a later attempt on its branch scored;
    - failed: an attempt failed and nothing after it on any branch scored;
    - clean: runs and no failure; open: ran, no failure and no score yet (stopped, running).
    """
    steps = [{**s, "score": score_value(s["score"])} for s in steps]
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


def _unchanged(db: sqlite_utils.Database) -> bool:
    """True when no session was added, removed or changed since indexed (four indexed lookups)."""
    a = db.conn.execute("SELECT count(*), max(updated_at) FROM design_sessions").fetchone()
    b = db.conn.execute("SELECT count(*), max(source_updated_at) FROM trace_index").fetchone()
    return a == b


def stale_sessions(db: sqlite_utils.Database) -> list[int]:
    if _unchanged(db):
        return []
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
            # Read under the write lock (BEGIN IMMEDIATE): another process or thread refreshing at the
            # same time may have just numbered a new error type, and a number read before the lock
            # would be handed out twice (UNIQUE constraint failed: trace_error_bits.bit).
            bits = error_bits(db)
            for sid, session in sessions.items():
                facts = summarise(by_session.get(sid, []))
                mask = 0
                for error in facts["errors"]:
                    if error not in bits and len(bits) < MAX_BITS:
                        bits[error] = len(bits)
                        db.conn.execute("INSERT INTO trace_error_bits (bit, error_type) VALUES (?, ?)",
                                        (bits[error], error))
                    if error in bits:
                        mask |= 1 << bits[error]
                db.conn.execute(
                    "INSERT INTO trace_index (session_id, source_updated_at, task, title, designer, programmer,"
                    " created_at, outcome, attempts, debug_steps, failures, best_score, error_mask)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(session_id) DO UPDATE SET"
                    " source_updated_at=excluded.source_updated_at, task=excluded.task, title=excluded.title,"
                    " designer=excluded.designer, programmer=excluded.programmer, outcome=excluded.outcome,"
                    " attempts=excluded.attempts, debug_steps=excluded.debug_steps, failures=excluded.failures,"
                    " best_score=excluded.best_score, error_mask=excluded.error_mask",
                    (sid, session["updated_at"], session["task"], session["title"], session["designer"],
                     session["programmer"], session["created_at"], facts["outcome"], facts["attempts"],
                     facts["debug_steps"], facts["failures"], facts["best_score"], mask))
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


_TEXT_SESSIONS = ("SELECT DISTINCT d.session_id FROM trace_steps_fts f JOIN design_steps d ON d.id = f.rowid"
                  " WHERE trace_steps_fts MATCH ?")


def fts_query(text: str) -> str:
    """User words as an FTS5 query: each word quoted (no syntax errors from '(' or '-'), all required."""
    words = [w.replace('"', '""') for w in text.split()]
    return " ".join(f'"{w}"' for w in words)


def _where(flt: TraceFilter, bits: dict[str, int] | None = None, text_table: str | None = None) -> tuple[str, list]:
    """SQL conditions on ``trace_index t`` for the filter. ``bits``: error types as mask bits (an
    error filter then needs no subquery); ``text_table``: a table already holding the sessions the
    text matches (so a query of several statements searches the text once)."""
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
    if flt.error_type and bits is not None and flt.error_type in bits:
        conds.append("(t.error_mask & ?) != 0")
        args.append(1 << bits[flt.error_type])
    elif flt.error_type:
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
    if flt.text.strip() and text_table:
        conds.append(f"t.session_id IN (SELECT session_id FROM {text_table})")
    elif flt.text.strip():
        conds.append(f"t.session_id IN ({_TEXT_SESSIONS})")
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
    bits = error_bits(db)
    text_table = None
    if flt.text.strip():
        # Search once into a temp table; the page, the total and the counts all read it.
        text_table = "temp.trace_text_hits"
        db.conn.execute("CREATE TEMP TABLE IF NOT EXISTS trace_text_hits (session_id INTEGER PRIMARY KEY)")
        db.conn.execute(f"DELETE FROM {text_table}")
        db.conn.execute(f"INSERT INTO {text_table} {_TEXT_SESSIONS}", (fts_query(flt.text),))
    where, args = _where(flt, bits, text_table)
    cur = db.conn.execute(
        f"SELECT {_PAGE_COLUMNS} FROM trace_index t WHERE {where} ORDER BY t.created_at DESC, t.session_id DESC"
        f" LIMIT ? OFFSET ?", [*args, limit, offset])
    names = sorted(bits, key=bits.get)
    overflow = len(bits) >= MAX_BITS
    rows = []
    for values in cur:
        r = dict(zip(_PAGE_KEYS, values, strict=True))
        mask = r.pop("error_mask")
        r["error_types"] = [n for n in names if mask >> bits[n] & 1]
        r["labels"] = []
        rows.append(r)
    by_id = {r["session_id"]: r for r in rows}
    ids = list(by_id)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for sid, label in db.conn.execute(
                f"SELECT DISTINCT session_id, label FROM trace_labels WHERE session_id IN ({marks}) ORDER BY label",
                chunk):
            by_id[sid]["labels"].append(label)
        if overflow:
            for sid, err in db.conn.execute(
                    f"SELECT session_id, error_type FROM trace_errors WHERE session_id IN ({marks}) AND error_type"
                    f" NOT IN (SELECT error_type FROM trace_error_bits)", chunk):
                by_id[sid]["error_types"].append(err)
    if not counts:
        return TracePage(rows, len(rows), {}, {})
    # One pass over the matching rows: the total and a count per error bit.
    sums = "".join(f", sum((t.error_mask >> {bits[n]}) & 1)" for n in names)
    first = db.conn.execute(f"SELECT count(*){sums} FROM trace_index t WHERE {where}", args).fetchone()
    total = first[0]
    error_counts = {n: c for n, c in zip(names, first[1:], strict=True) if c}
    if overflow:  # rare: more error types than bits; count the rest the slow way
        error_counts.update(dict(db.conn.execute(
            f"SELECT e.error_type, count(*) FROM trace_index t JOIN trace_errors e ON e.session_id = t.session_id"
            f" WHERE {where} AND e.error_type NOT IN (SELECT error_type FROM trace_error_bits)"
            f" GROUP BY e.error_type", args).fetchall()))
    error_counts = dict(sorted(error_counts.items(), key=lambda kv: (-kv[1], kv[0])))
    # Labels are few next to traces: walk them and look each trace up.
    label_counts = dict(db.conn.execute(
        f"SELECT l.label, count(DISTINCT l.session_id) FROM trace_labels l JOIN trace_index t"
        f" ON t.session_id = l.session_id WHERE {where} GROUP BY l.label ORDER BY 2 DESC, 1", args).fetchall())
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
