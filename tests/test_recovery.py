"""backend.recovery: an abrupt end is noticed once, and what it left unfinished is listed from the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from backend import recovery


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_clean_quit_reports_nothing_and_a_dead_previous_run_is_reported_once(deepones_home):
    deepones_home.mkdir(parents=True, exist_ok=True)
    assert recovery.begin_session(deepones_home) is None          # first start ever
    recovery.end_session(deepones_home)
    assert recovery.begin_session(deepones_home) is None          # after a clean quit
    started = time.time() - 60
    (deepones_home / recovery.MARKER).write_text(json.dumps({"pid": _dead_pid(), "started_at": started}))
    assert recovery.begin_session(deepones_home) == started        # the previous run died
    assert recovery.begin_session(deepones_home) is None          # ... and that is said once


def test_another_live_gui_is_not_a_crash(deepones_home):
    deepones_home.mkdir(parents=True, exist_ok=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        marker = deepones_home / recovery.MARKER
        marker.write_text(json.dumps({"pid": other.pid, "started_at": 1.0}))
        assert recovery.begin_session(deepones_home) is None
        assert json.loads(marker.read_text())["pid"] == other.pid  # its marker is left alone
    finally:
        other.kill()
        other.wait()


def test_interrupted_work_lists_each_kind_since_the_crashed_run_started(store, deepones_home):
    from backend import paths
    from backend.llm.conversations import ConversationStore
    from backend.pipeline.catalog import get_task
    from backend.pipeline.store import SessionStore

    chats = ConversationStore(store)
    old = chats.create_chat("Old question")
    chats.add_message(old, None, "user", "asked long before the crash")
    answered = chats.create_chat("Answered")
    q = chats.add_message(answered, None, "user", "What is dropout?")
    since = time.time()
    chats.add_message(answered, q, "assistant", "A regulariser.")
    open_chat = chats.create_chat("CIFAR")
    chats.add_message(open_chat, None, "user", "Propose a model for CIFAR-10")
    sessions = SessionStore(store)
    sid = sessions.create_session(get_task("demo-digits"), "embedded", "embedded", title="Digits")
    sessions.add_step(sid, None, "propose")                     # left 'running'
    store.conn.execute("INSERT INTO sample_imports (source, dataset, format, status, imported, started_at) "
                       "VALUES ('/data/big.jsonl', 'mine', 'auto', 'running', 1200, ?)", (since + 1,))
    models = paths.models_dir(deepones_home)
    models.mkdir(parents=True, exist_ok=True)
    (models / "smol.Q8_0.gguf.partial").write_bytes(b"GGUF")

    items = recovery.interrupted_work(store, deepones_home, since)
    kinds = {i.kind: i for i in items}
    assert sorted(kinds) == ["chat", "design", "import", "quantize"] and len(items) == 4
    assert kinds["chat"].target == {"chat_id": open_chat} and "CIFAR-10" in kinds["chat"].title
    assert kinds["design"].target["session_id"] == sid and "propose" in kinds["design"].title
    assert kinds["import"].target == {"source": "/data/big.jsonl", "dataset": "mine", "format": "auto"}
    assert "1,200 samples were kept" in kinds["import"].detail
    assert kinds["quantize"].workspace == "models" and "smol.Q8_0.gguf" in kinds["quantize"].title
    # Everything before the crashed run started is not its business.
    os.utime(models / "smol.Q8_0.gguf.partial", (since - 100, since - 100))
    later = recovery.interrupted_work(store, deepones_home, time.time() + 10)
    assert later == []
