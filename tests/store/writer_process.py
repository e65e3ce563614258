"""One writer of the concurrency test, run as its own process: writes for ``seconds`` through the
app's own backend functions and prints one JSON line with what it wrote (and any error)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
import traceback
from pathlib import Path


def _import_files(db, seconds: float, tag: str) -> dict:
    from backend.datasets.importer import import_paths

    imported, n, deadline = 0, 0, time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as tmp:
        while time.monotonic() < deadline:
            path = Path(tmp) / f"{tag}-{n}.jsonl"
            lines = [json.dumps({"instruction": f"{tag} file {n} question {i} about residual blocks",
                                 "output": f"answer {i} of file {n} by {tag}"}) for i in range(300)]
            path.write_text("\n".join(lines) + "\n", "utf-8")
            report = import_paths(db, [path], dataset=tag, fmt="alpaca")
            if report.errors:
                raise RuntimeError(f"import reported errors: {report.errors}")
            imported += report.imported
            n += 1
    return {"samples": imported, "dataset": tag}


def _chat(db, seconds: float, tag: str) -> dict:
    from backend.llm.conversations import ConversationStore

    store, messages, deadline = ConversationStore(db), 0, time.monotonic() + seconds
    chat = store.create_chat(title=tag)
    while time.monotonic() < deadline:
        parent = store.add_message(chat, None, "user", f"question {messages}")
        store.add_message(chat, parent, "assistant", f"answer {messages}")
        messages += 2
    return {"messages": messages, "chat_id": chat}


def _design(db, seconds: float, tag: str) -> dict:
    from backend.pipeline import SessionStore, get_task

    store, steps, deadline = SessionStore(db), 0, time.monotonic() + seconds
    session = store.create_session(get_task("demo-digits"), "replay:x", "replay:y", title=tag)
    parent = None
    while time.monotonic() < deadline:
        step = store.add_step(session, parent, "debug", prompt=f"attempt {steps}")
        store.update_step(step.id, status="failed", stderr="RuntimeError: shape mismatch", error_type="RuntimeError")
        parent = step.id
        steps += 1
    return {"steps": steps, "session_id": session}


WRITERS = {"import": _import_files, "chat": _chat, "design": _design}


def main() -> None:
    kind, db_path, seconds, tag = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    from backend.store import open_db

    db = open_db(db_path, migrate_schema=False)
    try:
        result = {"ok": True, **WRITERS[kind](db, seconds, tag)}
    except Exception as exc:  # noqa: BLE001 (reported to the test, which fails with it)
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
