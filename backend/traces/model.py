"""A trace: one design session as a tree of attempts, read from what the Design pipeline recorded.

Nothing is copied: :func:`load_trace` reads ``design_sessions`` / ``design_steps`` (the code that
ran is version 0 in ``design_edits`` when the user edited it later) and this area's labels and
notes. Long run output is capped for display (head and tail; the job folder keeps it all).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields

import sqlite_utils

from backend.pipeline.state import STAGE_TITLES
from backend.traces import labels as label_store
from backend.traces.index import PROGRAM_STAGES, summarise

OUTPUT_HEAD, OUTPUT_TAIL = 2_000, 18_000


class TraceNotFound(LookupError):
    pass


def _join(head: bytes, total: int, tail: bytes | None) -> str:
    if tail is None:
        return head.decode("utf-8", errors="replace")
    cut = total - OUTPUT_HEAD - OUTPUT_TAIL
    return (head.decode("utf-8", errors="replace") + f"\n[... {cut} bytes cut; the job folder has the whole log ...]\n"
            + tail.decode("utf-8", errors="replace"))


def cap_output(text: str | None) -> str:
    """Head and tail of a long log (the error is at the end), with a marker saying what was cut."""
    raw = (text or "").encode("utf-8")
    if len(raw) <= OUTPUT_HEAD + OUTPUT_TAIL:
        return text or ""
    return _join(raw[:OUTPUT_HEAD], len(raw), raw[-OUTPUT_TAIL:])


def _capped(column: str) -> str:
    """SQL giving (head or whole, total bytes, tail or NULL) of a log: a long one never leaves SQLite
    whole. Bytes, not characters: a blob's length and substr need no scan of the text."""
    blob, keep = f"CAST({column} AS BLOB)", OUTPUT_HEAD + OUTPUT_TAIL
    return (f"CASE WHEN length({blob}) <= {keep} THEN {blob} ELSE substr({blob}, 1, {OUTPUT_HEAD}) END,"
            f" length({blob}), CASE WHEN length({blob}) > {keep} THEN substr({blob}, -{OUTPUT_TAIL}) END")


@dataclass
class Attempt:
    id: int
    parent_id: int | None
    stage: str
    attempt: int
    status: str
    prompt: str = ""
    response: str = ""
    code: str = ""                  # the code that ran (before any later hand edit)
    edited_code: str | None = None  # the step's code now, when a user edited it after the run
    stdout: str = ""
    stderr: str = ""
    error_type: str | None = None
    debug_log: str | None = None
    score: float | None = None
    job_id: str | None = None
    model: str | None = None
    origin: str = "model"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    timings: dict = field(default_factory=dict)
    created_at: float = 0.0
    labels: list[str] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)

    @property
    def title(self) -> str:
        base = STAGE_TITLES.get(self.stage, self.stage)
        return f"{base} {self.attempt}" if self.stage in ("debug", "validate") else base

    @property
    def is_run(self) -> bool:
        return self.stage in PROGRAM_STAGES

    @property
    def failed(self) -> bool:
        return self.status == "failed" and bool(self.error_type)


@dataclass
class Trace:
    session_id: int
    title: str
    task: str
    task_description: str
    designer: str
    programmer: str
    status: str
    created_at: float
    outcome: str
    attempts: list[Attempt]
    labels: list[str] = field(default_factory=list)       # on the whole trace
    notes: list[dict] = field(default_factory=list)

    def attempt(self, step_id: int) -> Attempt:
        for a in self.attempts:
            if a.id == step_id:
                return a
        raise TraceNotFound(f"Trace {self.session_id} has no attempt {step_id}")

    def children(self, step_id: int | None) -> list[Attempt]:
        return [a for a in self.attempts if a.parent_id == step_id]

    def path(self, step_id: int) -> list[Attempt]:
        """Root ... ``step_id`` through the parents."""
        by_id = {a.id: a for a in self.attempts}
        out, cur = [], by_id.get(step_id)
        while cur is not None:
            out.append(cur)
            cur = by_id.get(cur.parent_id) if cur.parent_id is not None else None
        return out[::-1]

    def previous_run(self, step_id: int) -> Attempt | None:
        """The nearest earlier program on this attempt's branch (what a diff compares against)."""
        for a in reversed(self.path(step_id)[:-1]):
            if a.is_run and a.code:
                return a
        return None

    def debug_log_so_far(self, step_id: int) -> list[str]:
        return [a.debug_log for a in self.path(step_id) if a.stage in ("debug", "validate") and a.debug_log]

    def depth(self, step_id: int) -> int:
        return len(self.path(step_id)) - 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Trace:
        """A trace from an export file, its fields type-checked: a file is someone else's text, and a
        score that is not a number or an id that is not an integer would break every later listing.
        Raises TypeError saying which attempt and field."""
        if not isinstance(data, dict) or not isinstance(data.get("attempts"), list):
            raise TypeError("'attempts' must be a list")
        known = {f.name for f in fields(Attempt)}
        attempts = []
        for n, a in enumerate(data["attempts"], 1):
            if not isinstance(a, dict):
                raise TypeError(f"attempt {n} is not an object")
            _check_types(a, _ATTEMPT_TYPES, f"attempt {n}")
            attempts.append(Attempt(**{k: v for k, v in a.items() if k in known}))
        top = {f.name for f in fields(cls)} - {"attempts"}
        _check_types(data, _TRACE_TYPES, "trace")
        return cls(attempts=attempts, **{k: v for k, v in data.items() if k in top})


_INT, _NUM, _TEXT = "an integer", "a number", "text"
_ATTEMPT_TYPES = {"id": (_INT, False), "parent_id": (_INT, True), "attempt": (_INT, True), "stage": (_TEXT, False),
                  "status": (_TEXT, False), "prompt": (_TEXT, True), "response": (_TEXT, True), "code": (_TEXT, True),
                  "edited_code": (_TEXT, True), "stdout": (_TEXT, True), "stderr": (_TEXT, True),
                  "error_type": (_TEXT, True), "debug_log": (_TEXT, True), "score": (_NUM, True),
                  "job_id": (_TEXT, True), "model": (_TEXT, True), "origin": (_TEXT, True),
                  "prompt_tokens": (_INT, True), "completion_tokens": (_INT, True), "created_at": (_NUM, True)}
_TRACE_TYPES = {"session_id": (_INT, True), "title": (_TEXT, True), "task": (_TEXT, True),
                "task_description": (_TEXT, True), "designer": (_TEXT, True), "programmer": (_TEXT, True),
                "status": (_TEXT, True), "created_at": (_NUM, True), "outcome": (_TEXT, True)}


def _check_types(data: dict, types: dict, where: str) -> None:
    for name, (kind, optional) in types.items():
        if name not in data:
            if optional:
                continue
            raise TypeError(f"{where}: missing '{name}'")
        value = data[name]
        if value is None and optional:
            continue
        ok = (isinstance(value, str) if kind == _TEXT else
              isinstance(value, int) and not isinstance(value, bool) if kind == _INT else
              isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))
        if not ok:
            raise TypeError(f"{where}: '{name}' must be {kind}, not {type(value).__name__} {str(value)[:40]!r}")
    for name in ("labels", "notes"):
        if name in data and not isinstance(data[name], list):
            raise TypeError(f"{where}: '{name}' must be a list")
    if "labels" in data and not all(isinstance(x, str) for x in data["labels"]):
        raise TypeError(f"{where}: 'labels' must be a list of text")
    if "timings" in data and not isinstance(data["timings"], dict):
        raise TypeError(f"{where}: 'timings' must be an object")


def load_trace(db: sqlite_utils.Database, session_id: int) -> Trace:
    row = db.conn.execute(
        "SELECT id, title, task, task_spec, designer, programmer, status, created_at FROM design_sessions"
        " WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise TraceNotFound(f"No trace {session_id} (no design session with that id).")
    _, title, task, task_spec, designer, programmer, status, created_at = row
    try:
        description = str(json.loads(task_spec or "{}").get("description") or "")
    except ValueError:
        description = ""
    ran_code = dict(db.conn.execute(
        "SELECT step_id, value FROM design_edits WHERE session_id = ? AND field = 'code' AND version = 0"
        " AND step_id IS NOT NULL", (session_id,)).fetchall())
    cur = db.conn.execute(
        f"SELECT id, parent_id, stage, attempt, status, prompt, response, code, {_capped('stdout')},"
        f" {_capped('stderr')}, error_type, debug_log, score, job_id, model, origin, prompt_tokens,"
        " completion_tokens, timings, created_at FROM design_steps WHERE session_id = ? ORDER BY id", (session_id,))
    labels = label_store.labels_of(db, session_id)
    notes = label_store.notes_of(db, session_id)
    attempts = []
    for (sid, parent, stage, attempt, st, prompt, response, code, out_head, out_n, out_tail, err_head, err_n,
         err_tail, err, log, score, job, model, origin, ptok, ctok, timings, created) in cur:
        try:
            timing = json.loads(timings) if timings else {}
        except ValueError:
            timing = {}
        original = ran_code.get(sid)
        attempts.append(Attempt(
            id=sid, parent_id=parent, stage=stage, attempt=attempt or 0, status=st, prompt=prompt or "",
            response=response or "", code=(original if original is not None else code) or "",
            edited_code=code if original is not None and code != original else None,
            stdout=_join(out_head or b"", out_n or 0, out_tail), stderr=_join(err_head or b"", err_n or 0, err_tail), error_type=err, debug_log=log, score=score,
            job_id=job, model=model, origin=origin or "model", prompt_tokens=ptok, completion_tokens=ctok,
            timings=timing, created_at=created or 0.0, labels=labels.get(sid, []), notes=notes.get(sid, [])))
    facts = summarise({"id": a.id, "parent_id": a.parent_id, "stage": a.stage, "status": a.status,
                       "error_type": a.error_type, "score": a.score, "job_id": a.job_id} for a in attempts)
    return Trace(session_id=session_id, title=title or "", task=task, task_description=description,
                 designer=designer or "", programmer=programmer or "", status=status or "", created_at=created_at,
                 outcome=facts["outcome"], attempts=attempts, labels=labels.get(label_store.TRACE, []),
                 notes=notes.get(label_store.TRACE, []))
