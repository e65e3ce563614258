"""A finished replayed run for screenshots (``scripts/screenshots.py`` only; blocking).

Paper records and recorded answers come from the repository's Generate test fixtures (a checkout,
not an installed app): six papers in the shape of the ResNet paper, each with answers of its own.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def prepare_demo_run(page) -> None:
    """Write the papers, fill the form, run them to the end with the replayed answers, show the result."""
    import sys

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from backend.generate import runner
    from backend.generate.plan import GeneratePlan, create_run
    from backend.store import connection
    from tests.generate.ray_papers import write_papers

    folder = Path(page.ctx.data_dir) / "generate-demo" / "papers"
    _records, answers = write_papers(folder, 6)
    plan = GeneratePlan(
        papers=[str(folder)],
        model=f"replay:{answers}",
        dataset="my-deepdata",
        mcq_share=0.5,
        concurrency=4,
        price_in=0.5,
        price_out=1.5,
    )
    page.form.set_plan(plan)
    with connection(page.ctx.db_path) as db:
        run_id = create_run(db, plan)
        last: dict = {}
        runner.run(db, run_id, progress=last.update)
    page._shown_run = run_id
    page.progress.title.setText(f"Run #{run_id} finished: {last.get('samples_added', 0):,} samples added")
    page.progress.show_progress(last)
    page._refresh_samples()
    page.refresh_runs(select=run_id)
    page.refresh_estimate()
