"""Imported traces carry no live endpoints (issue 22, item 2).

A trace file names the sender's models; an endpoint URL in it could be anyone's server. Importing it,
continuing it (``deepones design --session``) and forking it into Design must send that server nothing:
no request, no key. Keys go only where the user meant them to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from backend.llm.base import BackendError

ROOT = Path(__file__).resolve().parents[2]
DESIGNER_REPLAY = ROOT / "tests" / "design" / "fixtures" / "designer.jsonl"
SECRET = "sk-test-ShouldNeverLeave-0123456789"


class _Capture(BaseHTTPRequestHandler):
    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append({"path": self.path, "headers": dict(self.headers),
                                 "body": self.rfile.read(length).decode("utf-8", "replace")})
        body = json.dumps({"object": "list", "data": [{"id": "evil", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _record  # noqa: N815 (http.server dispatches to do_<METHOD>)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def capture():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _trace_file(tmp_path: Path, url: str) -> Path:
    """A trace exported from a sender's store whose designer and programmer are ``url``."""
    from backend.pipeline import SessionSettings, SessionStore, get_task
    from backend.store import open_db
    from backend.traces.export_json import write_json
    from backend.traces.model import load_trace

    db = open_db(tmp_path / "sender.db")
    store = SessionStore(db)
    sid = store.create_session(get_task("demo-digits"), url, url, SessionSettings(), title="shared trace")
    store.add_step(sid, None, "propose", status="done", prompt="Propose a model.", model=url,
                   response="A two-layer MLP on the 8x8 digits.")
    written = write_json(load_trace(db, sid), tmp_path / "shared.json")
    db.conn.close()
    return written[0]


def _deepones(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEEPONES_HOME": str(home), "OPENAI_API_KEY": SECRET}
    return subprocess.run([sys.executable, "-m", "deepones_gui", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)


def test_imported_trace_continued_and_forked_never_calls_its_endpoints(tmp_path, deepones_home, capture):
    from backend.settings import Settings, save_settings

    url = f"http://127.0.0.1:{capture.server_address[1]}/v1#evil"
    trace = _trace_file(tmp_path, url)
    mine = f"replay:{DESIGNER_REPLAY}"
    deepones_home.mkdir(parents=True, exist_ok=True)
    save_settings(Settings(designer_model=mine, programmer_model=mine), deepones_home)

    imported = _deepones("trace", "import", str(trace), "--json", home=deepones_home)
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout.splitlines()[-1])
    assert "never called" in result["notice"] and url in result["notice"] and mine in result["notice"]
    sid = result["session_id"]

    # Continue the imported session: its next stage (improve) is a designer call.
    cont = _deepones("design", "--session", str(sid), "--until", "improve", "--json", home=deepones_home)
    assert cont.returncode in (0, 3), cont.stderr
    stages = json.loads(cont.stdout.splitlines()[-1])["stages"]
    assert stages[-1]["stage"] == "improve" and stages[-1]["status"] == "done", stages

    # Fork it into Design at the proposal, and run the fork's next stage too.
    from backend.pipeline import SessionStore
    from backend.store import open_store
    from backend.traces.actions import fork_to_design
    from backend.traces.model import load_trace

    db = open_store(deepones_home)
    propose = next(a.id for a in load_trace(db, sid).attempts if a.stage == "propose")
    fork = fork_to_design(db, propose)
    row = SessionStore(db).session_row(fork)
    assert (row["designer"], row["programmer"]) == (mine, mine)
    notes = [n["text"] for n in load_trace(db, fork).notes]
    assert any("never called" in n for n in notes), notes
    assert load_trace(db, sid).attempts[0].model == url   # the file's spec stays, as text for display
    db.conn.close()
    forked = _deepones("design", "--session", str(fork), "--until", "improve", "--json", home=deepones_home)
    assert forked.returncode in (0, 3), forked.stderr

    assert capture.seen == []   # no request at all, so no key either


def test_legacy_imported_session_gets_the_users_models_before_it_runs(tmp_path, deepones_home, capture):
    """A session imported by an older version kept the file's endpoints: the runner replaces them."""
    from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task
    from backend.settings import Settings, save_settings
    from backend.store import open_store

    url = f"http://127.0.0.1:{capture.server_address[1]}/v1#evil"
    mine = f"replay:{DESIGNER_REPLAY}"
    deepones_home.mkdir(parents=True, exist_ok=True)
    save_settings(Settings(designer_model=mine, programmer_model=mine), deepones_home)
    db = open_store(deepones_home)
    store = SessionStore(db)
    sid = store.create_session(get_task("demo-digits"), url, url, SessionSettings(), title="old (imported)")
    store.add_step(sid, None, "propose", status="done", response="An MLP.", model=url)
    store.update_session(sid, status="imported")
    runner = DesignRunner(db, sid)
    try:
        step = runner.run_stage()
    finally:
        runner.close()
    assert step.model == mine and step.status == "done"
    assert store.session_row(sid)["designer"] == mine
    db.conn.close()
    assert capture.seen == []


# --- where a key may go ------------------------------------------------------------------------------

def test_environment_key_goes_only_to_the_official_or_a_confirmed_host(memory_keyring, monkeypatch, deepones_home):
    from backend.llm.endpoints import api_key_for, confirm_env_key_host, parse_endpoint, store_api_key

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert api_key_for(parse_endpoint("https://api.openai.com/v1#gpt-4o-mini")) == SECRET
    assert api_key_for(parse_endpoint("http://127.0.0.1:9/v1#m")) is None
    assert api_key_for(parse_endpoint("https://llm.example.org/v1#m")) is None
    deepones_home.mkdir(parents=True, exist_ok=True)
    confirm_env_key_host("llm.example.org")
    assert api_key_for(parse_endpoint("https://llm.example.org/v1#m")) == SECRET
    # A stored key goes to its own host only, and never over plain http to another machine.
    store_api_key(parse_endpoint("https://a.example.org/v1"), "sk-for-a-only")
    assert api_key_for(parse_endpoint("https://a.example.org/v1#m")) == "sk-for-a-only"
    assert api_key_for(parse_endpoint("https://b.example.org/v1#m")) is None
    with pytest.raises(BackendError, match="plain http"):
        api_key_for(parse_endpoint("http://a.example.org/v1#m"))
    store_api_key(parse_endpoint("http://127.0.0.1:8080/v1"), "sk-local")
    assert api_key_for(parse_endpoint("http://127.0.0.1:8080/v1#m")) == "sk-local"   # loopback: allowed


def test_unconfirmed_endpoint_receives_no_environment_key(capture, memory_keyring, monkeypatch):
    from backend.llm.base import GenerationSettings
    from backend.llm.openai_backend import OpenAIBackend

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    backend = OpenAIBackend(f"http://127.0.0.1:{capture.server_address[1]}/v1#evil", timeout=5)
    try:
        try:   # the capture server answers no real chat stream: whatever comes back, what it received counts
            backend.prompt([{"role": "user", "content": "hi"}], GenerationSettings()).text()
        except BackendError:
            pass
    finally:
        backend.close()
    assert capture.seen, "the request was made"
    assert all(SECRET not in json.dumps(r) for r in capture.seen)


def test_cli_confirms_a_host_for_the_environment_key(deepones_home):
    out = _deepones("model", "allow-env-key", "LLM.example.org", home=deepones_home)
    assert out.returncode == 0, out.stderr
    settings = json.loads((deepones_home / "settings.json").read_text("utf-8"))
    assert settings["extra"]["env_key_hosts"] == ["llm.example.org"]
    assert _deepones("model", "allow-env-key", "http://x/", home=deepones_home).returncode != 0
