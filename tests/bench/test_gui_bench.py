"""Bench workspace: start a small sweep, watch its progress, Table 2 -> a cell's runs -> a run opens in
Design; Table 3 and the error chart fill in; a DeepQA evaluation (child process, embedded SmolLM2) charts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from deepones_gui.main_window import MainWindow


def _open(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window, window.show_workspace("bench")


@pytest.mark.timeout(900)
def test_sweep_table2_runs_open_in_design_and_deepqa_chart(qtbot, app_context, replay_models, deepones_home,
                                                           monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPONES_DATA", str(deepones_home / "datasets"))
    (deepones_home / "datasets").mkdir(parents=True, exist_ok=True)
    window, page = _open(qtbot, app_context)
    assert not page.resume_button.isEnabled() and not page.cancel_button.isEnabled()
    assert not page.open_design.isEnabled()   # nothing selected: nothing to open

    page.new_button.click()
    assert page.form_box.isVisible()
    form = page.form
    form.designers.setPlainText(replay_models["designer_a"] + "\n" + replay_models["designer_b"])
    form.programmer.setText(replay_models["programmer"])
    form.runs.setValue(2)
    form.max_debug.setValue(3)
    form.executor.setCurrentText("local")
    form.parallel.setValue(1)
    seen: list[int] = []
    page.progress.valueChanged.connect(seen.append)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.runner is not None, timeout=30_000)
    assert page.cancel_button.isEnabled() and not page.start_button.isEnabled()
    qtbot.waitUntil(lambda: page.runner is None, timeout=600_000)
    def runs_in_table2() -> int:   # the reload after the end, not a table loaded while runs were going
        t2 = page.table2
        return sum(int(t2.item(r, 7).text().split()[0].split("/")[1]) for r in range(t2.rowCount()))

    qtbot.waitUntil(lambda: page.progress.value() == 8 and page.table2.rowCount() == 4 and runs_in_table2() == 8,
                    timeout=30_000)
    assert page.status.text().startswith("Sweep finished: 8/8")
    assert sorted(set(seen))[:3] == [0, 1, 2]   # progress moved run by run
    assert not page.cancel_button.isEnabled() and not page.resume_button.isEnabled()

    # Table 2 (runs n = 0..7 in row order, see conftest): designer b base 0.7, 0.8 -> 0.75; its "+" runs
    # 0.9 and a diverged one -> 0.9: a gain, coloured green.
    t2 = page.table2
    headers = [t2.horizontalHeaderItem(c).text() for c in range(t2.columnCount())]
    assert headers[:4] == ["Task", "Designer", "Variant", "Mean"]
    plus_row = next(r for r in range(4) if t2.item(r, 2).text() == "+" and t2.item(r, 1).text() == "designer_b.jsonl")
    assert (t2.item(plus_row, 3).text(), t2.item(plus_row, 7).text(), t2.item(plus_row, 8).text()) == \
        ("0.9", "1/2 (50%)", "+0.15")
    assert t2.item(plus_row, 3).background().color().name() == "#c8f0c8"
    shot = Path("/tmp/bench-table2.png")
    window.grab().save(str(shot))

    # Click the cell through to its runs, then open a run in Design.
    rect = t2.visualItemRect(t2.item(plus_row, 3))
    qtbot.mouseClick(t2.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.runs.rowCount() == 2
    assert "designer_b.jsonl · +" in page.runs_title.text()
    page.runs.selectRow(1)
    assert page.open_design.isEnabled()
    session_id = page.runs.selected_session()
    with qtbot.waitSignal(app_context.broadcast, timeout=5000) as blocker:
        page.open_design.click()
    assert blocker.args == ["open_design_session", {"session_id": session_id}]
    design = window.show_workspace("design")
    qtbot.waitUntil(lambda: design.session_id == session_id, timeout=10_000)   # the run is open in Design
    if "traces" in page._workspaces:
        window.show_workspace("bench")
        with qtbot.waitSignal(app_context.broadcast, timeout=5000) as blocker:
            page.open_trace.click()
        assert blocker.args == ["open_trace", {"session_id": session_id}]
    else:
        assert not page.open_trace.isEnabled()   # no Traces workspace installed: nothing to open it in
    window.show_workspace("bench")

    # Table 3 and the error chart.
    assert page.table3.rowCount() == 2 and page.table3.item(0, 2).text().startswith("MLP")
    page.tabs.setCurrentWidget(page.errors)
    assert page.errors.categories == ["ModuleNotFoundError", "RuntimeError", "ValueError"]   # a diverged final run's fix
    assert len(page.errors.series) == 4 and page.errors.export_png.isEnabled()
    window.grab().save("/tmp/bench-errors.png")
    page.errors.save(tmp_path / "errors.svg")
    page.errors.save(tmp_path / "errors.png")
    assert (tmp_path / "errors.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "errors.png").stat().st_size > 2000

    # DeepQA: evaluate 3 questions with the embedded model in a child process; the chart shows them.
    pytest.importorskip("llama_cpp")
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"question": "Which network uses residual blocks?", "options": ["ResNet", "Dropout"], "answer": "A",
         "category": "description generation"},
        {"question": "Which optimiser adapts per-parameter learning rates?", "options": ["Adam", "U-Net"],
         "answer": "A", "category": "property prediction"},
        {"question": "What does ViT stand for?", "options": ["Vision Transformer", "Variational tree"],
         "answer": "A", "category": "name guessing"},
    ]) + "\n")
    panel = page.deepqa
    page.tabs.setCurrentWidget(panel)
    assert panel.chart.series == {} and not panel.chart.export_png.isEnabled()
    panel.model.setText("embedded")
    panel.file.setText(str(questions))
    panel.run_button.click()
    assert not panel.run_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.proc is None, timeout=300_000)
    qtbot.waitUntil(lambda: bool(panel.chart.series), timeout=30_000)
    assert panel.status.text().startswith("Finished"), panel.status.text()
    assert panel.chart.categories == ["description generation", "name guessing", "property prediction"]
    (name, values), = panel.chart.series.items()
    assert "embedded" in name and all(v in (0.0, 1.0) for v in values)
    # Each bar says how many questions its share comes from.
    assert sorted(label.split()[1] for label in panel.chart.bar_labels) in (
        ["(0/1)"] * 3, ["(0/1)", "(0/1)", "(1/1)"], ["(0/1)", "(1/1)", "(1/1)"], ["(1/1)"] * 3)
    window.grab().save("/tmp/bench-deepqa.png")
    assert sys.executable
