"""The Generate workspace with pytest-qt on the real store and the keyed replay answerer: pick a folder,
see the estimate, start, watch progress and samples appear, cancel, resume, open a sample in Data,
filter Data by its paper, see a step's prompt and raw answer, edit a prompt, remembered inputs."""

from __future__ import annotations

import pytest

from tests.generate.ray_papers import write_papers


@pytest.fixture
def papers(tmp_path):
    records, answers = write_papers(tmp_path / "papers", 12)
    return tmp_path / "papers", answers


@pytest.fixture
def page(qtbot, app_context, papers):
    from deepones_gui.workspaces.generate.page import GeneratePage

    page = GeneratePage(app_context)
    qtbot.addWidget(page)
    page.resize(1120, 740)
    page.show()
    yield page
    page.shutdown()


def fill(page, qtbot, folder, answers, *, concurrency=1) -> None:
    page.form.add_papers([str(folder)])
    page.form.picker.select(f"replay:{answers}")
    page.form.dataset.setText("my-deepdata")
    page.form.mcq_share.setValue(50.0)
    page.form.concurrency.setValue(concurrency)


def test_folder_estimate_start_progress_samples_and_a_step(page, qtbot, papers, app_context):
    folder, answers = papers
    assert not page.start_button.isEnabled() and "Add papers" in page.status.text()
    fill(page, qtbot, folder, answers, concurrency=4)
    qtbot.waitUntil(lambda: page.estimate is not None, timeout=10_000)
    text = page.estimate_label.text()
    assert page.estimate["papers"] == 12 and page.estimate["requests"] > 12 * 9
    assert "12 paper(s)" in text and "requests" in text and "tokens/s" in text
    assert page.start_button.isEnabled()
    page.form.price_in.setValue(3.0)
    qtbot.waitUntil(
        lambda: page.estimate is not None and page.estimate.get("cost") is not None, timeout=10_000
    )
    assert "cost ≈" in page.estimate_label.text()

    page.start_button.click()
    qtbot.waitUntil(lambda: page.controller.running, timeout=5000)
    assert page.cancel_button.isEnabled() and not page.start_button.isEnabled()
    qtbot.waitUntil(lambda: not page.controller.running, timeout=30_000)
    assert "finished" in page.status.text(), page.status.text()
    assert page.progress.bar.value() == page.progress.bar.maximum() == 12
    stage_ok = {
        page.progress.stages.item(r, 0).text(): page.progress.stages.item(r, 1).text()
        for r in range(page.progress.stages.rowCount())
    }
    assert stage_ok["filter"] == "12" and stage_ok["instructions"] == "12"
    qtbot.waitUntil(lambda: page.progress.samples.rowCount() > 20)
    assert page.progress.samples.item(0, 1).text() in ("instruction", "dlpd", "mcq")
    # remembered for the next time the page opens
    assert app_context.settings.extra["generate_form"]["dataset"] == "my-deepdata"

    # Runs and steps: the finished run, a step's prompt and raw answer
    page.tabs.setCurrentWidget(page.runs)
    qtbot.waitUntil(
        lambda: page.runs.runs.rowCount() == 1 and page.runs.steps.topLevelItemCount() == 12, timeout=5000
    )
    assert page.runs.runs.item(0, 2).text() == "finished" and not page.runs.resume_button.isEnabled()
    first_paper = page.runs.steps.topLevelItem(0)
    page.runs.steps.setCurrentItem(first_paper.child(1))  # "contributions"
    qtbot.waitUntil(lambda: "contributions" in page.runs.raw_view.toPlainText(), timeout=5000)
    assert (
        "── user ──" in page.runs.prompt_view.toPlainText()
        and "Residual Learning" in page.runs.prompt_view.toPlainText()
    )
    assert page.runs.step_info.text().startswith("ok")


def test_cancel_then_resume_finishes_without_duplicates(page, qtbot, tmp_path, app_context):
    # Enough papers that the cancel (noticed within the runner's 0.3 s poll) lands mid-run: replayed
    # answers come at ~30 papers/s here.
    _records, answers = write_papers(tmp_path / "many", 48)
    folder = tmp_path / "many"
    fill(page, qtbot, folder, answers)
    qtbot.waitUntil(lambda: page.start_button.isEnabled())
    page.start_button.click()
    qtbot.waitUntil(lambda: page.progress.bar.value() >= 1, timeout=15_000)
    page.cancel_button.click()
    qtbot.waitUntil(lambda: not page.controller.running, timeout=15_000)
    assert "cancelled" in page.status.text(), page.status.text()
    db = app_context.db
    done = db.execute("SELECT count(*) FROM generate_papers WHERE status = 'done'").fetchone()[0]
    assert 1 <= done < 48
    page.tabs.setCurrentWidget(page.runs)
    qtbot.waitUntil(
        lambda: page.runs.runs.rowCount() == 1 and page.runs.resume_button.isEnabled(), timeout=5000
    )
    assert page.runs.runs.item(0, 2).text() == "cancelled"
    page.runs.resume_button.click()
    qtbot.waitUntil(lambda: not page.controller.running and "finished" in page.status.text(), timeout=30_000)
    assert db.execute("SELECT count(*) FROM generate_papers WHERE status = 'done'").fetchone()[0] == 48
    n = db.execute("SELECT count(*) FROM samples WHERE status = 'generated'").fetchone()[0]
    assert n == db.execute("SELECT count(*) FROM sample_provenance").fetchone()[0] > 400
    # every step once per paper: nothing was asked twice
    assert (
        db.execute("SELECT count(*) FROM generate_steps").fetchone()[0]
        == db.execute(
            "SELECT count(DISTINCT run_id || ':' || position || ':' || name) FROM generate_steps"
        ).fetchone()[0]
    )


def test_open_a_sample_and_its_paper_in_data(qtbot, app_context, papers):
    from backend.datasets.demo import ensure_demo
    from deepones_gui.main_window import MainWindow

    ensure_demo(app_context.db)  # else Data imports it when first shown, and closing asks about that import
    folder, answers = papers
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    page = window.show_workspace("generate")
    fill(page, qtbot, folder, answers, concurrency=4)
    qtbot.waitUntil(lambda: page.start_button.isEnabled())
    page.start_button.click()
    qtbot.waitUntil(
        lambda: not page.controller.running and page.progress.samples.rowCount() > 0, timeout=30_000
    )
    page.progress.samples.selectRow(0)
    sample_id, paper_id = page.progress.selected()
    page.progress.open_button.click()
    data = window.pages["data"]
    assert window.stack.currentWidget() is data
    qtbot.waitUntil(lambda: data.facets.checked() == {"paper": (paper_id,)}, timeout=10_000)
    qtbot.waitUntil(
        lambda: data.detail.sample is not None and data.detail.sample["id"] == sample_id, timeout=10_000
    )
    html = data.detail.browser.toHtml()
    assert "Provenance" in html and "Residual Learning, Part" in html and "replay:" in html
    window.show_workspace("generate")
    page.progress.samples.selectRow(page.progress.samples.rowCount() - 1)
    other = page.progress.selected()[1]
    page.progress.paper_button.click()
    qtbot.waitUntil(lambda: data.facets.checked() == {"paper": (other,)}, timeout=10_000)
    assert all(
        data.db.execute(
            "SELECT paper_id FROM sample_provenance WHERE sample_id = ?", [data.model.sample_id(r)]
        ).fetchone()[0]
        == other
        for r in range(data.model.rowCount())
    )
    window.close()


def test_prompt_edit_changes_the_recorded_version(page, qtbot):
    page.tabs.setCurrentWidget(page.prompts)
    page.prompts.stage.setCurrentText("filter")
    assert "(packaged)" in page.prompts.version.text() and not page.prompts.reset.isEnabled()
    page.prompts.editor.setPlainText(page.prompts.editor.toPlainText() + "\nBe brief.")
    page.prompts.save.click()
    assert "+user." in page.prompts.version.text() and page.prompts.reset.isEnabled()
    assert "Saved" in page.prompts.status.text()
    from backend.generate.prompts import load_prompt

    assert load_prompt("filter").user and load_prompt("filter").body.rstrip().endswith("Be brief.")


def test_the_last_inputs_come_back_when_the_page_opens(qtbot, app_context, papers):
    from backend.generate.plan import SETTINGS_KEY, GeneratePlan
    from deepones_gui.workspaces.generate.page import GeneratePage

    folder, answers = papers
    plan = GeneratePlan(
        papers=[str(folder)],
        model=f"replay:{answers}",
        dataset="again",
        mcq_share=0.2,
        concurrency=3,
        price_out=2.5,
        use_ray=True,
    )
    app_context.settings.extra[SETTINGS_KEY] = {
        **plan.to_dict(),
        "from_a_newer_version": 1,
        "concurrency": "x",
    }
    page = GeneratePage(app_context)
    qtbot.addWidget(page)
    try:
        restored = page.form.plan()
        assert restored == GeneratePlan(
            **{**plan.to_dict(), "concurrency": 4}
        )  # a mistyped value: the default
        qtbot.waitUntil(lambda: page.estimate is not None, timeout=10_000)
        assert page.estimate["papers"] == 12
    finally:
        page.shutdown()
