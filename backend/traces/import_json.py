"""A trace export opened in this app (dropped onto the window, or `deepones trace import`) becomes a
design session of this store, so the Traces workspace shows it like any other: tree, panes, diffs,
labels. The attempts keep their tree, outputs, errors, debug logs, scores and timings; labels and
notes come along as imported labels. Job ids are dropped: those runs live on another machine.
"""

from __future__ import annotations

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


def import_trace(db: sqlite_utils.Database, trace: Trace) -> int:
    """Write ``trace`` as a new design session in one transaction; returns its id."""
    store = SessionStore(db)
    with transaction(db):
        sid = store.create_session(_task_for(trace), trace.designer, trace.programmer, SessionSettings(),
                                   title=f"{trace.title} (imported)")
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
