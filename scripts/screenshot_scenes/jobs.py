"""Jobs' scene: a finished run of the quick demo job, selected, with its chart and output."""

from __future__ import annotations

from backend.jobs.spec import JobStatus


def prepare(page) -> None:
    """Runs the quick demo through the executor when the store has no finished one (blocking: a script)."""
    from backend.jobs import records
    from backend.jobs.demo import demo_spec
    from backend.jobs.executors import get_executor
    from backend.store import connection

    with connection(page.ctx.db_path) as db:
        if records.latest_job(db, origin="demo", status="succeeded") is None:
            get_executor("local", root=page.ctx.data_dir, db=db).run(demo_spec(quick=True))
    page.reload()


def ready(page) -> bool:
    ids = page.selected_ids()
    return (bool(ids) and page.rows.get(ids[0], {}).get("status") == JobStatus.SUCCEEDED
            and bool(page.chart.series) and bool(page.out_view.plain_text()))
