"""The worker pool never holds its lock while a model loads: a warm worker answers meanwhile.

Real parts: two worker processes of the embedded SmolLM2 (the second from a copy under another name,
so its first load also runs the safe-mode canary child). The second load is made slow by the
worker's test hook ``DEEPONES_TEST_WORKER_LOAD_DELAY`` (the child sleeps before loading, as a big
model on a slow disk would); nothing in this process is mocked.
"""

from __future__ import annotations

import shutil
import threading
import time

from backend.llm.base import GenerationSettings, complete
from backend.llm.resolve import get_backend
from backend.llm.worker.faults import LOAD_DELAY_ENV
from tests.worker.conftest import QUESTION, worker_children

LOAD_DELAY_S = 4.0
SHORT = GenerationSettings(temperature=0.0, max_tokens=8, context_size=1024)


def test_a_warm_worker_answers_while_another_model_loads(fresh_workers, smollm2, tmp_path, monkeypatch):
    from backend.llm.worker.client import get_worker, workers

    warm = get_backend("embedded")
    expected = complete(warm, QUESTION, SHORT)   # warm: its worker is loaded and idle
    warm_pid = warm.worker.pid

    other = tmp_path / "other-model.gguf"
    shutil.copyfile(smollm2, other)   # a new file (new mtime): unknown to safe mode, so it gets a canary too
    monkeypatch.setenv(LOAD_DELAY_ENV, str(LOAD_DELAY_S))   # read by children started from now on
    loaded: dict = {}

    def load_other() -> None:
        try:
            loaded["worker"] = get_worker(other, 1024)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            loaded["error"] = exc
        loaded["at"] = time.monotonic()

    loader = threading.Thread(target=load_other, name="load-other-model")
    loader.start()
    try:
        deadline = time.monotonic() + 30
        while not [p for p in worker_children() if p.pid != warm_pid] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [p for p in worker_children() if p.pid != warm_pid], "the second model's child never started"

        started = time.monotonic()
        answer = complete(warm, QUESTION, SHORT)
        answered = time.monotonic()
        assert answer == expected and warm.worker.pid == warm_pid
        # The old pool held its (global) lock through the other load: this call waited >= LOAD_DELAY_S.
        assert answered - started < LOAD_DELAY_S / 2, f"the warm worker waited {answered - started:.1f} s"
        assert loader.is_alive() and "at" not in loaded, "the other model had already loaded"
    finally:
        loader.join(timeout=60)
    assert "error" not in loaded, loaded.get("error")
    assert loaded["at"] > answered
    other_worker = loaded["worker"]
    assert other_worker.alive and other_worker.pid != warm_pid
    assert {w.pid for w in workers()} == {warm_pid, other_worker.pid}


def test_callers_of_a_model_that_is_loading_share_one_load(fresh_workers, smollm2, monkeypatch):
    """Two threads asking for the same cold model get one worker process, not two."""
    from backend.llm.worker.client import get_worker, workers

    get_worker(smollm2, 512)   # canary recorded for this file: both threads go straight to the pool
    monkeypatch.setenv(LOAD_DELAY_ENV, "1.5")
    got: list = []
    threads = [threading.Thread(target=lambda: got.append(get_worker(smollm2, 768))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == 2 and got[0] is got[1] and got[0].alive
    assert len(workers()) == 2   # the 512 one and one 768 one
