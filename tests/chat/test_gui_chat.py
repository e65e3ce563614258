"""The Chat and Models workspaces, offscreen, with the real store, the real SmolLM2 and replay files."""

from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from deepones_gui.workspaces.chat.message_widget import MessageWidget

LONG_WAIT = 120_000


@pytest.fixture
def page(qtbot, app_context):
    from deepones_gui.workspaces.chat.page import ChatPage

    p = ChatPage(app_context)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    qtbot.waitUntil(lambda: p.picker.ready, timeout=20_000)
    yield p
    p.shutdown()


def replay(tmp_path, *answers) -> str:
    f = tmp_path / "answers.jsonl"
    f.write_text("".join(json.dumps({"content": a}) + "\n" for a in answers))
    return f"replay:{f}"


def send(page, qtbot, text: str) -> None:
    page.input.setPlainText(text)
    page.send()
    qtbot.waitUntil(lambda: not page.runner.running and page._pending is None, timeout=LONG_WAIT)
    qtbot.wait(20)


def bubbles(page) -> list[MessageWidget]:
    out = []
    for i in range(page.thread.count()):
        w = page.thread.itemAt(i).widget()
        if isinstance(w, MessageWidget):
            out.append(w)
    return out


def test_embedded_answer_streams_with_stats_shown_and_stored(page, qtbot, app_context):
    page.select_model("embedded")
    page.settings.max_tokens.setValue(12)
    page.settings.temperature.setValue(0.0)
    i = page.settings.template.findData("chatml")
    if i < 0:
        page.settings.set_template_choices(["chatml"])
    page.settings.template.setCurrentIndex(page.settings.template.findData("chatml"))  # manual override
    batches = []
    page.runner.text_ready.connect(batches.append)
    send(page, qtbot, "What is dropout?")
    user, answer = bubbles(page)
    assert user.body.text == "What is dropout?" and answer.body.text.strip()
    assert "TTFT" in answer.stats.text() and "tokens/s" in answer.stats.text()
    assert batches and "".join(batches).strip() == answer.body.text.strip()
    row = app_context.db.conn.execute(
        "SELECT ttft_ms, tokens_per_s, completion_tokens, model FROM messages WHERE role='assistant'").fetchone()
    assert row[0] > 0 and row[1] > 0 and 0 < row[2] <= 12 and row[3] == "embedded"
    assert page._backends[("embedded", "chatml")].chat_format == "chatml"
    assert page.sidebar.list.count() == 1 and page.sidebar.list.item(0).text() == "What is dropout?"


def test_regenerate_edit_and_switch_branches(page, qtbot, tmp_path):
    page.select_model(replay(tmp_path, "Answer A", "Answer B", "Answer C"))
    send(page, qtbot, "Propose a model")
    bubbles(page)[1].regen_button.click()
    qtbot.waitUntil(lambda: not page.runner.running and page._pending is None, timeout=LONG_WAIT)
    answer = bubbles(page)[1]
    assert answer.body.text == "Answer B" and answer.branch_label.text() == "2/2"
    answer.prev_branch.click()
    assert bubbles(page)[1].body.text == "Answer A"
    bubbles(page)[0].edit_button.click()
    assert page.edit_banner.isVisible() and page.input.toPlainText() == "Propose a model"
    send(page, qtbot, "Propose a small model")
    user, answer = bubbles(page)
    assert (user.body.text, answer.body.text, user.branch_label.text()) == ("Propose a small model", "Answer C", "2/2")
    user.prev_branch.click()
    # The old branch is back, showing its newest answer.
    assert [b.body.text for b in bubbles(page)] == ["Propose a model", "Answer B"]


def test_code_blocks_copy_and_send_to_design(page, qtbot, tmp_path, app_context):
    code = "import torch.nn as nn\nmodel = nn.Linear(4, 2)"
    page.select_model(replay(tmp_path, f"Use a linear probe.\n\n```python\n{code}\n```\n\nTrain 3 epochs."))
    send(page, qtbot, "Design a baseline")
    answer = bubbles(page)[1]
    (block,) = answer.body.code_widgets()
    assert block.language == "python" and "nn.Linear" in block.view.toPlainText()
    block.copy_button.click()
    assert QGuiApplication.clipboard().text() == code
    with qtbot.waitSignal(app_context.broadcast, timeout=2000) as sig:
        answer.design_button.click()
    kind, payload = sig.args
    assert kind == "send_to_design" and payload["code"] == code and "linear probe" in payload["text"]


@pytest.mark.parametrize("kind, expected", [("text", "not a GGUF model file"), ("truncated", "truncated"),
                                            ("empty", "is empty")])
def test_bad_model_file_shows_error_with_retry_and_gui_stays_alive(page, qtbot, bad_gguf_files, kind, expected):
    ticks = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    page.select_model(str(bad_gguf_files[kind]))
    send(page, qtbot, "Hello?")
    user, failed = bubbles(page)
    assert expected in failed.error.text() and failed.retry_button.isVisible()
    assert page.send_button.isEnabled() and page.input.isEnabled()
    # The conversation stays usable: pick a working model and Retry the same question.
    page.select_model("embedded")
    page.settings.max_tokens.setValue(6)
    failed.retry_button.click()
    qtbot.waitUntil(lambda: not page.runner.running and page._pending is None, timeout=LONG_WAIT)
    user, answer = bubbles(page)
    assert answer.body.text.strip() and not answer.error.isVisible()
    timer.stop()
    assert len(ticks) > 3  # the event loop kept running throughout


def test_stop_keeps_the_partial_answer(page, qtbot, app_context):
    page.select_model("embedded")
    page.settings.max_tokens.setValue(400)
    page.input.setPlainText("Write a long essay about convolutional networks.")
    page.send()
    qtbot.waitUntil(lambda: len(page.runner.text) > 10, timeout=LONG_WAIT)
    page.stop_button.click()
    qtbot.waitUntil(lambda: not page.runner.running and page._pending is None, timeout=LONG_WAIT)
    content, n = app_context.db.conn.execute(
        "SELECT content, completion_tokens FROM messages WHERE role='assistant'").fetchone()
    assert content.endswith("*[stopped]*") and n < 400


def test_context_overflow_note_is_visible(page, qtbot, tmp_path):
    from backend.llm.conversations import ConversationStore

    convs = ConversationStore(page.ctx.db)
    chat = convs.create_chat("long")
    parent = None
    for i in range(6):
        parent = convs.add_message(chat, parent, "user", f"question {i} " + "word " * 150)
        parent = convs.add_message(chat, parent, "assistant", "answer " * 150)
    page.refresh_chats()
    page.show_chat(chat)
    page.settings.context.setValue(512)
    page.settings.max_tokens.setValue(8)
    page.settings.system.setPlainText("Be brief.")
    page.select_model("embedded")
    send(page, qtbot, "And now?")
    answer = bubbles(page)[-1]
    assert answer.body.text.strip() and not answer.error.isVisible()
    assert answer.note.isVisible() and "left out" in answer.note.text()
    row = page.ctx.db.conn.execute("SELECT dropped_messages FROM messages ORDER BY id DESC LIMIT 1").fetchone()
    assert row[0] >= 6


def test_sidebar_search_rename_delete(page, qtbot, tmp_path, monkeypatch):
    page.select_model(replay(tmp_path, "one", "two"))
    send(page, qtbot, "First topic: transformers")
    page.new_chat()
    send(page, qtbot, "Second topic: learning rates")
    assert page.sidebar.list.count() == 2
    page.sidebar.search.setText("transformers")
    qtbot.waitUntil(lambda: page.sidebar.list.count() == 1, timeout=3000)
    item = page.sidebar.list.item(0)
    chat_id = page.sidebar.chat_ids()[0]
    item.setText("Transformers ideas")   # what inline rename (F2) does
    assert page.store.get_chat(chat_id)["title"] == "Transformers ideas"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    page.delete_chat(chat_id)
    assert page.store.get_chat(chat_id) is not None      # declined: nothing deleted
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.delete_chat(chat_id)
    assert page.store.get_chat(chat_id) is None


def test_models_page_lists_details_defaults_and_delete(qtbot, app_context, monkeypatch, smollm2):
    from backend import paths
    from deepones_gui.workspaces.models.page import ModelManagerPage
    from tests.chat.conftest import write_tiny_gguf

    mine = paths.models_dir(app_context.data_dir) / "mine.gguf"
    write_tiny_gguf(mine)
    mp = ModelManagerPage(app_context)
    qtbot.addWidget(mp)
    qtbot.waitUntil(lambda: len(mp.rows) >= 2, timeout=20_000)
    assert mp.table.item(0, 0).text().startswith("SmolLM2") and mp.table.item(0, 2).text() == "Q4_1"
    mp.table.selectRow(0)
    assert mp.fields["Quantisation"].text() == "Q4_1" and "KV cache" in mp.memory.text()
    qtbot.waitUntil(lambda: mp.offload.text() not in ("–", "checking the GPU…"), timeout=10_000)
    row = next(i for i, (m, _i, _e) in enumerate(mp.rows) if m["path"] == str(mine))
    mp.table.selectRow(row)
    mp.programmer_button.click()
    assert app_context.settings.programmer_model == str(mine)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    mp.delete_selected()
    assert not mine.exists() and app_context.settings.programmer_model == "embedded"


def test_empty_state_is_centred_and_nothing_runs_off_the_pane(qtbot, app_context):
    # Issue 15: the intro text was cut and the first suggestion ran off the pane (a push button
    # never wraps, so it widened the whole conversation), and the heading was not centred.
    from deepones_gui.main_window import MainWindow
    from deepones_gui.workspaces.chat.empty_state import ChatEmptyState
    from tests.test_clipped_text import clipped_widgets

    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    page = window.show_workspace("chat")
    qtbot.waitUntil(lambda: page.picker.ready, timeout=20_000)
    qtbot.wait(50)
    (empty,) = page.thread_host.findChildren(ChatEmptyState)
    assert clipped_widgets(page) == []
    viewport = page.scroll.viewport()
    centre = empty.heading.mapTo(viewport, empty.heading.rect().center()).x()
    assert abs(centre - viewport.width() / 2) <= 12, (centre, viewport.width())
    text_left = empty.heading.mapTo(viewport, empty.heading.rect().topLeft()).x()
    assert text_left >= 0 and empty.cards[0].mapTo(viewport, empty.cards[0].rect().topRight()).x() <= viewport.width()
    assert page.thread_host.width() <= viewport.width()
    empty.cards[0].clicked.emit(empty.cards[0].text)
    assert page.input.toPlainText().startswith("Propose a model for CIFAR-10")


def test_a_question_left_without_an_answer_says_the_model_stopped_with_retry(page, qtbot, tmp_path):
    from deepones_gui.workspaces.chat.page import STOPPED_BEFORE_ANSWER

    chat = page.store.create_chat("Unanswered", "", "embedded")
    page.store.add_message(chat, None, "user", "Propose a model for MNIST")
    page.refresh_chats()
    page.show_chat(chat)
    qtbot.wait(50)   # new bubbles are shown by a queued call
    user, stopped = bubbles(page)
    assert user.body.text == "Propose a model for MNIST"
    assert stopped.error.text() == STOPPED_BEFORE_ANSWER and stopped.retry_button.isVisible()
    page.select_model(replay(tmp_path, "A small CNN."))
    stopped.retry_button.click()
    qtbot.waitUntil(lambda: not page.runner.running and page._pending is None, timeout=LONG_WAIT)
    qtbot.wait(50)
    assert [b.body.text for b in bubbles(page)] == ["Propose a model for MNIST", "A small CNN."]
    assert page.unanswered is None


@pytest.fixture
def no_keyring():
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())   # what a headless server has
    yield
    keyring.set_keyring(previous)


def test_models_page_without_a_keyring_disables_saving_secrets_and_says_why(qtbot, app_context, no_keyring):
    from deepones_gui.workspaces.models.page import ModelManagerPage

    mp = ModelManagerPage(app_context)
    qtbot.addWidget(mp)
    mp.show()
    qtbot.waitUntil(lambda: mp.keyring_ok is not None, timeout=10_000)
    assert mp.keyring_ok is False
    assert not mp.save_token.isEnabled() and not mp.save_key.isEnabled()
    assert mp.token_note.isVisible() and "HF_TOKEN" in mp.token_note.text()
    assert mp.key_note.isVisible() and "OPENAI_API_KEY" in mp.key_note.text()
    assert "environment variable" in mp.save_key.toolTip()


def test_models_page_with_a_keyring_saves_secrets(qtbot, app_context, memory_keyring):
    from deepones_gui.workspaces.models.page import ModelManagerPage

    mp = ModelManagerPage(app_context)
    qtbot.addWidget(mp)
    mp.show()
    qtbot.waitUntil(lambda: mp.keyring_ok is not None, timeout=10_000)
    assert mp.save_token.isEnabled() and not mp.token_note.isVisible()
    mp.hub_token.setText("hf_test_token_value")
    mp.save_token.click()
    assert memory_keyring.store[("deepones", "hf-token")] == "hf_test_token_value"


def test_model_size_reads_the_same_in_the_list_details_chat_and_overview(qtbot, app_context, smollm2):
    from backend.units import format_bytes
    from deepones_gui.workspaces.models.page import ModelManagerPage
    from deepones_gui.workspaces.overview import OverviewPage

    expected = format_bytes(smollm2.stat().st_size)
    mp = ModelManagerPage(app_context)
    qtbot.addWidget(mp)
    qtbot.waitUntil(lambda: len(mp.rows) >= 1, timeout=20_000)
    mp.table.selectRow(0)
    assert mp.table.item(0, 3).text() == expected and mp.fields["Size"].text() == expected
    ov = OverviewPage(app_context)
    qtbot.addWidget(ov)
    qtbot.waitUntil(lambda: ov.report is not None, timeout=240_000)
    from PySide6.QtWidgets import QLabel

    texts = [w.text() for w in ov.grid_host.findChildren(QLabel)]
    assert any(expected in t for t in texts), texts


# llama.cpp aborting is the slow tier's (the fast tier has the kill, and the worker tests both signals).
@pytest.mark.parametrize("how", ["SIGKILL", pytest.param("abort", marks=pytest.mark.slow)])
def test_a_crashed_model_worker_costs_one_answer_not_the_window_or_the_draft(qtbot, app_context, monkeypatch, how):
    """Issue 9: the model worker dies mid-answer (killed from outside, or llama.cpp aborting): the
    window lives, the conversation shows the error with Retry, the unsent draft stays; after a
    restart of the window the failed answer is still there with Retry, and Retry answers."""
    import os
    import signal

    from backend.llm.worker.client import unload, workers
    from deepones_gui.main_window import MainWindow

    unload()   # a warm worker from an earlier test would not have the fault hook
    if how == "abort":  # the worker's own test hook: os.abort() after 8 tokens, as a native crash would
        monkeypatch.setenv("DEEPONES_TEST_WORKER_FAULT", "abort@8")
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    page = window.show_workspace("chat")
    qtbot.waitUntil(lambda: page.picker.ready, timeout=20_000)
    page.select_model("embedded")
    page.settings.max_tokens.setValue(2000)
    page.settings.temperature.setValue(0.0)
    page.input.setPlainText("Write a long essay about convolutional networks.")
    page.send()
    qtbot.waitUntil(lambda: len(page.runner.text) > 10 or not page.runner.running, timeout=LONG_WAIT)
    page.input.setPlainText("My next question, not sent yet")
    if how == "SIGKILL":
        (worker,) = [w for w in workers() if w.alive]
        os.kill(worker.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not page.runner.running and page._pending is None, timeout=LONG_WAIT)
    # New bubbles are shown by a queued call (late on a busy machine): wait for the failed answer.
    qtbot.waitUntil(lambda: len(bubbles(page)) == 2 and "the model process" in bubbles(page)[1].error.text()
                    and bubbles(page)[1].retry_button.isVisible(), timeout=LONG_WAIT)
    user, failed = bubbles(page)
    assert "the model process" in failed.error.text() and failed.retry_button.isVisible()
    assert window.isVisible() and page.input.toPlainText() == "My next question, not sent yet"
    chat_id = page.chat_id
    window.close()

    monkeypatch.delenv("DEEPONES_TEST_WORKER_FAULT", raising=False)
    again = MainWindow(app_context)
    qtbot.addWidget(again)
    again.show()
    page = again.show_workspace("chat")
    qtbot.waitUntil(lambda: page.picker.ready, timeout=20_000)
    page.show_chat(chat_id)
    qtbot.waitUntil(lambda: len(bubbles(page)) == 2 and bubbles(page)[1].retry_button.isVisible(), timeout=LONG_WAIT)
    user, failed = bubbles(page)
    assert "the model process" in failed.error.text() and failed.retry_button.isVisible()
    page.settings.max_tokens.setValue(8)
    failed.retry_button.click()
    qtbot.waitUntil(lambda: not page.runner.running and page._pending is None, timeout=LONG_WAIT)
    qtbot.waitUntil(lambda: len(bubbles(page)) == 2 and bool(bubbles(page)[1].body.text.strip()), timeout=LONG_WAIT)
    user, answer = bubbles(page)
    assert answer.body.text.strip() and not answer.error.isVisible()
    again.close()


def test_a_looping_answer_is_stopped_with_the_reason_and_retry_with_other_settings(page, qtbot, tmp_path):
    from backend.llm.degenerate import LOOP_REASON, RETRY_LABEL

    looping = "Use this model: from utils import " + " ".join(["utils.utils.utils"] * 1500)
    page.select_model(replay(tmp_path, looping, "A small CNN with batch norm."))
    page.settings.temperature.setValue(0.2)
    send(page, qtbot, "Propose a model for CIFAR-10")
    user, answer = bubbles(page)
    assert answer.error.isVisible() and answer.error.text() == LOOP_REASON
    assert answer.retry_button.isVisible() and answer.retry_button.text() == RETRY_LABEL
    assert answer.body.text.startswith("Use this model") and len(answer.body.text) < len(looping) // 10
    answer.retry_button.click()
    qtbot.waitUntil(lambda: not page.runner.running and page._pending is None, timeout=LONG_WAIT)
    qtbot.wait(50)
    assert [b.body.text for b in bubbles(page)] == ["Propose a model for CIFAR-10", "A small CNN with batch norm."]
    # The retry ran with other settings, and the panel shows them.
    again = page.settings.generation_settings()
    assert again.repeat_penalty and again.repeat_penalty > 1.1 and again.temperature > 0.2
