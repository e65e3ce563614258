"""Bench's scenes: the replayed demo sweep (2 designers x base/+ x 2 runs), its runs table, the error
chart and the Data categories (Figure 6)."""

from __future__ import annotations

import os


def prepare(page) -> None:
    """Runs the sweep through the backend (blocking: a script, not the app), then shows it."""
    from backend.bench import records
    from backend.bench.sweep import SweepRunner
    from backend.datasets.demo import ensure_demo
    from backend.store import connection
    from tests.bench import demo_sweep as demo

    folder = page.ctx.data_dir / "bench-demo"
    models = demo.write_demo_replays(folder)
    os.environ["DEEPONES_DATA"] = str(folder)
    spec = records.SweepSpec(tasks=["demo-digits"], designers=[models["designer_a"], models["designer_b"]],
                             programmer=models["programmer"], runs=2, max_debug=3, parallel=1,
                             interpreter=page.ctx.settings.execution_python)
    with connection(page.ctx.db_path) as db:
        sweep_id = records.create_sweep(db, spec)
        ensure_demo(db)   # the Data categories tab (Figure 6) shows the demo set, as on a first run
    SweepRunner(sweep_id, root=page.ctx.data_dir).run()
    page.refresh(select=sweep_id)


def ready(page) -> bool:
    if page.table2.rowCount() and page.runs.rowCount() == 0:
        plus = next((r for r in page.table2.rows if r.variant == "plus" and r.gain), None)
        if plus is not None:
            page.show_runs(plus.task, plus.designer, plus.variant)
    return page.runs.rowCount() > 0


def _categories(page) -> None:
    from deepones_gui.concurrent import wait_for_background_tasks

    page.tabs.setCurrentWidget(page.categories)   # starts counting off the GUI thread
    wait_for_background_tasks(30_000)              # the shot must show the counts


def extras(page, out_dir) -> list:
    return [("bench-errors", lambda: page.tabs.setCurrentWidget(page.errors)),
            ("bench-categories", lambda: _categories(page))]
