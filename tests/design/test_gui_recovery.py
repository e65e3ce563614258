"""The Design window after a crash: the stage says why it stopped and runs again in place.

The app is killed for real (the CLI running the session gets SIGKILL mid-run) and the model is
killed for real (a model server process dies mid-answer); a new window finds the stage.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from backend.pipeline import SessionStore, get_task
from deepones_gui.main_window import MainWindow
from deepones_gui.workspaces.design.widgets import NEXT
from tests.design.conftest import FIXTURES, replay
from tests.design.recovery_helpers import ModelServer, kill_cli_during_implement, waiting_programmer


def _open(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window, window.show_workspace("design")


def _close(qtbot, window) -> None:
    """Close after background work (the Overview's checks) has landed, so none calls into a closed window."""
    from deepones_gui.concurrent import wait_for_background_tasks

    # The Overview's doctor check runs a canary generation: minutes on a loaded machine.
    assert wait_for_background_tasks(300_000)
    qtbot.wait(100)
    window.close()


def _rail_texts(page) -> list[str]:
    return [page.rail.item(i).text() for i in range(page.rail.count())]


def test_killed_app_new_window_shows_the_reason_and_runs_the_stage_again(qtbot, app_context, tmp_path, deepones_home):
    QSettings().remove("design")
    sessions = SessionStore(app_context.db)
    programmer, flag = waiting_programmer(tmp_path)
    sid, step_id, pid = kill_cli_during_implement(deepones_home, programmer, sessions)

    window, page = _open(qtbot, app_context)   # the next start of the app
    assert page.session_id == sid
    assert page.rail.selected_data() == step_id and page.run_btn.text() == "Run again"
    assert page.run_btn.isEnabled() and not page.accept_btn.isEnabled() and not page.fork_btn.isEnabled()
    assert not page.run_code_btn.isEnabled() and page.tabs.currentWidget() is page.output_view
    assert page.reason.isVisible()
    assert page.reason.text() == (f"Stopped: DeepOnes was closed or killed while this stage ran (process {pid} ended)."
                                  "  Run again runs it here, on this branch.")
    assert "interrupted" in page.header.text()
    # One Implement on the rail (the interrupted one), no second "Implement — next".
    texts = _rail_texts(page)
    assert [t for t in texts if t.startswith("Implement")] == ["Implement  · interrupted"]
    assert not any("— next" in t for t in texts) and texts[-2:] == ["Hyperparameters", "Final run"]
    assert page.branch_combo.count() == 1

    flag.unlink()
    page.run_btn.click()
    qtbot.waitUntil(lambda: not page.is_running(), timeout=180_000)
    step = sessions.step(step_id)
    assert step.status == "succeeded" and step.score == 0.75 and step.job_id
    assert page.rail.selected_data() == step_id and not page.reason.isVisible()
    assert "succeeded" in page.header.text() and page.branch_combo.count() == 1
    assert _rail_texts(page)[-2:] == ["Hyperparameters  — next", "Final run"]
    _close(qtbot, window)


def test_model_killed_mid_answer_then_restart_finds_the_stage_and_runs_it(qtbot, app_context, tmp_path):
    from deepones_gui.app import open_context

    QSettings().remove("design")
    server = ModelServer(tmp_path, FIXTURES / "designer.jsonl", delay=0.05)
    try:
        window, page = _open(qtbot, app_context)
        sid = page.create_session(get_task("demo-digits"), server.spec, replay("programmer.jsonl"))
        chunks: list[str] = []

        def on_event(session_id, kind, payload) -> None:
            if kind == "chunk":
                chunks.append(payload["text"])
                if len(chunks) == 3:
                    server.kill()

        page.runs.event.connect(on_event)
        page.run_btn.click()
        qtbot.waitUntil(lambda: not page.is_running(), timeout=60_000)
        step = SessionStore(app_context.db).branch(sid)[-1]
        assert (step.stage, step.status, step.error_type) == ("propose", "error", "ModelError")
        assert page.run_btn.text() == "Run again" and page.reason.isVisible()
        assert page.reason.text().startswith("Stopped: ") and "127.0.0.1" in page.reason.text()
        assert "Traceback" not in page.reason.text()
        _close(qtbot, window)
        app_context.db.conn.close()

        server = ModelServer(tmp_path, FIXTURES / "designer.jsonl", delay=0.0, port=server.port)
        ctx2 = open_context(app_context.data_dir, interactive=False)
        try:
            window2, page2 = _open(qtbot, ctx2)
            assert page2.session_id == sid and page2.rail.selected_data() == step.id
            assert page2.run_btn.text() == "Run again" and page2.reason.isVisible()
            assert [t for t in _rail_texts(page2) if t.startswith("Propose")] == ["Propose  · ModelError"]
            page2.run_btn.click()
            qtbot.waitUntil(lambda: not page2.is_running(), timeout=60_000)
            again = SessionStore(ctx2.db).step(step.id)
            assert again.status == "done" and again.response.startswith("One possible model is")
            assert page2.response_edit.toPlainText() == again.response and not page2.reason.isVisible()
            assert page2.accept_btn.isEnabled()
            _close(qtbot, window2)
        finally:
            ctx2.db.conn.close()
    finally:
        server.kill()


def test_new_session_branch_box_and_accept_follow_what_there_is(qtbot, app_context, tmp_path):
    QSettings().remove("design")
    window, page = _open(qtbot, app_context)
    page.create_session(get_task("demo-digits"), replay("designer.jsonl"), replay("programmer.jsonl"))
    # A brand-new session has one branch that has not started (not "New branch after the start").
    assert page.branch_combo.count() == 1 and page.branch_combo.currentText() == "Branch 1 · not started yet"
    assert not page.branch_combo.isEnabled() and not page.accept_btn.isEnabled()
    page.run_btn.click()
    qtbot.waitUntil(lambda: not page.is_running(), timeout=60_000)
    assert page.accept_btn.isEnabled() and page.branch_combo.currentText() == "Branch 1: Propose · done"
    # An emptied response is nothing to accept.
    page.response_edit.setPlainText("")
    assert not page.accept_btn.isEnabled()
    page.response_edit.setPlainText("A tiny MLP.")
    assert page.accept_btn.isEnabled()
    page.accept_btn.click()
    assert page.rail.selected_data() == NEXT and "Improve" in page.header.text()
    _close(qtbot, window)


def test_chat_code_and_the_pipeline_read_the_same_blocks():
    from backend.pipeline.extract import extract_code, fenced_program
    from deepones_gui.workspaces.chat.markdown_view import code_blocks, split_markdown

    # An indented fence (inside a list) closed by a longer fence: the old Chat reader saw no code here.
    answer = "1. The model:\n   ```python\n   import torch\n   model = torch.nn.Linear(4, 2)\n   ````\n2. Train it."
    assert code_blocks(answer) == ["   import torch\n   model = torch.nn.Linear(4, 2)"]
    assert extract_code(answer) == fenced_program(answer) == "import torch\nmodel = torch.nn.Linear(4, 2)\n"
    kinds = [s.kind for s in split_markdown(answer)]
    assert kinds == ["text", "code", "text"]
    assert fenced_program("import os  # prose that looks like code, but no fences") == ""


def test_model_worker_crash_during_a_stage_then_restart_runs_it_again(qtbot, app_context, monkeypatch):
    """The embedded model's worker process dies natively (SIGSEGV, the worker's test hook) mid-answer."""
    from backend.llm.worker.client import unload
    from backend.llm.worker.faults import ENV as FAULT_ENV
    from backend.pipeline import SessionSettings
    from deepones_gui.app import open_context

    QSettings().remove("design")
    unload()   # a warm worker from an earlier test was started without the fault hook
    monkeypatch.setenv(FAULT_ENV, "segv@3:once")
    window, page = _open(qtbot, app_context)
    sid = page.create_session(get_task("demo-digits"), "embedded", "embedded",
                              SessionSettings(designer_max_tokens=24, temperature=0.0))
    page.run_btn.click()
    qtbot.waitUntil(lambda: not page.is_running(), timeout=180_000)
    step = SessionStore(app_context.db).branch(sid)[-1]
    assert (step.stage, step.status, step.error_type) == ("propose", "error", "ModelError"), step.stderr
    assert "SIGSEGV" in step.stop_reason and "Traceback" not in step.stderr
    assert page.reason.isVisible() and "SIGSEGV" in page.reason.text() and page.run_btn.text() == "Run again"
    _close(qtbot, window)
    app_context.db.conn.close()

    ctx2 = open_context(app_context.data_dir, interactive=False)   # the app starts again
    try:
        window2, page2 = _open(qtbot, ctx2)
        assert page2.rail.selected_data() == step.id and page2.run_btn.text() == "Run again"
        assert "SIGSEGV" in page2.reason.text()
        page2.run_btn.click()
        qtbot.waitUntil(lambda: not page2.is_running(), timeout=180_000)
        again = SessionStore(ctx2.db).step(step.id)
        assert again.status == "done" and again.response.strip() and again.completion_tokens
        assert not page2.reason.isVisible() and page2.accept_btn.isEnabled()
        _close(qtbot, window2)
    finally:
        ctx2.db.conn.close()
