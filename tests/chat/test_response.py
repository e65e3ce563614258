"""One call, one object: a Response carries its own cancel, its stats and its end.

Real backends: the replay backend for what a model says (two concurrent answers), the embedded
SmolLM2 in its worker process for a Stop during a (slowed) model load.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from backend.cancel import CancelToken
from backend.llm.base import GenerationSettings
from backend.llm.resolve import get_backend

Q = [{"role": "user", "content": "hi"}]


def _replay(tmp_path, *answers: str) -> str:
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps({"content": a}) + "\n" for a in answers))
    return f"replay:{path}"


def test_a_stop_before_the_first_token_stops_the_call(tmp_path):
    """Cancelled before it is iterated (the Stop came before the worker thread got to it): nothing
    is generated. The old backend-wide flag was cleared at the start of every stream, losing it."""
    backend = get_backend(_replay(tmp_path, "one two three", "four five"))
    response = backend.prompt(Q)
    response.cancel()
    assert list(response) == [] and response.cancelled and response.done
    assert response.stats.completion_tokens == 0
    # The next call of the same backend is not affected by that Stop.
    assert backend.prompt(Q).text() == "one two three"


def test_a_cancel_token_reaches_a_linked_call_before_its_first_token(tmp_path):
    run = CancelToken()
    backend = get_backend(_replay(tmp_path, "a b c"))
    response = backend.prompt(Q)
    unlink = run.on_cancel(response.cancel)
    run.cancel()
    unlink()
    assert response.cancelled and response.text() == ""


def test_two_concurrent_answers_each_have_their_own_stats(tmp_path):
    """Two answers of one backend at once: each Response reports its own tokens and times (a
    backend-wide ``last_stats`` showed whichever call started last)."""
    backend = get_backend(_replay(tmp_path, "w1 w2 w3 w4 w5 w6 w7 w8", "short"))
    first = backend.prompt(Q, GenerationSettings(stop_on_loop=False))
    first_chunks: list[str] = []
    got_one = threading.Event()
    go_on = threading.Event()

    def long_answer() -> None:
        for chunk in first:
            first_chunks.append(chunk)
            got_one.set()
            go_on.wait(10)

    thread = threading.Thread(target=long_answer)
    thread.start()
    assert got_one.wait(10)
    second = backend.prompt(Q)           # starts and ends while the first is mid-answer
    assert second.text() == "short"
    go_on.set()
    thread.join(10)
    assert "".join(first_chunks) == "w1 w2 w3 w4 w5 w6 w7 w8"
    assert first.stats.completion_tokens == 8 and second.stats.completion_tokens == 1
    assert first.stats.total_s > second.stats.total_s > 0


def test_a_response_streams_once(tmp_path):
    response = get_backend(_replay(tmp_path, "x y")).prompt(Q)
    assert response.text() == "x y"
    assert response.text() == "x y"      # the text stays; nothing runs again
    assert list(response) == []


@pytest.mark.usefixtures("smollm2")
def test_stop_while_the_model_loads_stops_the_load(monkeypatch):
    """A Stop pressed while a GGUF loads (slowed to 20 s here) ends the call within a second: no
    answer, the half-loaded worker process stopped; the next call loads the model afresh."""
    from backend.llm.worker import client
    from backend.llm.worker.faults import LOAD_DELAY_ENV

    client.unload()
    backend = get_backend("embedded")
    settings = GenerationSettings(temperature=0.0, max_tokens=4, context_size=640)
    backend.ensure_loaded(GenerationSettings(context_size=512))   # canary/safe-mode record done, another n_ctx
    monkeypatch.setenv(LOAD_DELAY_ENV, "20")
    response = backend.prompt(Q, settings)
    threading.Timer(0.5, response.cancel).start()
    t0 = time.monotonic()
    assert response.text() == ""
    assert time.monotonic() - t0 < 5, "the load was not interrupted"
    assert response.cancelled and response.done
    spec_ctx = [w.spec.n_ctx for w in client.workers()]
    assert 640 not in spec_ctx, "a worker for the cancelled load is in the pool"
    monkeypatch.delenv(LOAD_DELAY_ENV)
    assert backend.prompt(Q, settings).text()   # loads again and answers
    client.unload()
