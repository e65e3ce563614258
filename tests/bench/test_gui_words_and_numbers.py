"""Words and numbers that agree: DeepQA shares with their counts, no "0/1 runs" before a sweep, the
parallel default named for this machine, and Design saying why a run Jobs calls "succeeded" failed."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")


def test_deepqa_category_labels_carry_their_counts(qtbot):
    from deepones_gui.workspaces.bench.charts import GroupedBarChart
    from deepones_gui.workspaces.bench.deepqa_panel import category_label

    assert category_label({"total": 3, "correct": 2, "accuracy": 2 / 3}) == "0.67 (2/3)"
    assert category_label({"total": 0, "correct": 0, "accuracy": None}) == "" and category_label(None) == ""
    chart = GroupedBarChart("DeepQA accuracy per category", "accuracy")
    qtbot.addWidget(chart)
    chart.set_data(
        ["reasoning", "naming"], {"#1 m": [2 / 3, 1.0]}, labels={"#1 m": ["0.67 (2/3)", "1.00 (1/1)"]}
    )
    assert chart.bar_labels == ["0.67 (2/3)", "1.00 (1/1)"]


def test_no_runs_yet_and_parallel_named_for_this_machine(qtbot, app_context):
    from backend.envs import gpu_present
    from deepones_gui.workspaces.bench.page import BenchPage

    page = BenchPage(app_context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.progress.format() != "%v/%m runs", timeout=10_000)
    assert page.progress.format() == "no runs yet" and page.progress.text() == "no runs yet"
    special = page.form.parallel.specialValueText()
    assert special == ("one per GPU" if gpu_present() else "1 (no GPU found)")


def test_a_run_without_a_score_says_why_it_failed(qtbot, app_context):
    from backend.pipeline import SessionStore, get_task
    from backend.pipeline.errors import NO_SCORE
    from deepones_gui.workspaces.design.page import DesignPage

    sessions = SessionStore(app_context.db)
    sid = sessions.create_session(get_task("demo-digits"), "replay:/dev/null", "replay:/dev/null")
    step = sessions.add_step(
        sid, None, "implement", status="failed", error_type=NO_SCORE, code="print(1)\n", stdout="1\n"
    )
    page = DesignPage(app_context)
    qtbot.addWidget(page)
    page.show()
    page.open_session(sid, select=step.id)
    assert page.reason.isVisible()
    assert "ran to the end (its job succeeded)" in page.reason.text() and "no score" in page.reason.text()
