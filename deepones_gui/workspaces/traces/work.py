"""The Traces page's background work: plain functions run on a worker thread with their own connection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.store import connection
from backend.traces import actions, index, samples
from backend.traces import labels as lb
from backend.traces.index import TraceFilter, TracePage
from backend.traces.model import Trace, load_trace


@dataclass
class PageResult:
    page: TracePage
    facets: dict[str, list[str]]


def query_page(db_path: Path, flt: TraceFilter, limit: int, *, progress, partial, cancel) -> PageResult:
    with connection(db_path) as db:
        if index.stale_sessions(db):
            index.refresh(db, progress=progress)
        return PageResult(index.query(db, flt, limit=limit, refresh_first=False), index.facet_values(db))


def load(db_path: Path, session_id: int, *, progress, partial, cancel) -> Trace:
    with connection(db_path) as db:
        return load_trace(db, session_id)


def bulk_label(db_path: Path, flt: TraceFilter, label: str, *, progress, partial, cancel) -> int:
    with connection(db_path) as db:
        ids = index.matching_ids(db, flt)
        lb.add_labels(db, [(i, lb.TRACE) for i in ids], label)
        return len(ids)


def submit_rerun(db_path: Path, step_id: int, root: Path, *, progress, partial, cancel) -> str:
    with connection(db_path) as db:
        return actions.submit_rerun(db, step_id, root=root).job_id


def fork(db_path: Path, step_id: int, *, progress, partial, cancel) -> int:
    with connection(db_path) as db:
        return actions.fork_to_design(db, step_id)


def export(db_path: Path, flt: TraceFilter, session_ids: list[int] | None, out: Path, *, progress, partial,
           cancel) -> int:
    from backend.traces.export_html import write_html
    from backend.traces.export_json import write_json, write_jsonl

    with connection(db_path) as db:
        ids = session_ids if session_ids is not None else index.matching_ids(db, flt)
        traces = []
        for n, sid in enumerate(ids):
            if cancel:
                return 0
            traces.append(load_trace(db, sid))
            progress((n + 1) / max(1, len(ids)), f"Read {n + 1} of {len(ids)} traces")
    if out.suffix == ".json":
        write_json(traces[0], out)
    elif out.suffix == ".jsonl":
        write_jsonl(traces, out)
    else:
        write_html(traces, out, title=traces[0].title if len(traces) == 1 else f"{len(traces)} DeepOnes traces")
    return len(traces)


def to_samples(db_path: Path, flt: TraceFilter, *, progress, partial, cancel) -> dict:
    with connection(db_path) as db:
        return samples.to_samples(db, flt=flt)
