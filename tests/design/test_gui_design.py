"""The Design workspace in a real window: step through stages, edit, fork, restart, find it all again."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from backend.pipeline import SessionStore, get_task
from deepones_gui.main_window import MainWindow
from deepones_gui.workspaces.design.widgets import NEXT
from tests.design.conftest import FIXTURES, replay


def _fixed_program() -> str:
    import json

    lines = (FIXTURES / "programmer_syntax.jsonl").read_text().splitlines()
    from backend.pipeline.extract import extract_code

    return extract_code(json.loads(lines[1])["content"])


def _open(qtbot, ctx) -> tuple[MainWindow, object]:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1300, 820)
    window.show()
    qtbot.waitExposed(window)
    return window, window.show_workspace("design")


def _run(qtbot, page, button) -> None:
    assert button.isEnabled(), button.text()
    button.click()
    qtbot.waitUntil(lambda: not page.is_running(), timeout=120_000)


def test_step_through_edit_fork_and_restore_after_restart(qtbot, app_context):
    from deepones_gui.app import open_context

    QSettings().remove("design")
    window, page = _open(qtbot, app_context)
    from backend.pipeline import SessionSettings

    # One debug attempt: the failed final run gets it (the final run has a debug loop too).
    sid = page.create_session(get_task("demo-digits"), replay("designer.jsonl"), replay("programmer_failing.jsonl"),
                              SessionSettings(max_debug=1))
    assert page.rail.selected_data() == NEXT and "Propose" in page.header.text()
    assert "scikit-learn digits" in page.prompt_edit.toPlainText()

    # Edit the prompt before sending it; the edited text is what gets sent and recorded.
    page.prompt_edit.setPlainText(page.prompt_edit.toPlainText() + "\nPrefer something tiny. (edited)")
    _run(qtbot, page, page.run_btn)
    sessions = SessionStore(app_context.db)
    propose = sessions.branch(sid)[0]
    assert propose.status == "done" and propose.prompt.endswith("(edited)")
    assert page.response_edit.toPlainText() == propose.response
    assert propose.response.startswith("One possible model is")

    # Accept and next shows the next prompt; run Improve: C_R lands in the code pane.
    _run_accept = page.accept_btn
    assert _run_accept.isEnabled()
    _run_accept.click()
    assert page.rail.selected_data() == NEXT and "Improve" in page.header.text()
    _run(qtbot, page, page.run_btn)
    assert "class DigitMLP" in page.code_pane.code()

    # Implement: the program really runs and fails with a KeyError; the traceback is clickable.
    page.rail.select_data(NEXT)
    _run(qtbot, page, page.run_btn)
    implement = sessions.branch(sid)[-1]
    assert implement.stage == "implement" and implement.error_type == "KeyError"
    assert "Implement" in page.header.text() and "KeyError" in page.header.text()
    out = page.output_view.toPlainText().splitlines()
    frame_row = next(i for i, line in enumerate(out) if 'program.py", line' in line)
    page.code_pane.editor.go_to_line(1)
    assert page.output_view.activate_line(frame_row) == 4
    assert page.code_pane.editor.current_line() == 4

    # Edit the code by hand (a new version), then validate it without a model call.
    page.code_pane.editor.setPlainText(_fixed_program())
    page.flush_edits()
    assert sessions.step(implement.id).code_version == 1
    assert [e["value"] for e in sessions.edits(sid, implement.id, "code")] == [implement.code, _fixed_program()]
    _run(qtbot, page, page.run_code_btn)
    validate = sessions.branch(sid)[-1]
    assert validate.stage == "validate" and validate.status == "succeeded" and validate.score > 0.8
    assert validate.parent_id == implement.id and validate.origin == "user"
    assert page.rail.selected_data() == validate.id
    assert "+" in page.diff_view.toPlainText() and "centroids" in page.diff_view.toPlainText()

    # Run to the end from here: Hyperparameters (parsed into the table), then the final program runs,
    # fails, and its one debug attempt (run as a final run) fails too: the branch is done.
    _run(qtbot, page, page.run_all_btn)
    hyper, final, fix = sessions.branch(sid)[-3:]
    assert (hyper.stage, hyper.status, final.stage) == ("hyperparameters", "done", "final")
    assert final.status == "failed" and final.error_type == "KeyError" and final.job_id
    assert (fix.stage, fix.status, fix.error_type) == ("debug", "failed", "KeyError")
    assert "learning_rate_1" in fix.prompt   # the debug prompt carries the final program C_O
    assert "Debug 1" in page.header.text() and page.next_stage is None
    assert not page.accept_btn.isEnabled()   # a finished branch: nothing to go on to
    assert sessions.session_row(sid)["status"] == "failed"
    page.rail.select_data(hyper.id)
    assert page.hyper_table.rowCount() == 5 and page.hyper_table.item(0, 0).text() == "learning_rate"

    # Edit the Propose response afterwards: saved as a new version.
    page.rail.select_data(propose.id)
    page.response_edit.setPlainText("One possible model is a tiny CNN. (my edit)")
    page.flush_edits()
    assert sessions.step(propose.id).response.endswith("(my edit)")

    # Fork after Improve: a second branch; type a prompt for the new branch's Implement and leave it unsent.
    improve = sessions.branch(sid)[1]
    page.rail.select_data(improve.id)
    page.fork_btn.click()
    assert page.rail.selected_data() == NEXT and "Implement" in page.header.text()
    assert page.branch_combo.count() == 2
    page.prompt_edit.setPlainText("Implement it with numpy only. (unsent draft)")
    window.close()   # flushes edits; the draft must survive
    from deepones_gui.concurrent import wait_for_background_tasks

    # Restart: the old app's connection goes away (as when its process ends), then a new context and
    # window over the same data dir find everything where it was.
    wait_for_background_tasks()
    app_context.db.conn.close()
    ctx2 = open_context(app_context.data_dir, interactive=False)
    try:
        window2, page2 = _open(qtbot, ctx2)
        assert page2.session_id == sid
        assert page2.rail.selected_data() == NEXT and "Implement" in page2.header.text()
        assert page2.prompt_edit.toPlainText() == "Implement it with numpy only. (unsent draft)"
        assert page2.branch_combo.count() == 2
        assert [s.stage for s in page2.state.steps] == ["propose", "improve"]
        page2.branch_combo.setCurrentIndex(0)
        page2.branch_combo.activated.emit(0)
        assert [s.stage for s in page2.state.steps] == ["propose", "improve", "implement", "validate",
                                                        "hyperparameters", "final", "debug"]
        page2.rail.select_data(propose.id)
        assert page2.response_edit.toPlainText().endswith("(my edit)")
        assert page2.prompt_edit.toPlainText().endswith("(edited)")
        page2.rail.select_data(implement.id)
        assert page2.code_pane.code() == _fixed_program()
        assert "version 2" in page2.code_box.title_label.text()
        window2.close()
    finally:
        ctx2.db.conn.close()


def test_send_to_design_from_chat_seeds_a_session(qtbot, app_context, monkeypatch):
    window, page = _open(qtbot, app_context)
    monkeypatch.setattr(page, "choose_task", lambda current: current)   # the dialog's preselected task
    app_context.broadcast.emit("send_to_design", {"text": "One possible model is ResNet-18.",
                                                  "code": "import torch\nmodel = None\n"})
    steps = page.state.steps
    assert [(s.stage, s.origin) for s in steps] == [("propose", "chat"), ("improve", "chat")]
    assert steps[1].reference_code == "import torch\nmodel = None\n"
    assert page.rail.selected_data() == NEXT and "Implement" in page.header.text()
    assert window.stack.currentWidget() is page


def test_new_session_dialog_builds_a_custom_task(qtbot, app_context):
    from backend.pipeline import TaskError
    from deepones_gui.workspaces.design.new_session import CUSTOM, NewSessionDialog

    dialog = NewSessionDialog(app_context)
    qtbot.addWidget(dialog)
    task, designer, programmer, settings = dialog.build()
    assert task.name == "demo-digits" and designer == "embedded" and settings.time_limit_s == 300
    dialog.task_combo.setCurrentIndex(dialog.task_combo.findData(CUSTOM))
    assert settings.max_debug == 20 and dialog.time_limit.value() == 4200
    dialog._accept()
    assert dialog.result_value is None and "needs a task, dataset, metric" in dialog.error.text()
    dialog.c_task.setText("Cell segmentation")
    dialog.c_dataset.setText("./cells")
    dialog.c_metric.setText("mean IoU")
    dialog.max_debug.setValue(5)
    dialog._accept()
    task, _d, _p, settings = dialog.result_value
    assert task.custom and task.metric == "mean IoU" and settings.max_debug == 5
    try:
        dialog.designer.setText("")
        dialog.build()
    except TaskError as exc:
        assert "designer" in str(exc)
    else:
        raise AssertionError("an empty designer must be refused")


def test_session_settings_switch_the_programmer(qtbot, app_context):
    from deepones_gui.workspaces.design.new_session import NewSessionDialog
    from deepones_gui.workspaces.design.page import DesignPage

    page = DesignPage(app_context)
    qtbot.addWidget(page)
    sid = page.create_session(get_task("image-classification"), "embedded", "embedded")
    row = page.sessions.session_row(sid)
    dialog = NewSessionDialog(app_context, page, existing=(page.state.task, row["designer"], row["programmer"],
                                                           page.state.settings))
    qtbot.addWidget(dialog)
    assert not dialog.task_combo.isEnabled() and dialog.time_limit.value() == 4200
    dialog.programmer.setText("http://127.0.0.1:8080/v1#coder")
    dialog.max_debug.setValue(3)
    task, designer, programmer, settings = dialog.build()
    assert task.name == "image-classification" and settings.max_debug == 3
    page.apply_session_settings(designer, programmer, settings)
    assert page.sessions.session_row(sid)["programmer"] == "http://127.0.0.1:8080/v1#coder"
    assert page.sessions.settings(sid).max_debug == 3 and "CIFAR-10" in page.prompt_edit.toPlainText()
    assert "programmer http://127.0.0.1:8080/v1#coder" in page.info.text()


def test_output_view_cuts_huge_lines_and_keeps_tqdm_redraws_light(qtbot):
    import time

    from deepones_gui.workspaces.design.widgets import OutputView

    view = OutputView()
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    started = time.perf_counter()
    view.show_run("step 1/3\rstep 2/3\rstep 3/3 done\n" + "x" * 300_000 + "\n",
                  'Traceback (most recent call last):\n  File "program.py", line 3, in <module>\nValueError: bad\n')
    qtbot.wait(10)
    assert time.perf_counter() - started < 2.0   # a 300,000-character line used to take seconds to lay out
    lines = view.toPlainText().splitlines()
    assert lines[1] == "step 3/3 done" and lines[2].endswith("[298,000 more characters]")
    frame = next(i for i, line in enumerate(lines) if 'File "program.py"' in line)
    assert view.activate_line(frame) == 3


def test_a_looping_designer_answer_is_stopped_and_retried_with_other_settings(qtbot, app_context, tmp_path):
    import json

    from backend.llm.degenerate import RETRY_LABEL

    looping = "One possible model is " + " ".join(["utils.utils.utils"] * 1500)
    answers = tmp_path / "designer_loops.jsonl"
    answers.write_text(json.dumps({"content": looping}) + "\n")
    window, page = _open(qtbot, app_context)
    sid = page.create_session(get_task("demo-digits"), f"replay:{answers}", replay("programmer.jsonl"))
    _run(qtbot, page, page.run_btn)
    sessions = SessionStore(app_context.db)
    propose = sessions.branch(sid)[0]
    assert propose.status == "stopped" and "repeated itself" in propose.why_stopped
    assert len(propose.response) < len(looping) // 10
    assert page.reason.isVisible() and "repeated itself" in page.reason.text()
    assert page.run_btn.text() == RETRY_LABEL
    _run(qtbot, page, page.run_btn)
    # A replayed conversation gives a stage the answer recorded for it, so it loops again; what the
    # retry changed is the sampling the next model call gets.
    assert [s.stage for s in sessions.branch(sid)] == ["propose"]
    cfg = sessions.settings(sid)
    assert cfg.repeat_penalty and cfg.repeat_penalty > 1.1 and cfg.temperature > 0.2


def test_the_demo_model_picked_as_designer_is_named_a_demo_in_design_bench_and_chat(qtbot, app_context, tmp_path):
    from backend.llm.embedded import DEMO_MODEL_NOTE, embedded_model_path, is_demo_model
    from deepones_gui.workspaces.bench.sweep_form import SweepForm
    from deepones_gui.workspaces.chat.model_picker import ModelPicker
    from deepones_gui.workspaces.design.new_session import NewSessionDialog

    assert is_demo_model("embedded") and is_demo_model(str(embedded_model_path()))
    assert not is_demo_model(replay("designer.jsonl")) and not is_demo_model("http://127.0.0.1:8080/v1#m")

    dialog = NewSessionDialog(app_context)   # the default designer is the embedded model
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.demo_warning.isVisible() and "not a useful designer" in dialog.demo_warning.text()
    dialog.designer.setText(replay("designer.jsonl"))
    assert not dialog.demo_warning.isVisible()
    dialog.designer.setText(str(embedded_model_path()))
    assert dialog.demo_warning.isVisible()

    form = SweepForm([("demo-digits", "Digits")], ["local"], replay("designer.jsonl"), "embedded")
    qtbot.addWidget(form)
    form.show()
    assert not form.demo_warning.isVisible()   # the embedded model as programmer only: no warning
    form.designers.setPlainText(replay("designer.jsonl") + "\nembedded")
    assert form.demo_warning.isVisible() and "demo model" in form.demo_warning.text()

    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.load("embedded", "embedded")
    qtbot.waitUntil(lambda: picker.ready, timeout=20_000)
    assert DEMO_MODEL_NOTE in picker.combo.currentText()
    qtbot.waitUntil(lambda: DEMO_MODEL_NOTE in picker.info.text(), timeout=20_000)
