"""The embedded SmolLM2 through llama.cpp (in its worker process): loads, streams, stops, fits the context."""

from __future__ import annotations

import pytest

from backend.llm.base import BackendError, GenerationSettings, complete
from backend.llm.context_window import fit_messages
from backend.llm.resolve import get_backend

GREEDY = GenerationSettings(temperature=0.0, max_tokens=16, context_size=1024)
QUESTION = [{"role": "user", "content": "What is a convolutional neural network?"}]


def test_embedded_smollm2_loads_and_streams():
    backend = get_backend("embedded")
    response = backend.prompt(QUESTION, GREEDY)
    chunks = list(response)
    text = "".join(chunks)
    assert len(chunks) >= 5 and len(text.split()) >= 3, text
    stats = response.stats
    assert stats.completion_tokens == len(chunks) <= 16
    assert stats.prompt_tokens > 5
    assert stats.ttft_s is not None and 0 < stats.ttft_s < stats.total_s
    assert stats.tokens_per_s > 0
    # The worker's own time to the first token (prompt evaluation, bench_chat's TTFT reference) is
    # part of the caller's: the caller adds the transport.
    assert stats.worker_ttft_s is not None and 0 < stats.worker_ttft_s < stats.ttft_s
    # Greedy decoding through the app's path is deterministic.
    assert complete(get_backend("embedded"), QUESTION, GREEDY) == text


def test_stop_ends_the_stream_cleanly_and_the_model_stays_usable():
    backend = get_backend("embedded")
    got = []
    response = backend.prompt(QUESTION, GenerationSettings(temperature=0.0, max_tokens=200, context_size=1024))
    for chunk in response:
        got.append(chunk)
        if len(got) == 3:
            response.cancel()
    assert len(got) == 3 and response.cancelled and response.done
    assert complete(backend, QUESTION, GREEDY)  # the lock was released, the model answers again


@pytest.mark.parametrize("kind, expected", [("text", "not a GGUF model file"), ("truncated", "truncated"),
                                            ("empty", r"empty \(0 bytes\)")])
def test_bad_model_files_give_clear_errors(bad_gguf_files, kind, expected):
    path = bad_gguf_files[kind]
    with pytest.raises(BackendError, match=expected) as info:
        backend = get_backend(str(path))
        complete(backend, QUESTION, GREEDY)
    assert path.name in str(info.value)
    assert info.value.retryable is False


def test_unknown_model_name_lists_the_accepted_forms():
    with pytest.raises(BackendError, match="Unknown model 'no-such-model'.*http"):
        get_backend("no-such-model")


def test_context_overflow_leaves_out_the_oldest_turns():
    backend = get_backend("embedded")
    turn = "Tell me about residual connections in deep networks and why they help optimisation. " * 6
    history = []
    for i in range(8):
        history += [{"role": "user", "content": f"{i}: {turn}"}, {"role": "assistant", "content": turn}]
    history.append({"role": "user", "content": "Summarise in one line."})
    response = backend.prompt([{"role": "system", "content": "Be brief."}, *history],
                              GenerationSettings(temperature=0.0, max_tokens=8, context_size=512))
    assert response.text()
    assert response.stats.dropped_messages >= 8
    assert response.stats.prompt_tokens <= 512


def test_fit_messages_keeps_system_and_last_message():
    msgs = [{"role": "system", "content": "s"}] + [{"role": r, "content": "x" * 400} for r in ["user", "assistant"] * 5]
    msgs.append({"role": "user", "content": "last"})
    kept, dropped = fit_messages(msgs, context_size=400, max_tokens=100, count_tokens=lambda t: len(t) // 4)
    assert kept[0]["role"] == "system" and kept[-1]["content"] == "last"
    assert kept[1]["role"] == "user"  # never starts with an orphaned answer
    assert dropped == len(msgs) - len(kept) > 0
    with pytest.raises(BackendError, match="too long"):
        fit_messages([{"role": "user", "content": "x" * 10000}], 400, 100, lambda t: len(t) // 4)


def test_llama_logs_go_to_the_app_log_not_stderr(bad_gguf_files, smollm2, capfd, caplog, monkeypatch):
    import backend.llm.local_models as lm

    # Skip our own header check so that llama.cpp itself fails on the truncated file and logs why.
    real_info = lm.gguf_info(smollm2)
    monkeypatch.setattr(lm, "gguf_info", lambda _p: real_info)
    with caplog.at_level("WARNING", logger="llama_cpp"), pytest.raises(BackendError, match="could not load") as info:
        lm.load_model(bad_gguf_files["truncated"], 256)
    assert "corrupted or incomplete" in str(info.value)  # llama.cpp's own reason, taken from its log
    assert any("llama_model_load" in r.getMessage() for r in caplog.records)
    assert "llama_model_load" not in capfd.readouterr().err
