"""What a user does from an attempt: re-run its code as a job, or fork the session into Design."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlite_utils

from backend.traces.model import TraceNotFound

_COPIED = ("stage", "attempt", "status", "prompt", "response", "code", "reference_code", "hyperparameters",
           "stdout", "stderr", "error_type", "debug_log", "score", "job_id", "prompt_tokens",
           "completion_tokens", "timings", "code_version", "origin", "model")


def _step(db: sqlite_utils.Database, step_id: int):
    from backend.pipeline import SessionNotFound, SessionStore

    try:
        return SessionStore(db).step(step_id)
    except SessionNotFound as exc:
        raise TraceNotFound(f"No attempt {step_id}.") from exc


def rerun_spec(db: sqlite_utils.Database, step_id: int, *, root: Path | None = None):
    """The job that runs the attempt's code again, as the Design pipeline ran it (same settings, stage)."""
    from backend.pipeline import SessionStore
    from backend.pipeline.sandbox import program_spec

    step = _step(db, step_id)
    store = SessionStore(db)
    code = store.original(step, "code")
    if not code:
        raise TraceNotFound(f"Attempt {step_id} ({step.stage}) has no code to run.")
    kind = "final" if step.stage == "final" else "validate"
    return program_spec(code, kind, store.settings(step.session_id), root=root,
                        name=f"trace #{step.session_id} re-run of {step.title.lower()}", origin=f"trace:{step_id}")


def submit_rerun(db: sqlite_utils.Database, step_id: int, *, root: Path | None = None,
                 executor: str = "local") -> Any:
    """Start the re-run and return its job handle at once (the Jobs workspace shows it)."""
    from backend.jobs.executors import get_executor

    return get_executor(executor, root=root, db=db).submit(rerun_spec(db, step_id, root=root))


def rerun(db: sqlite_utils.Database, step_id: int, *, root: Path | None = None, executor: str = "local",
          on_output: Callable[[str, str], None] | None = None, cancel: threading.Event | None = None) -> Any:
    """Run the attempt's code again and wait for it; returns the JobResult."""
    from backend.jobs.executors import get_executor

    spec = rerun_spec(db, step_id, root=root)
    return get_executor(executor, root=root, db=db).run(spec, on_output=on_output, cancel=cancel)


def fork_to_design(db: sqlite_utils.Database, step_id: int, *, designer: str | None = None,
                   programmer: str | None = None) -> int:
    """A new design session whose branch is a copy of root ... ``step_id``; its next stage runs after it.

    The original session is left as it was (its tip does not move). Returns the new session id. The fork
    runs with ``designer``/``programmer`` when given; a fork of an imported trace otherwise gets the
    user's own models (never the file's, see :mod:`backend.traces.import_json`), with a note saying so.
    """
    from backend.pipeline import SessionStore
    from backend.store import transaction
    from backend.traces import labels as label_store
    from backend.traces.import_json import IMPORTED_STATUS, model_notice, own_models

    store = SessionStore(db)
    step = _step(db, step_id)
    sid = step.session_id
    row = store.session_row(sid)
    settings = store.settings(sid)
    branch = store.branch(sid, step_id)
    imported = bool(settings.imported_models) or row["status"] == IMPORTED_STATUS
    if imported:
        designer, programmer = own_models(designer, programmer)
    designer, programmer = designer or row["designer"], programmer or row["programmer"]
    with transaction(db):
        new = store.create_session(store.task(sid), designer, programmer, settings,
                                   title=f"{row['title']} (fork of #{sid} at {step.title})")
        if imported:
            label_store.add_note(db, new, 0, model_notice(settings.imported_models or
                                                          f"designer {row['designer']} · programmer {row['programmer']}",
                                                          designer, programmer), who="import")
        parent = None
        for s in branch:
            fields = {k: getattr(s, k) for k in _COPIED}
            parent = store.add_step(new, parent, fields.pop("stage"), **fields).id
        store.update_session(new, status="open")
    return new
