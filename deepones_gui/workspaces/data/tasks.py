"""Work the Data page runs off the GUI thread; plain functions, each with its own DB connection."""

from __future__ import annotations

from backend.datasets import curation
from backend.datasets.query import SampleFilter
from backend.datasets.stats import stats


def overview(open_db, *, progress, partial, cancel) -> dict:
    db = open_db()
    try:
        return stats(db, facets=True)
    finally:
        db.conn.close()


def run_import(open_db, paths, demo: bool, fmt: str, dataset: str | None, *, progress, partial, cancel) -> dict:
    from backend.datasets.demo import ensure_demo
    from backend.datasets.importer import ImportReport, import_paths

    db = open_db()
    try:
        if demo:
            report = ensure_demo(db, progress=progress, cancel=cancel) or ImportReport()
        else:
            report = import_paths(db, paths, dataset=dataset, fmt=fmt, progress=progress, cancel=cancel)
        return report.as_dict()
    finally:
        db.conn.close()


def status_matching(open_db, flt: SampleFilter, status: str, *, progress, partial, cancel) -> dict:
    db = open_db()
    try:
        return curation.set_status_matching(db, flt, status)
    finally:
        db.conn.close()


def run_export(open_db, flt: SampleFilter, choice: dict, *, progress, partial, cancel) -> str:
    from backend.datasets.exporter import export

    db = open_db()
    try:
        result = export(db, choice["path"], choice["format"], flt, dataset_info=choice["dataset_info"],
                        progress=progress, cancel=cancel)
    finally:
        db.conn.close()
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


def tag_matching(open_db, flt: SampleFilter, tag: str, *, progress, partial, cancel) -> list[int]:
    db = open_db()
    try:
        return curation.add_tag_matching(db, flt, tag)
    finally:
        db.conn.close()
