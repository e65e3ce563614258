"""Train's scene: the demo fine-tune (SmolLM2, 2 x 6 steps on a fixed batch, Q8_0, DeepQA on 20
questions) selected with its charts. The run is made by the backend first when the store has none
(minutes on a CPU; blocking: a script, not the app)."""

from __future__ import annotations

_run_id: list[int] = []


def prepare(page) -> None:
    from backend.store import connection
    from tests.train.demo_run import find_demo_run, run_demo

    with connection(page.ctx.db_path) as db:
        run = find_demo_run(db) or run_demo(db, page.ctx.data_dir)
    _run_id[:] = [int(run["id"])]
    page.reload()


def ready(page) -> bool:
    run_id = _run_id[0] if _run_id else None
    if run_id in page.runs and page.current_run_id != run_id:
        page.select_run(run_id)   # once the reloaded list has it
    return run_id is not None and page.current_run_id == run_id and bool(page.view.chart.series)
