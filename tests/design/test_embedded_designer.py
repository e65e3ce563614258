"""The embedded SmolLM2 (a real GGUF through llama.cpp) as designer: Propose and Improve produce real text.

Answers are capped at a few tokens to keep the tests quick; prompt processing still runs in full.
"""

from __future__ import annotations

import re

from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task

TOKENS = 20


def _has_words(text: str) -> bool:
    return len(re.findall(r"[A-Za-z]{2,}", text)) >= 3


def test_embedded_designer_proposes_and_improves_headless(store):
    sessions = SessionStore(store)
    sid = sessions.create_session(get_task("demo-digits"), "embedded", "embedded",
                                  SessionSettings(designer_max_tokens=TOKENS, temperature=0.0))
    chunks: list[str] = []
    runner = DesignRunner(store, sid, on_event=lambda kind, p: chunks.append(p["text"]) if kind == "chunk" else None)
    try:
        state = runner.run_until("improve")
    finally:
        runner.close()
    propose, improve = state.steps
    assert (propose.stage, propose.status, improve.stage, improve.status) == ("propose", "done", "improve", "done")
    assert _has_words(propose.response) and _has_words(improve.response)
    assert propose.response in improve.prompt          # A_B feeds the improvement prompt
    assert 0 < propose.completion_tokens <= TOKENS and propose.prompt_tokens > 100
    assert propose.timings["ttft_s"] > 0 and propose.model == "embedded"
    assert "".join(chunks) == propose.response + improve.response   # it streamed
    assert state.next_stage() == "implement"


def test_embedded_designer_in_the_gui(qtbot, app_context):
    from deepones_gui.workspaces.design.page import DesignPage
    from deepones_gui.workspaces.design.widgets import NEXT

    page = DesignPage(app_context)
    qtbot.addWidget(page)
    page.show()
    sid = page.create_session(get_task("demo-digits"), "embedded", "embedded",
                              SessionSettings(designer_max_tokens=TOKENS, temperature=0.0))
    streamed: list[str] = []
    page.response_edit.textChanged.connect(lambda: streamed.append(page.response_edit.toPlainText()))
    for stage in ("Propose", "Improve"):
        page.rail.select_data(NEXT)
        assert stage in page.header.text()
        page.run_btn.click()
        qtbot.waitUntil(lambda: not page.is_running(), timeout=180_000)
        step = SessionStore(app_context.db).branch(sid)[-1]
        assert step.status == "done" and _has_words(step.response), step.stderr
        assert page.response_edit.toPlainText() == step.response
        assert stage in page.header.text() and "done" in page.header.text()
    assert len(streamed) > 3   # text arrived chunk by chunk
    page.shutdown()
