"""Two refreshes of the trace index at once (the Traces page and another window, a CLI command) must
not number one new error type twice: error numbers are read under the write lock."""

from __future__ import annotations

import threading

from backend.traces import index


def test_two_refreshes_at_once_never_hand_out_the_same_error_bit(deepones_home, monkeypatch):
    from backend.pipeline import SessionSettings, SessionStore, get_task
    from backend.store import open_store

    db = open_store(deepones_home)
    store = SessionStore(db)
    sids = []
    for error in ("RuntimeError", "KeyError"):
        sid = store.create_session(get_task("demo-digits"), "embedded", "embedded", SessionSettings(), title=error)
        parent = store.add_step(sid, None, "propose", status="done", response="An MLP.").id
        store.add_step(sid, parent, "implement", attempt=0, status="failed", code="x", error_type=error)
        sids.append(sid)
    db.conn.close()

    # Each refresh waits, right after reading the error numbers, until the other has read them too
    # (or 1 s): the interleaving that numbered both error types 0 when the numbers were read unlocked.
    barrier = threading.Barrier(2, timeout=1.0)
    original = index.error_bits

    def error_bits_then_meet(db):
        bits = original(db)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass   # the other refresh waits for the write lock: it reads after this one commits
        return bits

    monkeypatch.setattr(index, "error_bits", error_bits_then_meet)
    errors: list[str] = []

    def refresh(sid: int) -> None:
        conn = open_store(deepones_home)
        try:
            index.refresh(conn, [sid])
        except Exception as exc:  # noqa: BLE001 (the test fails with it below)
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=refresh, args=(sid,)) for sid in sids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    db = open_store(deepones_home)
    try:
        bits = dict(db.conn.execute("SELECT error_type, bit FROM trace_error_bits").fetchall())
        assert sorted(bits) == ["KeyError", "RuntimeError"] and sorted(bits.values()) == [0, 1]
    finally:
        db.conn.close()
