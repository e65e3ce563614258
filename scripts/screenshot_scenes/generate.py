"""Generate's scenes: a replayed run of six papers started from the form as a user starts it, then the
runs tab with a step's raw answer and Data showing a generated sample's provenance.

Paper records and recorded answers come from the repository's Generate test fixtures: six papers in
the shape of the ResNet paper, each with answers of its own. The run goes through the page's own
controller (its thread), so the page shows its live progress and its end as it would for a user.
"""

from __future__ import annotations

from pathlib import Path

_finished: list[dict] = []


def prepare(page) -> None:
    from backend.generate.plan import GeneratePlan
    from tests.generate.ray_papers import write_papers

    folder = Path(page.ctx.data_dir) / "generate-demo" / "papers"
    _records, answers = write_papers(folder, 6)
    page.form.set_plan(GeneratePlan(papers=[str(folder)], model=f"replay:{answers}", dataset="my-deepdata",
                                    mcq_share=0.5, concurrency=4, price_in=0.5, price_out=1.5))
    page.controller.finished.connect(_finished.append)
    page.start()   # as the Start button does


def ready(page) -> bool:
    return bool(_finished) and page.ready() and page.progress.samples.rowCount() > 0


def _runs(page) -> None:
    page.tabs.setCurrentWidget(page.runs)
    first = page.runs.steps.topLevelItem(0)
    if first is not None and first.childCount() > 2:
        page.runs.steps.setCurrentItem(first.child(2))
        page.runs.viewer.setCurrentWidget(page.runs.raw_view)


def _provenance(page) -> None:
    page.tabs.setCurrentWidget(page.progress)
    if page.progress.samples.rowCount():
        page.progress.samples.selectRow(0)
        page.progress.open_button.click()


def extras(page, out_dir) -> list:
    return [("generate-runs", lambda: _runs(page)), ("data-provenance", lambda: _provenance(page))]
