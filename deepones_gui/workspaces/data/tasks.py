"""Work the Data page runs off the GUI thread: plain functions, each on its own short-lived store
connection (``backend.store.connection``), calling backend functions only."""

from __future__ import annotations

from pathlib import Path

from backend.datasets import curation, query
from backend.datasets.query import SampleFilter
from backend.datasets.stats import stats
from backend.store import connection


def overview(db_path: Path, flt: SampleFilter | None = None, *, progress, partial, cancel) -> dict:
    """Stats and facet counts for the current search (facet checks themselves excluded)."""
    with connection(db_path) as db:
        result = stats(db, flt, facets=True)
        from backend.datasets.indexing import coverage

        result["coverage"] = coverage(db)
        return result


def count(db_path: Path, flt: SampleFilter, *, progress, partial, cancel) -> int:
    with connection(db_path) as db:
        return query.count(db, flt)


def page_at(db_path: Path, flt: SampleFilter, offset: int, limit: int, *, progress, partial, cancel) -> list[dict]:
    with connection(db_path) as db:
        return query.page(db, flt, offset=offset, limit=limit)


def run_import(db_path: Path, paths, demo: bool, fmt: str, dataset: str | None, *, progress, partial,
               cancel) -> dict:
    from backend.datasets.demo import ensure_demo
    from backend.datasets.importer import ImportReport, import_paths

    with connection(db_path) as db:
        if demo:
            report = ensure_demo(db, progress=progress, cancel=cancel) or ImportReport()
        else:
            report = import_paths(db, paths, dataset=dataset, fmt=fmt, progress=progress, cancel=cancel)
        return report.as_dict()


def run_index(db_path: Path, *, progress, partial, cancel) -> int:
    """Build the search index behind rows already browsable (resumes where a previous run stopped)."""
    from backend.datasets.indexing import index_pending

    with connection(db_path) as db:
        return index_pending(db, progress=progress, cancel=cancel)


def status_matching(db_path: Path, flt: SampleFilter, status: str, *, progress, partial, cancel) -> dict:
    with connection(db_path) as db:
        return curation.set_status_matching(db, flt, status)


def restore_status(db_path: Path, previous: dict, *, progress, partial, cancel) -> None:
    """Undo of a bulk status change: put every id back to its previous status, with progress."""
    with connection(db_path) as db:
        curation.restore_status(db, previous, progress=progress)


def set_status(db_path: Path, ids, status: str, *, progress, partial, cancel) -> dict:
    """Redo of a bulk status change."""
    with connection(db_path) as db:
        return curation.set_status(db, ids, status, progress=progress)


def tag_ids(db_path: Path, ids, tag: str, remove: bool, *, progress, partial, cancel) -> list[int]:
    """Bulk tag / untag (redo and undo of a bulk tag)."""
    with connection(db_path) as db:
        fn = curation.remove_tag if remove else curation.add_tag
        return fn(db, ids, tag, progress=progress)


def run_export(db_path: Path, flt: SampleFilter, choice: dict, *, progress, partial, cancel) -> str:
    from backend.datasets.exporter import export

    with connection(db_path) as db:
        result = export(db, choice["path"], choice["format"], flt, dataset_info=choice["dataset_info"],
                        progress=progress, cancel=cancel)
    text = f"Exported {result.written:,} samples to {result.path}"
    if result.dataset_info_path:
        text += f" (registered in {result.dataset_info_path.name})"
    if choice.get("push_repo"):
        from backend.datasets.hub import HubError, push_file

        try:
            text += f" · pushed to {push_file(result.path, choice['push_repo'])}"
        except HubError as exc:
            text += f" · not pushed: {exc}"
    return text


def tag_matching(db_path: Path, flt: SampleFilter, tag: str, *, progress, partial, cancel) -> list[int]:
    with connection(db_path) as db:
        return curation.add_tag_matching(db, flt, tag)


def find_near_duplicates(db_path: Path, flt: SampleFilter, threshold: float, max_samples: int, *, progress,
                         partial, cancel):
    from backend.datasets.neardup import find_near_duplicates as find

    with connection(db_path) as db:
        return find(db, flt, threshold=threshold, max_samples=max_samples, progress=progress, cancel=cancel)
