"""Traces to training data: every confirmed fix becomes a DeepData-style debugging sample.

A fix is *confirmed* when the attempt after a failed one (its child on the same branch, a debug
or hand-edited validation run) got further: it scored, or it ran where the failed one did not
even parse, or it failed with a different error after printing more output. The sample is
"task + failing code + stderr tail + debug log so far -> fixed code + one-line debug log", kind
``dlpd``, category ``debugging``, in the Data store, linked back through ``trace_samples``
(and ``source_file`` = ``trace:<session id>``). Running it again adds nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlite_utils

from backend.datasets.importer import insert_samples
from backend.datasets.rows import SampleRow
from backend.datasets.schema import Sample
from backend.store import transaction
from backend.traces.index import TraceFilter, matching_ids
from backend.traces.model import Attempt, Trace, load_trace

CATEGORY = "debugging"
DEFAULT_DATASET = "trace-fixes"
STDERR_TAIL = 3_000
INSTRUCTION = ("The deep learning program below fails. Read the task, the program, the end of its error output "
               "and the debug log so far, then write one line for the debug log and the corrected program.")


@dataclass(frozen=True)
class ConfirmedFix:
    trace: Trace
    failed: Attempt
    fix: Attempt


def _progress(a: Attempt) -> tuple[int, int]:
    """How far a run got: (0 no parse, 1 ran and failed, 2 scored), then lines of output."""
    if a.score is not None:
        return 2, 0
    if a.error_type == "SyntaxError":
        return 0, 0
    return 1, len(a.stdout.splitlines())


def confirmed(failed: Attempt, fix: Attempt) -> bool:
    if not fix.code or fix.stage not in ("debug", "validate") or fix.status not in ("failed", "succeeded"):
        return False
    before, after = _progress(failed), _progress(fix)
    if after[0] != before[0]:
        return after[0] > before[0]
    return after[0] == 1 and fix.error_type != failed.error_type and after[1] > before[1]


def confirmed_fixes(trace: Trace) -> list[ConfirmedFix]:
    out = []
    for a in trace.attempts:
        if not (a.is_run and a.failed and a.code):
            continue
        for child in trace.children(a.id):
            if confirmed(a, child):
                out.append(ConfirmedFix(trace, a, child))
    return out


def make_sample(fix: ConfirmedFix) -> Sample:
    trace, failed, fixed = fix.trace, fix.failed, fix.fix
    logs = trace.debug_log_so_far(failed.id)
    log_text = "\n".join(f"{i}. {line}" for i, line in enumerate(logs, 1)) or "(empty)"
    stderr = failed.stderr[-STDERR_TAIL:]
    prompt = (f"Task ({trace.task}):\n{trace.task_description.strip()}\n\n"
              f"Failing program (error: {failed.error_type}):\n```python\n{failed.code.rstrip()}\n```\n\n"
              f"Error output (tail):\n```\n{stderr.rstrip()}\n```\n\nDebug log so far:\n{log_text}")
    output = f"DEBUG LOG: {(fixed.debug_log or '').strip()}\n\n```python\n{fixed.code.rstrip()}\n```"
    return Sample(kind="dlpd", category=CATEGORY, instruction=INSTRUCTION, input=prompt, output=output)


def to_samples(db: sqlite_utils.Database, *, label: str | None = None, dataset: str = DEFAULT_DATASET,
               flt: TraceFilter | None = None) -> dict:
    """Create the samples for every confirmed fix (optionally only attempts/traces carrying ``label``).

    Returns ``{"created": n, "skipped": n}``: skipped = fixes already turned into samples (or whose
    sample text already exists in the store).
    """
    flt = flt or TraceFilter()
    if label:
        flt = flt.with_(label=label)
    created = skipped = 0
    now = time.time()
    ids = matching_ids(db, flt)   # refreshes the index first
    # Only traces with a failed attempt can hold a fix: skip loading the rest.
    with_failures = {r[0] for r in db.conn.execute("SELECT session_id FROM trace_index WHERE failures > 0")}
    for sid in (i for i in ids if i in with_failures):
        trace = load_trace(db, sid)
        done = {r[0] for r in db.conn.execute("SELECT step_id FROM trace_samples WHERE session_id = ?", (sid,))}
        for fix in confirmed_fixes(trace):
            if label and label not in trace.labels and label not in fix.failed.labels and label not in fix.fix.labels:
                continue
            if fix.fix.id in done:
                skipped += 1
                continue
            row = SampleRow.from_sample(make_sample(fix), dataset, f"trace:{sid}", fix.fix.id, now)
            with transaction(db):
                added = insert_samples(db.conn, [row])
                # The link is kept when the sample existed already (same text from another fix, an
                # import): its id is found by content hash either way.
                sample_id = db.conn.execute("SELECT id FROM samples WHERE content_hash = ?",
                                            (row.content_hash,)).fetchone()[0]
                db.conn.execute("INSERT INTO trace_samples (step_id, session_id, sample_id, created_at)"
                                " VALUES (?, ?, ?, ?)", (fix.fix.id, sid, sample_id, now))
            created += int(bool(added))
            skipped += int(not added)
    return {"created": created, "skipped": skipped}


def samples_of(db: sqlite_utils.Database, session_id: int) -> dict[int, int | None]:
    """Attempt id -> sample id for the fixes of a trace already turned into samples."""
    return dict(db.conn.execute("SELECT step_id, sample_id FROM trace_samples WHERE session_id = ?",
                                (session_id,)).fetchall())
