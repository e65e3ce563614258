"""A trace export opened in this app (dropped onto the window, or `deepones trace import`) becomes a
design session of this store, so the Traces workspace shows it like any other: tree, panes, diffs,
labels. The attempts keep their tree, outputs, errors, debug logs, scores and timings; labels and
notes come along as imported labels. Job ids are dropped: those runs live on another machine.

A trace file is shared between people, so its model specs are never called: an endpoint URL in it
could be the sender's server, which would receive the prompts (and, once, the API key). The imported
session runs with models this user picks (by default their own designer and programmer); the file's
specs stay as text for display (``SessionSettings.imported_models``, each attempt's ``model``), and a
note on the session says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from backend.pipeline.catalog import get_task
from backend.pipeline.state import SessionSettings
from backend.pipeline.store import SessionStore
from backend.pipeline.tasks import Task, TaskError
from backend.store import transaction
from backend.traces import labels as label_store
from backend.traces.model import Trace

if TYPE_CHECKING:
    import sqlite_utils

IMPORTED_STATUS = "imported"


def _task_for(trace: Trace) -> Task:
    try:
        return get_task(trace.task)
    except TaskError:  # a task this installation does not have: keep what the export says of it
        return Task(name=trace.task or "imported", title=trace.title or trace.task, task=trace.task,
                    modality="", dataset="", dataset_details=trace.task_description, metric="score", custom=True)


def own_models(designer: str | None = None, programmer: str | None = None) -> tuple[str, str]:
    """The models an imported session runs with: those picked, else the user's own defaults."""
    from backend.settings import load_settings

    settings = load_settings()
    return designer or settings.designer_model, programmer or settings.programmer_model


def models_text(designer: str, programmer: str) -> str:
    return f"designer {designer or '(none)'} · programmer {programmer or '(none)'}"


def model_notice(imported: str, designer: str, programmer: str) -> str:
    """What the user is told when an imported session gets their models instead of the file's."""
    return (f"Imported with this trace's models kept as text only ({imported}): they are never called. "
            f"Continuing or forking it uses your models: {models_text(designer, programmer)}.")


def import_trace(db: sqlite_utils.Database, trace: Trace, *, designer: str | None = None,
                 programmer: str | None = None) -> int:
    """Write ``trace`` as a new design session in one transaction; returns its id.

    The session runs with ``designer``/``programmer`` (default: the user's own), never the file's.
    """
    store = SessionStore(db)
    designer, programmer = own_models(designer, programmer)
    imported = models_text(trace.designer, trace.programmer)
    with transaction(db):
        sid = store.create_session(_task_for(trace), designer, programmer, SessionSettings(imported_models=imported),
                                   title=f"{trace.title} (imported)")
        label_store.add_note(db, sid, 0, model_notice(imported, designer, programmer), who="import")
        new_ids: dict[int, int] = {}
        # Parents before children: attempts are exported in id order, and a parent's id is lower.
        for a in sorted(trace.attempts, key=lambda a: a.id):
            step = store.add_step(
                sid, new_ids.get(a.parent_id) if a.parent_id is not None else None, a.stage,
                attempt=a.attempt, status=a.status, prompt=a.prompt, response=a.response,
                code=a.edited_code if a.edited_code is not None else a.code, stdout=a.stdout, stderr=a.stderr,
                error_type=a.error_type, debug_log=a.debug_log, score=a.score, model=a.model,
                origin=a.origin, prompt_tokens=a.prompt_tokens, completion_tokens=a.completion_tokens,
                timings=a.timings, runner_pid=None)
            new_ids[a.id] = step.id
        # Labels and notes as the export has them (another machine's label set is accepted as is).
        targets = [(step_id, a.labels, a.notes) for a in trace.attempts if (step_id := new_ids.get(a.id))]
        for step_id, names, notes in [*targets, (0, trace.labels, trace.notes)]:
            for name in names:
                label_store.add_labels(db, [(sid, step_id)], name, who="imported", known=[name])
            for note in notes:
                text = note.get("text", "") if isinstance(note, dict) else str(note)
                if text.strip():
                    label_store.add_note(db, sid, step_id, text, who=note.get("author", "imported")
                                         if isinstance(note, dict) else "imported")
        store.update_session(sid, status=IMPORTED_STATUS)
    return sid


def adopt_own_models(db: sqlite_utils.Database, session_id: int, *, legacy_ok: bool = False) -> str | None:
    """A session imported before models were replaced on import still names the file's models: give it the
    user's own before anything runs. Returns the notice when it changed something, else None."""
    store = SessionStore(db)
    row = store.session_row(session_id)
    settings = store.settings(session_id)
    imported_here = row["status"] == IMPORTED_STATUS or (legacy_ok and str(row["title"] or "").endswith(" (imported)"))
    if not imported_here or settings.imported_models:
        return None
    designer, programmer = own_models()
    imported = models_text(row["designer"] or "", row["programmer"] or "")
    notice = model_notice(imported, designer, programmer)
    with transaction(db):
        store.update_session(session_id, designer=designer, programmer=programmer,
                             settings=replace(settings, imported_models=imported).to_json())
        label_store.add_note(db, session_id, 0, notice, who="import")
    return notice
