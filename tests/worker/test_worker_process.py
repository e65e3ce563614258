"""Local models answer from a supervised worker process: warm between requests, generic in-worker calls,
released on unload, never outliving the process that started it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import psutil
import pytest

from backend.llm.base import BackendError, GenerationSettings, complete
from backend.llm.resolve import get_backend
from tests.worker.conftest import QUESTION, wait_gone, worker_children

GREEDY = GenerationSettings(temperature=0.0, max_tokens=16, context_size=1024)


def test_the_model_runs_in_a_warm_worker_process_not_in_the_caller(fresh_workers):
    from backend.llm import local_models

    backend = get_backend("embedded")
    response = backend.prompt(QUESTION, GREEDY)
    text = response.text()
    assert len(text.split()) >= 3
    worker = backend.worker
    assert worker.pid != os.getpid() and worker.alive
    assert psutil.Process(worker.pid).ppid() == os.getpid()
    assert local_models.loaded_models() == []   # no weights in this process
    assert response.stats.prompt_tokens > 5 and 0 < response.stats.completion_tokens <= 16
    # Kept warm: a second request (another backend object, same model) reuses the same process.
    other = get_backend("embedded")
    assert complete(other, QUESTION, GREEDY) == text   # greedy: same answer
    assert other.worker is worker
    assert [p.pid for p in worker_children()] == [worker.pid]


def test_call_runs_a_function_inside_the_worker_with_the_loaded_llama(fresh_workers):
    backend = get_backend("embedded")
    facts = backend.call("backend.llm.worker.calls:model_facts", settings=GREEDY)
    assert facts["pid"] == backend.worker.pid != os.getpid()
    assert facts["n_ctx"] == 1024 and facts["n_vocab"] == 49152
    assert backend.call("backend.llm.worker.calls:count_tokens", ["hello world", ""], settings=GREEDY) == [2, 0]
    assert backend.count_tokens("hello world") == 2
    with pytest.raises(BackendError, match="must look like 'package.module:function'"):
        backend.call("no_colon_here", settings=GREEDY)
    with pytest.raises(BackendError, match="ModuleNotFoundError"):
        backend.call("backend.no_such_module:f", settings=GREEDY)
    with pytest.raises(BackendError, match="TypeError"):  # wrong arguments: an error, not a dead worker
        backend.call("backend.llm.worker.calls:count_tokens", settings=GREEDY)
    assert backend.worker.alive
    assert complete(backend, QUESTION, GREEDY)


def test_unload_stops_the_worker_and_releases_its_memory(fresh_workers, smollm2):
    from backend.llm.worker.client import unload

    backend = get_backend("embedded")
    complete(backend, QUESTION, GREEDY)
    pid = backend.worker.pid
    assert psutil.Process(pid).memory_info().rss > 50 * 2**20  # the weights live there
    unload(smollm2)
    assert wait_gone(pid), "the worker must exit and be reaped"
    assert worker_children() == []
    assert complete(backend, QUESTION, GREEDY)   # the next request starts a new one
    assert backend.worker.pid != pid


def test_a_worker_never_outlives_its_parent_even_a_sigkilled_one(tmp_path):
    script = textwrap.dedent("""
        import sys, time
        from backend.llm.base import GenerationSettings, complete
        from backend.llm.resolve import get_backend
        b = get_backend("embedded")
        complete(b, [{"role": "user", "content": "hi"}], GenerationSettings(max_tokens=2, context_size=256))
        print(b.worker.pid, flush=True)
        time.sleep(600)
    """)
    env = {**os.environ, "DEEPONES_HOME": str(tmp_path / "home")}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        worker_pid = int(parent.stdout.readline())
        assert psutil.Process(worker_pid).ppid() == parent.pid
        parent.kill()   # no atexit, no cleanup: only the lifeline pipe can tell the worker
        parent.wait()
    finally:
        parent.kill()
    # The worker is re-parented to init and exits at once; init reaps it.
    import time

    deadline = time.monotonic() + 10
    while psutil.pid_exists(worker_pid) and time.monotonic() < deadline:
        try:
            if psutil.Process(worker_pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    alive = psutil.pid_exists(worker_pid) and psutil.Process(worker_pid).status() != psutil.STATUS_ZOMBIE
    assert not alive, "the model worker outlived its parent"


def test_stop_mid_stream_leaves_the_worker_warm(fresh_workers):
    backend = get_backend("embedded")
    got = []
    response = backend.prompt(QUESTION, GenerationSettings(temperature=0.0, max_tokens=300, context_size=1024))
    for chunk in response:
        got.append(chunk)
        if len(got) == 3:
            response.cancel()
    pid = backend.worker.pid
    assert len(got) == 3
    assert complete(backend, QUESTION, GREEDY)
    assert backend.worker.pid == pid   # the same warm process answered
