"""The OpenAI-compatible backend against a real llama.cpp server on loopback (and a real 429 server)."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from backend.llm.base import BackendError, GenerationSettings, complete
from backend.llm.endpoints import Endpoint, key_name, parse_endpoint, store_api_key
from backend.llm.resolve import get_backend
from tests.chat.conftest import MODEL_ALIAS, SERVER_KEY, free_port

SHORT = GenerationSettings(temperature=0.0, max_tokens=12)
HELLO = [{"role": "user", "content": "Name one optimiser used to train neural networks."}]


def test_spec_format():
    ep = parse_endpoint("http://127.0.0.1:8080/v1#my-model")
    assert ep == Endpoint("http://127.0.0.1:8080/v1", "my-model") and ep.host == "127.0.0.1:8080"
    assert parse_endpoint("https://api.example.com/v1/").model == ""
    with pytest.raises(BackendError, match="keyring"):
        parse_endpoint("http://user:sk-secret@host/v1#m")


def test_streams_from_a_real_server_with_the_key_from_the_keyring(llama_server, memory_keyring):
    store_api_key(parse_endpoint(llama_server), SERVER_KEY)
    backend = get_backend(f"{llama_server}#{MODEL_ALIAS}")
    response = backend.prompt(HELLO, SHORT)
    chunks = list(response)
    assert len(chunks) >= 3 and "".join(chunks).strip()
    assert response.stats.ttft_s is not None and response.stats.completion_tokens >= 3
    # Without "#model" the server's first model is used.
    assert get_backend(llama_server).model_name() == MODEL_ALIAS


def test_wrong_key_is_a_clear_401(llama_server, memory_keyring):
    store_api_key(parse_endpoint(llama_server), "sk-wrong-key-000000000000")
    with pytest.raises(BackendError, match="rejected the API key") as info:
        complete(get_backend(f"{llama_server}#{MODEL_ALIAS}"), HELLO, SHORT)
    assert info.value.retryable is False


def test_unreachable_endpoint(memory_keyring):
    with pytest.raises(BackendError, match="Cannot reach"):
        complete(get_backend(f"http://127.0.0.1:{free_port()}/v1#m"), HELLO, SHORT)


def test_timeout(llama_server, memory_keyring):
    store_api_key(parse_endpoint(llama_server), SERVER_KEY)
    backend = get_backend(f"{llama_server}#{MODEL_ALIAS}", timeout=0.001)
    with pytest.raises(BackendError, match="timeout|Cannot reach"):
        complete(backend, HELLO, SHORT)


class _RateLimited(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.dumps({"error": {"message": "Rate limit reached", "type": "rate_limit"}}).encode()
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


def test_rate_limit_429(memory_keyring):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RateLimited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(BackendError, match="rate limiting") as info:
            complete(get_backend(f"http://127.0.0.1:{server.server_port}/v1#m"), HELLO, SHORT)
        assert info.value.retryable is True
    finally:
        server.shutdown()
        server.server_close()


def test_api_key_never_reaches_db_logs_settings_or_doctor(llama_server, memory_keyring, deepones_home, store):
    import logging

    from click.testing import CliRunner

    from backend import doctor, logsetup
    from backend.llm.conversations import ConversationStore
    from backend.settings import load_settings, save_settings

    log_path = logsetup.setup_logging(deepones_home, level=logging.DEBUG)
    spec = f"{llama_server}#{MODEL_ALIAS}"
    store_api_key(parse_endpoint(llama_server), SERVER_KEY)
    settings = load_settings(deepones_home)
    settings.designer_model = spec
    save_settings(settings, deepones_home)
    backend = get_backend(spec)
    response = backend.prompt(HELLO, SHORT)
    text = response.text()
    convs = ConversationStore(store)
    chat = convs.create_chat("t", model=spec)
    convs.add_message(chat, None, "user", HELLO[0]["content"])
    convs.add_message(chat, None, "assistant", text, model=spec, stats=response.stats)
    logging.getLogger("test").info("endpoint %s used key %s", spec, SERVER_KEY)  # even a careless log line
    for h in logging.getLogger().handlers:
        h.flush()
    from backend.cli import cli

    doctor_out = CliRunner().invoke(cli, ["doctor", "--json"]).output + json.dumps(doctor.report())
    store.conn.execute("PRAGMA wal_checkpoint(FULL)")
    haystacks = {"log": log_path.read_bytes(), "doctor": doctor_out.encode()}
    for f in deepones_home.rglob("*"):
        if f.is_file() and f != log_path:
            haystacks[str(f.name)] = f.read_bytes()
    assert any(name.startswith("deepones.db") for name in haystacks)
    assert b"[redacted]" in haystacks["log"]
    for name, data in haystacks.items():
        assert SERVER_KEY.encode() not in data, f"API key leaked into {name}"
    assert memory_keyring.store[("deepones", key_name(parse_endpoint(llama_server)))] == SERVER_KEY


class _Dripping(http.server.BaseHTTPRequestHandler):
    """Answers with a stream that never ends: an SSE keep-alive comment every 0.2 s, no content."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        import time

        try:
            for _ in range(600):   # two minutes at most, whatever the client does
                self.wfile.write(b"e\r\n: keep-alive\n\n\r\n")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_total_deadline_ends_a_dripping_stream_with_a_clear_message(memory_keyring):
    import time

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Dripping)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend = get_backend(f"http://127.0.0.1:{server.server_address[1]}/v1#m", timeout=1.0, total_timeout=2.0)
        started = time.monotonic()
        with pytest.raises(BackendError, match="no complete answer within 2 s"):
            complete(backend, HELLO, SHORT)
        assert time.monotonic() - started < 10
    finally:
        server.shutdown()
        server.server_close()
