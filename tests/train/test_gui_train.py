"""The Train workspace end to end: set up a recipe, start, watch the loss chart update, cancel,
resume from the checkpoint, convert to Q8_0, use as designer. Real jobs, real training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.train.conftest import needs_training

pytestmark = [needs_training, pytest.mark.timeout(2400)]  # minutes on a loaded 2-core machine


def _loss_points(page, job_id: str) -> int:
    series = page.view.chart.series.get((job_id, "loss"))
    return series.buf.n if series else 0


def _run(page):
    return page.runs.get(page.current_run_id or -1) or {}


@pytest.fixture
def page(qtbot, app_context):
    from backend.datasets.demo import ensure_demo
    from deepones_gui.workspaces.train.page import TrainPage

    ensure_demo(app_context.db)
    w = TrainPage(app_context)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    w.shutdown()


@pytest.mark.train   # trains for minutes; the empty-selection test below keeps Train's page in the fast tier
def test_recipe_start_chart_cancel_resume_convert_designer(qtbot, page, app_context):
    from tests.train.demo_run import demo_recipe

    form = page.form
    recipe = demo_recipe(max_steps=2, seq_len=48, batch=1)
    recipe.save_steps = 1
    form.set_recipe(recipe)
    form.data.setText("all")
    form.data_changed.emit()
    qtbot.waitUntil(lambda: "instruction" in page.counts.text() and page.start_button.isEnabled(), timeout=20000)
    assert "replay" in page.counts.text()

    # The paper reset restores every value; then our short recipe again.
    form.lr.setValue(0.01)
    form.reset.click()
    assert form.recipe().learning_rate == 3e-4 and form.recipe().stages[1].replay_share == 0.01
    form.set_recipe(recipe)
    page.run_name.setText("gui run")
    page.start_button.click()
    qtbot.waitUntil(lambda: _run(page).get("status") == "running", timeout=30000)
    first_job = _run(page)["job_id"]
    assert page.view.cancel_button.isEnabled() and not page.view.convert_button.isEnabled()

    # The loss chart updates live from the job's log.
    qtbot.waitUntil(lambda: _loss_points(page, first_job) >= 1, timeout=900000)
    # The header follows the job's last metric line at the page's 1 s poll, the chart through its follower.
    qtbot.waitUntil(lambda: "tokens/s" in page.view.header.text(), timeout=10000)

    page.view.cancel_button.click()
    qtbot.waitUntil(lambda: _run(page).get("status") == "cancelled", timeout=400000)
    qtbot.waitUntil(page.view.resume_button.isEnabled, timeout=10000)
    checkpoint = Path(app_context.data_dir, "jobs", first_job, "checkpoint", "position.json")
    saved_step = json.loads(checkpoint.read_text())["global_step"]
    assert saved_step >= 1

    page.view.resume_button.click()
    qtbot.waitUntil(lambda: _run(page).get("job_id") not in (None, first_job), timeout=30000)
    second_job = _run(page)["job_id"]
    qtbot.waitUntil(lambda: _run(page).get("status") == "succeeded", timeout=1200000)
    steps = [json.loads(line)["step"] for line in
             Path(app_context.data_dir, "jobs", second_job, "stdout.log").read_text().splitlines()
             if line.startswith('{"step"')]
    assert steps[0] == saved_step + 1 and steps[-1] == 4   # continued, not restarted: 2 stages x 2 steps
    assert _run(page)["job_ids"] == [first_job, second_job]

    qtbot.waitUntil(page.view.convert_button.isEnabled, timeout=10000)
    page.view.quant.setCurrentText("Q8_0")
    page.view.convert_button.click()
    qtbot.waitUntil(lambda: bool(_run(page).get("gguf_path")) and not page.view.busy, timeout=1200000)
    gguf = Path(_run(page)["gguf_path"])
    assert gguf.is_file() and gguf.name.endswith(".Q8_0.gguf")
    assert f"GGUF: models/{gguf.name}" in page.view.lineage.toPlainText()   # relative to the data dir

    assert page.view.designer_button.isEnabled()
    page.view.designer_button.click()
    assert app_context.settings.designer_model == str(gguf)
    saved = json.loads(Path(app_context.data_dir, "settings.json").read_text())
    assert saved["designer_model"] == str(gguf)

    page.grab().save("/tmp/deepones-train-gui.png")


def test_empty_selection_disables_start_and_warns(qtbot, page):
    page.form.data.setText("kind=mcq")
    page.form.data_changed.emit()
    qtbot.waitUntil(lambda: "Warning" in page.counts.text(), timeout=20000)
    assert "no samples" in page.counts.text()
    assert not page.start_button.isEnabled()
