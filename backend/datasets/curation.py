"""Curation writes: review status, tags, notes and inline edits (each edit recorded in sample_edits).

Every function returns what it replaced, so a caller (the GUI's undo stack, a script) can put
it back exactly; every write is one transaction.
"""

from __future__ import annotations

import json
import time
from array import array
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from backend.datasets.query import SampleFilter
from backend.datasets.schema import EDITABLE_FIELDS, KINDS, STATUSES, Sample, canonical_category
from backend.errors import UserError
from backend.store import transaction

if TYPE_CHECKING:
    import sqlite_utils

CHUNK = 500  # ids per statement: stays under SQLite's variable limit
PROGRESS_EVERY = 100  # chunks between progress reports (50,000 ids)

Progress = Callable[[float, str], None]


def _report(progress: Progress | None, done: int, total: int, verb: str) -> None:
    if progress is not None and total:
        progress(min(1.0, done / total), f"{verb} {done:,} of {total:,} samples")


class CurationError(UserError, ValueError):
    """An edit that cannot be applied; ``str(exc)`` says why."""


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise CurationError(f"unknown status {status!r} (expected one of {', '.join(STATUSES)})")


def set_status(db: sqlite_utils.Database, ids: Iterable[int], status: str,
               progress: Progress | None = None) -> dict[str, array]:
    """Set ``status`` on ``ids``; returns {previous status: ids} for the rows that changed."""
    _check_status(status)
    ids = list(ids)
    previous: dict[str, array] = {}
    now = time.time()
    with transaction(db) as conn:
        for n, chunk in enumerate(_chunks(ids)):
            if n % PROGRESS_EVERY == 0:
                _report(progress, n * CHUNK, len(ids), f"marking {status}:")
            marks = ",".join("?" * len(chunk))
            for sid, old in conn.execute(
                f"SELECT id, status FROM samples WHERE id IN ({marks}) AND status != ?", [*chunk, status]
            ):
                previous.setdefault(old, array("q")).append(sid)
            conn.execute(f"UPDATE samples SET status=?, updated_at=? WHERE id IN ({marks}) AND status != ?",
                         [status, now, *chunk, status])
    return previous


def set_status_matching(db: sqlite_utils.Database, flt: SampleFilter, status: str) -> dict[str, array]:
    """Set ``status`` on everything matching the filter (one transaction); returns what it replaced."""
    _check_status(status)
    where, params = flt.where()
    previous: dict[str, array] = {}
    with transaction(db) as conn:
        for sid, old in conn.execute(f"SELECT s.id, s.status FROM samples s WHERE ({where}) AND s.status != ?",
                                     [*params, status]):
            previous.setdefault(old, array("q")).append(sid)
        conn.execute(f"UPDATE samples SET status=?, updated_at=? WHERE id IN "
                     f"(SELECT s.id FROM samples s WHERE ({where}) AND s.status != ?)",
                     [status, time.time(), *params, status])
    return previous


def restore_status(db: sqlite_utils.Database, previous: dict[str, Iterable[int]],
                   progress: Progress | None = None) -> None:
    """Put each id back to the status it had (one transaction), with progress over all of them."""
    total = sum(len(ids) for ids in previous.values())  # type: ignore[arg-type]
    done = 0
    with transaction(db):
        for status, ids in previous.items():
            ids = list(ids)
            size = len(ids)

            def step(frac: float, _text: str, base: int = done, n: int = size) -> None:
                _report(progress, base + int(frac * n), total, "restoring")

            set_status(db, ids, status, progress=None if progress is None else step)
            done += size


def add_tag(db: sqlite_utils.Database, ids: Iterable[int], tag: str,
            progress: Progress | None = None) -> list[int]:
    """Tag ``ids``; returns the ids that did not have the tag yet (what undo removes)."""
    tag = tag.strip()
    if not tag:
        raise CurationError("a tag cannot be empty")
    ids = list(ids)
    added: list[int] = []
    with transaction(db) as conn:
        for n, chunk in enumerate(_chunks(ids)):
            if n % PROGRESS_EVERY == 0:
                _report(progress, n * CHUNK, len(ids), "tagging")
            marks = ",".join("?" * len(chunk))
            have = {r[0] for r in conn.execute(
                f"SELECT sample_id FROM sample_tags WHERE tag=? AND sample_id IN ({marks})", [tag, *chunk])}
            new = [i for i in chunk if i not in have]
            conn.executemany("INSERT OR IGNORE INTO sample_tags (sample_id, tag) VALUES (?, ?)",
                             [(i, tag) for i in new])
            added += new
    return added


def add_tag_matching(db: sqlite_utils.Database, flt: SampleFilter, tag: str) -> list[int]:
    """Tag everything matching the filter (one transaction); returns the ids newly tagged."""
    tag = tag.strip()
    if not tag:
        raise CurationError("a tag cannot be empty")
    where, params = flt.where()
    with transaction(db) as conn:
        added = [r[0] for r in conn.execute(
            f"SELECT s.id FROM samples s WHERE ({where}) AND s.id NOT IN (SELECT sample_id FROM sample_tags WHERE tag=?)",
            [*params, tag])]
        conn.executemany("INSERT OR IGNORE INTO sample_tags (sample_id, tag) VALUES (?, ?)", [(i, tag) for i in added])
    return added


def remove_tag(db: sqlite_utils.Database, ids: Iterable[int], tag: str,
               progress: Progress | None = None) -> list[int]:
    """Untag ``ids``; returns the ids that had the tag (what undo puts back)."""
    ids = list(ids)
    removed: list[int] = []
    with transaction(db) as conn:
        for n, chunk in enumerate(_chunks(ids)):
            if n % PROGRESS_EVERY == 0:
                _report(progress, n * CHUNK, len(ids), "untagging")
            marks = ",".join("?" * len(chunk))
            removed += [r[0] for r in conn.execute(
                f"SELECT sample_id FROM sample_tags WHERE tag=? AND sample_id IN ({marks})", [tag, *chunk])]
            conn.execute(f"DELETE FROM sample_tags WHERE tag=? AND sample_id IN ({marks})", [tag, *chunk])
    return removed


def edit_field(db: sqlite_utils.Database, sample_id: int, field: str, value: str) -> str | None:
    """Change one field, record the edit in sample_edits, keep the content hash right.

    Returns the previous value. Refuses an edit that would make the sample identical to another.
    """
    if field == "note":
        return _set_note(db, sample_id, value)
    if field not in EDITABLE_FIELDS:
        raise CurationError(f"field {field!r} cannot be edited")
    if field == "kind" and value not in KINDS:
        raise CurationError(f"unknown kind {value!r}")
    if field == "category":
        value = canonical_category(value)
    with transaction(db) as conn:
        row = conn.execute("SELECT * FROM samples WHERE id=?", (sample_id,)).fetchone()
        if row is None:
            raise CurationError(f"sample {sample_id} does not exist")
        names = [d[0] for d in conn.execute("SELECT * FROM samples LIMIT 0").description]
        current = dict(zip(names, row, strict=True))
        if field in ("instruction", "input", "output", "system") and current.get("record") \
                and json.loads(current["record"]).get("messages"):
            raise CurationError("this sample is a whole conversation (tool calls, content parts): its text is "
                                "exported from the conversation, so it cannot be edited field by field")
        old = current[field]
        if old == value:
            return old
        current[field] = value
        new_hash = _hash_of(current)
        clash = conn.execute("SELECT id FROM samples WHERE content_hash=? AND id != ?",
                             (new_hash, sample_id)).fetchone()
        if clash:
            raise CurationError(f"this edit would make the sample identical to sample #{clash[0]}")
        now = time.time()
        conn.execute(f"UPDATE samples SET {field}=?, content_hash=?, updated_at=? WHERE id=?",
                     (value, new_hash, now, sample_id))
        conn.execute("INSERT INTO sample_edits (sample_id, field, old_value, new_value, edited_at)"
                     " VALUES (?,?,?,?,?)", (sample_id, field, old, value, now))
    return old


def _set_note(db: sqlite_utils.Database, sample_id: int, note: str) -> str:
    with transaction(db) as conn:
        row = conn.execute("SELECT note FROM samples WHERE id=?", (sample_id,)).fetchone()
        if row is None:
            raise CurationError(f"sample {sample_id} does not exist")
        if row[0] != note:
            now = time.time()
            conn.execute("UPDATE samples SET note=?, updated_at=? WHERE id=?", (note, now, sample_id))
            conn.execute("INSERT INTO sample_edits (sample_id, field, old_value, new_value, edited_at)"
                         " VALUES (?,?,?,?,?)", (sample_id, "note", row[0], note, now))
    return row[0]


def _hash_of(row: dict) -> str:
    rich = json.loads(row["record"]) if row.get("record") else {}
    return Sample(
        kind=row["kind"], category=row["category"], instruction=row["instruction"], input=row["input"],
        output=row["output"], system=row["system"],
        history=json.loads(row["history"]) if row["history"] else None,
        options=json.loads(row["options"]) if row["options"] else None, answer=row["answer"],
        messages=rich.get("messages"), tools=rich.get("tools"), preference=rich.get("preference"),
        extra=rich.get("extra") or {},
    ).content_hash()


def edit_history(db: sqlite_utils.Database, sample_id: int) -> list[dict]:
    cur = db.conn.execute(
        "SELECT id, field, old_value, new_value, edited_at FROM sample_edits WHERE sample_id=? ORDER BY id DESC",
        (sample_id,),
    )
    return [dict(zip(("id", "field", "old", "new", "at"), r, strict=True)) for r in cur]
