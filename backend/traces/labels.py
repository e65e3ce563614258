"""Labels and notes on traces and attempts: an append-only history, current labels, undo by action.

Every user action (one key press, one bulk label of a filter, one note) is a *batch* of events in
``trace_label_events``; ``trace_labels`` holds the labels in force, for the filters. Undo reverses
the newest batch not yet undone and marks its events ``undone_at``; nothing is ever deleted, so the
history shows who labelled what and when, and what was taken back.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from backend import paths
from backend.errors import UserError
from backend.store import transaction

SHIPPED_LABELS = Path(__file__).resolve().parents[2] / "resources" / "traces" / "labels.json"
USER_LABELS_NAME = "trace_labels.json"   # in the data dir: the user's edited copy, when present
TRACE = 0                                # step_id of a label or note on the whole trace


class LabelError(UserError, ValueError):
    """A label or target that does not exist; ``str(exc)`` is the message for the user."""


@dataclass(frozen=True)
class Label:
    name: str
    title: str
    color: str = "#64748b"
    key: str = ""            # "1".."9", "0" for the first ten


def label_set(root: Path | None = None) -> list[Label]:
    """The label set: the user's copy in the data dir if there is one, else the shipped file."""
    user = (root or paths.data_dir()) / USER_LABELS_NAME
    source = user if user.is_file() else SHIPPED_LABELS
    try:
        raw = json.loads(source.read_text("utf-8"))["labels"]
        labels = [Label(str(x["name"]), str(x.get("title") or x["name"]), str(x.get("color") or "#64748b"))
                  for x in raw]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabelError(f"{source}: not a label set ({exc})") from exc
    keys = "1234567890"
    return [Label(lb.name, lb.title, lb.color, keys[i] if i < len(keys) else "") for i, lb in enumerate(labels)]


def author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return ""


def _next_batch(db: sqlite_utils.Database) -> int:
    return int(db.conn.execute("SELECT coalesce(max(batch), 0) + 1 FROM trace_label_events").fetchone()[0])


def _check_targets(db: sqlite_utils.Database, targets: list[tuple[int, int]]) -> None:
    for session_id, step_id in targets:
        if step_id == TRACE:
            ok = db.conn.execute("SELECT 1 FROM design_sessions WHERE id = ?", (session_id,)).fetchone()
            what = f"trace {session_id}"
        else:
            ok = db.conn.execute("SELECT 1 FROM design_steps WHERE id = ? AND session_id = ?",
                                 (step_id, session_id)).fetchone()
            what = f"attempt {step_id} in trace {session_id}"
        if ok is None:
            raise LabelError(f"There is no {what}.")


def add_labels(db: sqlite_utils.Database, targets: Iterable[tuple[int, int]], label: str,
               *, who: str | None = None, known: Iterable[str] | None = None) -> int:
    """Label every (session id, step id or TRACE) target; one undoable batch. Returns the batch id.

    ``known``: the label names allowed (default: the label set); free labels are refused so a
    typo does not start a new category.
    """
    names = set(known) if known is not None else {lb.name for lb in label_set()}
    if label not in names:
        raise LabelError(f"Unknown label {label!r}; known: {', '.join(sorted(names))}.")
    targets = list(dict.fromkeys(targets))
    _check_targets(db, targets)
    who = author() if who is None else who
    now = time.time()
    with transaction(db):
        batch = _next_batch(db)
        for session_id, step_id in targets:
            exists = db.conn.execute("SELECT 1 FROM trace_labels WHERE label = ? AND session_id = ? AND step_id = ?",
                                     (label, session_id, step_id)).fetchone()
            if exists:
                continue  # already labelled: nothing to record (and nothing for undo to take away)
            cur = db.conn.execute(
                "INSERT INTO trace_label_events (batch, session_id, step_id, action, label, author, created_at)"
                " VALUES (?, ?, ?, 'add', ?, ?, ?)", (batch, session_id, step_id, label, who, now))
            db.conn.execute("INSERT INTO trace_labels (label, session_id, step_id, event_id) VALUES (?, ?, ?, ?)",
                            (label, session_id, step_id, cur.lastrowid))
    return batch


def remove_label(db: sqlite_utils.Database, session_id: int, step_id: int, label: str,
                 *, who: str | None = None) -> int | None:
    """Take a label off one target (undoable); None when it was not there."""
    with transaction(db):
        if db.conn.execute("DELETE FROM trace_labels WHERE label = ? AND session_id = ? AND step_id = ?",
                           (label, session_id, step_id)).rowcount == 0:
            return None
        batch = _next_batch(db)
        db.conn.execute(
            "INSERT INTO trace_label_events (batch, session_id, step_id, action, label, author, created_at)"
            " VALUES (?, ?, ?, 'remove', ?, ?, ?)",
            (batch, session_id, step_id, label, author() if who is None else who, time.time()))
    return batch


def add_note(db: sqlite_utils.Database, session_id: int, step_id: int, text: str, *, who: str | None = None) -> int:
    """A free-text note on an attempt (or the trace); undoable like a label."""
    text = text.strip()
    if not text:
        raise LabelError("A note cannot be empty.")
    _check_targets(db, [(session_id, step_id)])
    with transaction(db):
        batch = _next_batch(db)
        db.conn.execute(
            "INSERT INTO trace_label_events (batch, session_id, step_id, action, note, author, created_at)"
            " VALUES (?, ?, ?, 'note', ?, ?, ?)",
            (batch, session_id, step_id, text, author() if who is None else who, time.time()))
    return batch


def undo(db: sqlite_utils.Database, *, who: str | None = None) -> dict | None:
    """Reverse the newest action not yet undone; returns what was undone, or None when nothing is left."""
    with transaction(db):
        row = db.conn.execute(
            "SELECT max(batch) FROM trace_label_events WHERE undone_at IS NULL AND action != 'undo'").fetchone()
        if row[0] is None:
            return None
        batch = int(row[0])
        events = list(db.query("SELECT * FROM trace_label_events WHERE batch = ? ORDER BY id", [batch]))
        now = time.time()
        for ev in events:
            if ev["action"] == "add":
                db.conn.execute("DELETE FROM trace_labels WHERE label = ? AND session_id = ? AND step_id = ?"
                                " AND event_id = ?", (ev["label"], ev["session_id"], ev["step_id"], ev["id"]))
            elif ev["action"] == "remove":
                db.conn.execute("INSERT OR IGNORE INTO trace_labels (label, session_id, step_id, event_id)"
                                " VALUES (?, ?, ?, ?)", (ev["label"], ev["session_id"], ev["step_id"], ev["id"]))
        db.conn.execute("UPDATE trace_label_events SET undone_at = ? WHERE batch = ?", (now, batch))
        first = events[0]
        db.conn.execute(
            "INSERT INTO trace_label_events (batch, session_id, step_id, action, note, author, created_at, undone_at)"
            " VALUES (?, ?, ?, 'undo', ?, ?, ?, ?)",
            (_next_batch(db), first["session_id"], first["step_id"], f"undid action {batch}",
             author() if who is None else who, now, now))
    return {"batch": batch, "action": first["action"], "label": first["label"], "count": len(events)}


def can_undo(db: sqlite_utils.Database) -> bool:
    return db.conn.execute("SELECT 1 FROM trace_label_events WHERE undone_at IS NULL AND action != 'undo'"
                           " LIMIT 1").fetchone() is not None


def labels_of(db: sqlite_utils.Database, session_id: int) -> dict[int, list[str]]:
    """Current labels of a trace, by step id (TRACE = 0 for the trace itself)."""
    out: dict[int, list[str]] = {}
    for step_id, label in db.conn.execute(
            "SELECT step_id, label FROM trace_labels WHERE session_id = ? ORDER BY event_id", (session_id,)):
        out.setdefault(step_id, []).append(label)
    return out


def notes_of(db: sqlite_utils.Database, session_id: int) -> dict[int, list[dict]]:
    """Notes in force (not undone), by step id, oldest first, with who and when."""
    out: dict[int, list[dict]] = {}
    for row in db.query("SELECT id, step_id, note, author, created_at FROM trace_label_events"
                        " WHERE session_id = ? AND action = 'note' AND undone_at IS NULL ORDER BY id", [session_id]):
        out.setdefault(row["step_id"], []).append(
            {"text": row["note"], "author": row["author"], "created_at": row["created_at"]})
    return out


def history(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Every label/note event of a trace (undone ones included), oldest first."""
    return list(db.query("SELECT * FROM trace_label_events WHERE session_id = ? ORDER BY id", [session_id]))
