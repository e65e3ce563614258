"""Recording design sessions: every call and run is a row in ``design_steps``; forks form a tree.

A session's ``current_step_id`` is the tip of the branch being worked on; the branch is the path
from the root to it through ``parent_id``. Forking moves the tip back to an earlier step; the
next step then becomes a sibling of the old one, and the old branch stays in the tree.
"""

from __future__ import annotations

import json
import os
import time

import sqlite_utils

from backend.children import pid_alive
from backend.pipeline.state import SessionSettings, SessionState, Step
from backend.pipeline.tasks import Task
from backend.store import transaction

_JSON_FIELDS = ("timings", "hyperparameters")
_STEP_COLUMNS = (
    "stage", "attempt", "status", "prompt", "response", "code", "reference_code", "hyperparameters",
    "stdout", "stderr", "error_type", "debug_log", "score", "job_id", "prompt_tokens",
    "completion_tokens", "timings", "code_version", "origin", "model", "stop_reason", "runner_pid",
)
# What a re-run in place clears: the step keeps its id, place in the tree, stage and attempt.
_RESULT_FIELDS = dict(response="", code=None, reference_code=None, hyperparameters=None, stdout=None, stderr=None,
                      error_type=None, debug_log=None, score=None, job_id=None, prompt_tokens=None,
                      completion_tokens=None, stop_reason=None)


class SessionNotFound(LookupError):
    pass


def _step_from_row(row: dict) -> Step:
    data = {k: row[k] for k in Step.__dataclass_fields__ if k in row}
    for key in _JSON_FIELDS:
        raw = data.get(key)
        data[key] = json.loads(raw) if isinstance(raw, str) and raw else ({} if key == "timings" else None)
    data["prompt"] = data.get("prompt") or ""
    data["response"] = data.get("response") or ""
    return Step(**data)


def _encode(fields: dict) -> dict:
    out = {}
    for key, value in fields.items():
        if key not in _STEP_COLUMNS:
            raise KeyError(f"design_steps has no column {key!r}")
        out[key] = json.dumps(value) if key in _JSON_FIELDS and value is not None else value
    return out


class SessionStore:
    """Reads and writes one store's design sessions (one instance per thread/connection)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    # -- sessions ---------------------------------------------------------------------------
    def create_session(self, task: Task, designer: str, programmer: str,
                       settings: SessionSettings | None = None, title: str = "") -> int:
        now = time.time()
        cur = self.db.conn.execute(
            "INSERT INTO design_sessions (title, task, task_spec, designer, programmer, settings, status,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)",
            (title or task.title, task.name, json.dumps(task.to_dict()), designer, programmer,
             (settings or SessionSettings()).to_json(), now, now),
        )
        return int(cur.lastrowid)

    def session_row(self, session_id: int) -> dict:
        row = self.db.conn.execute("SELECT * FROM design_sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFound(f"No design session {session_id}")
        cols = [d[0] for d in self.db.conn.execute("SELECT * FROM design_sessions LIMIT 0").description]
        return dict(zip(cols, row, strict=True))

    def list_sessions(self) -> list[dict]:
        return list(self.db.query(
            "SELECT id, title, task, designer, programmer, status, current_step_id, updated_at "
            "FROM design_sessions ORDER BY updated_at DESC, id DESC"))

    def task(self, session_id: int) -> Task:
        return Task.from_dict(json.loads(self.session_row(session_id)["task_spec"]))

    def settings(self, session_id: int) -> SessionSettings:
        return SessionSettings.from_json(self.session_row(session_id)["settings"])

    def loosen_sampling(self, session_id: int) -> SessionSettings:
        """After an answer looped: the session's temperature and repeat penalty as
        :func:`backend.llm.degenerate.retry_settings` sets them, saved for the next model calls."""
        from backend.llm.base import GenerationSettings
        from backend.llm.degenerate import retry_settings

        cfg = self.settings(session_id)
        looser = retry_settings(GenerationSettings(temperature=cfg.temperature, repeat_penalty=cfg.repeat_penalty))
        cfg.temperature, cfg.repeat_penalty = looser.temperature, looser.repeat_penalty
        self.update_session(session_id, settings=cfg)
        return cfg

    def update_session(self, session_id: int, **fields) -> None:
        if "settings" in fields and isinstance(fields["settings"], SessionSettings):
            fields["settings"] = fields["settings"].to_json()
        allowed = {"title", "designer", "programmer", "settings", "status", "current_step_id"}
        bad = set(fields) - allowed
        if bad:
            raise KeyError(f"design_sessions cannot set {sorted(bad)}")
        fields["updated_at"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.db.conn.execute(f"UPDATE design_sessions SET {sets} WHERE id = ?", (*fields.values(), session_id))

    def delete_session(self, session_id: int) -> None:
        self.db.conn.execute("DELETE FROM design_sessions WHERE id = ?", (session_id,))

    # -- steps ------------------------------------------------------------------------------
    def add_step(self, session_id: int, parent_id: int | None, stage: str, **fields) -> Step:
        now = time.time()
        data = {"attempt": 0, "status": "running", "origin": "model", "runner_pid": os.getpid(), **fields}
        enc = _encode(data)
        cols = ", ".join(enc)
        marks = ", ".join("?" for _ in enc)
        with transaction(self.db):
            cur = self.db.conn.execute(
                f"INSERT INTO design_steps (session_id, parent_id, stage, {cols}, created_at, updated_at)"
                f" VALUES (?, ?, ?, {marks}, ?, ?)",
                (session_id, parent_id, stage, *enc.values(), now, now),
            )
            step_id = int(cur.lastrowid)
            self.update_session(session_id, current_step_id=step_id)
        return self.step(step_id)

    def update_step(self, step_id: int, **fields) -> None:
        if not fields:
            return
        enc = _encode(fields)
        sets = ", ".join(f"{k} = ?" for k in enc)
        with transaction(self.db):
            self.db.conn.execute(
                f"UPDATE design_steps SET {sets}, updated_at = ? WHERE id = ?", (*enc.values(), time.time(), step_id)
            )
            self.db.conn.execute(
                "UPDATE design_sessions SET updated_at = ? WHERE id = (SELECT session_id FROM design_steps WHERE id = ?)",
                (time.time(), step_id),
            )

    def step(self, step_id: int) -> Step:
        rows = list(self.db.query("SELECT * FROM design_steps WHERE id = ?", [step_id]))
        if not rows:
            raise SessionNotFound(f"No design step {step_id}")
        return _step_from_row(rows[0])

    def steps(self, session_id: int) -> list[Step]:
        return [_step_from_row(r) for r in self.db.query(
            "SELECT * FROM design_steps WHERE session_id = ? ORDER BY id", [session_id])]

    def branch(self, session_id: int, tip_id: int | None = None) -> list[Step]:
        """The steps from the root to ``tip_id`` (default: the session's current tip)."""
        if tip_id is None:
            tip_id = self.session_row(session_id)["current_step_id"]
        # Walk the tree on ids only; load full rows (with their logs) just for the path.
        parent = dict(self.db.conn.execute(
            "SELECT id, parent_id FROM design_steps WHERE session_id = ?", (session_id,)).fetchall())
        path: list[int] = []
        while tip_id is not None and tip_id in parent:
            path.append(tip_id)
            tip_id = parent[tip_id]
        if not path:
            return []
        marks = ",".join("?" for _ in path)
        rows = {r["id"]: r for r in self.db.query(f"SELECT * FROM design_steps WHERE id IN ({marks})", path)}
        return [_step_from_row(rows[i]) for i in reversed(path)]

    def leaves(self, session_id: int) -> list[Step]:
        """The tip of every branch (steps no other step names as parent), newest first (without logs)."""
        rows = list(self.db.query(
            "SELECT id, session_id, parent_id, stage, attempt, status, error_type, score, job_id, code_version,"
            " origin, model, created_at FROM design_steps WHERE session_id = ? AND id NOT IN"
            " (SELECT parent_id FROM design_steps WHERE session_id = ? AND parent_id IS NOT NULL)"
            " ORDER BY id DESC", [session_id, session_id]))
        return [_step_from_row(r) for r in rows]

    def state(self, session_id: int) -> SessionState:
        return SessionState(self.task(session_id), self.settings(session_id), self.branch(session_id))

    def fork(self, session_id: int, step_id: int | None) -> None:
        """Branch off at ``step_id``: it becomes the tip, so the next stage runs after it anew.

        ``None`` forks from the very start (before Propose).
        """
        if step_id is not None and self.step(step_id).session_id != session_id:
            raise SessionNotFound(f"Step {step_id} is not part of session {session_id}")
        self.update_session(session_id, current_step_id=step_id, status="open")

    def mark_interrupted(self, session_id: int) -> int:
        """Steps left 'running' by a crash or a closed app become 'interrupted' (their text is kept).

        A step another live process is running (a second window, the CLI) is left alone; one of
        this process counts as left over (the caller runs nothing in this session).
        """
        me = os.getpid()
        changed = 0
        for step_id, pid in self.db.conn.execute(
                "SELECT id, runner_pid FROM design_steps WHERE session_id = ? AND status = 'running'",
                (session_id,)).fetchall():
            if pid and pid != me and pid_alive(pid):
                continue
            who = f" (process {pid} ended)" if pid and pid != me else ""
            self.update_step(step_id, status="interrupted",
                             stop_reason=f"DeepOnes was closed or killed while this stage ran{who}.")
            changed += 1
        return changed

    def restart_step(self, step_id: int, **fields) -> Step:
        """Run an unfinished step again in place: same id and place on the branch, results cleared.

        What the earlier try ended with (status, reason, answer length) is kept in its timings, so
        the step's history is not lost.
        """
        step = self.step(step_id)
        earlier = [*step.timings.get("earlier_tries", []),
                   {"status": step.status, "error_type": step.error_type, "reason": step.why_stopped,
                    "response_chars": len(step.response), "job_id": step.job_id, "at": step.timings.get("started_at")}]
        timings = {"started_at": time.time(), "earlier_tries": earlier}
        self.update_step(step_id, **{**_RESULT_FIELDS, "status": "running", "runner_pid": os.getpid(),
                                     "timings": timings, **fields})
        self.update_session(step.session_id, current_step_id=step_id, status="open")
        return self.step(step_id)

    def answers_given(self, session_id: int, model: str, *, before_step: int | None = None) -> int:
        """How many answers ``model`` has already given in this session (where a replay resumes).

        Steps whose call never finished (running, interrupted, a model error) gave none; the step
        being run (``before_step``) is left out, so running it again gets the same recorded answer.
        """
        row = self.db.conn.execute(
            "SELECT count(*) FROM design_steps WHERE session_id = ? AND model = ? AND origin = 'model'"
            " AND status NOT IN ('error', 'running', 'interrupted') AND id IS NOT ?",
            (session_id, model, before_step)).fetchone()
        return int(row[0])

    # -- edits: nothing a user typed is ever lost --------------------------------------------
    def save_edit(self, session_id: int, step_id: int | None, field: str, value: str) -> int:
        """Record a new version of ``field``; for a step's own field, the step shows it from now on."""
        with transaction(self.db):
            row = self.db.conn.execute(
                "SELECT MAX(version) FROM design_edits WHERE session_id = ? AND step_id IS ? AND field = ?",
                (session_id, step_id, field)).fetchone()
            version = (row[0] or 0) + 1
            if version == 1 and step_id is not None and field in ("prompt", "response", "code", "reference_code"):
                # Version 0 is what the model (or the run) produced, kept before the first edit.
                original = getattr(self.step(step_id), field) or ""
                self.db.conn.execute(
                    "INSERT INTO design_edits (session_id, step_id, field, version, value, created_at)"
                    " VALUES (?, ?, ?, 0, ?, ?)", (session_id, step_id, field, original, time.time()))
            self.db.conn.execute(
                "INSERT INTO design_edits (session_id, step_id, field, version, value, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", (session_id, step_id, field, version, value, time.time()))
            if step_id is not None and field in ("prompt", "response", "code", "reference_code"):
                step = self.step(step_id)
                extra: dict = {"code_version": step.code_version + 1} if field == "code" else {}
                if field == "response" and step.stage == "hyperparameters":
                    # H_O follows the edited answer, so the final prompt uses what the user wrote.
                    from backend.pipeline.extract import NO_HYPERPARAMETERS, parse_hyperparameters

                    extra["hyperparameters"] = parse_hyperparameters(value)
                    if step.error_type in (None, "", NO_HYPERPARAMETERS):
                        extra["error_type"] = None if extra["hyperparameters"] else NO_HYPERPARAMETERS
                self.update_step(step_id, **{field: value}, **extra)
        return version

    def original(self, step: Step, field: str) -> str:
        """``field`` of ``step`` as first recorded, before any user edit (e.g. the code that ran)."""
        row = self.db.conn.execute(
            "SELECT value FROM design_edits WHERE session_id = ? AND step_id = ? AND field = ? AND version = 0",
            (step.session_id, step.id, field)).fetchone()
        return row[0] if row else (getattr(step, field) or "")

    def edits(self, session_id: int, step_id: int | None = None, field: str | None = None) -> list[dict]:
        sql = "SELECT * FROM design_edits WHERE session_id = ?"
        args: list = [session_id]
        if step_id is not None:
            sql += " AND step_id = ?"
            args.append(step_id)
        if field is not None:
            sql += " AND field = ?"
            args.append(field)
        return list(self.db.query(sql + " ORDER BY id", args))

    @staticmethod
    def draft_field(parent_id: int | None, stage: str) -> str:
        return f"draft:{parent_id or 0}:{stage}"

    def save_draft(self, session_id: int, parent_id: int | None, stage: str, text: str) -> None:
        """A prompt typed for a stage not yet sent: kept so closing the app loses nothing."""
        name = self.draft_field(parent_id, stage)
        if self.draft(session_id, parent_id, stage) != text:
            self.save_edit(session_id, None, name, text)

    def draft(self, session_id: int, parent_id: int | None, stage: str) -> str | None:
        row = self.db.conn.execute(
            "SELECT value FROM design_edits WHERE session_id = ? AND step_id IS NULL AND field = ?"
            " ORDER BY version DESC LIMIT 1", (session_id, self.draft_field(parent_id, stage))).fetchone()
        return row[0] if row else None
