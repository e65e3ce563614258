"""A native crash or a kill of the model worker is an error for this request only: the next one answers."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from backend.llm.base import GenerationSettings, complete
from backend.llm.resolve import get_backend
from backend.llm.worker import ModelProcessCrashed
from backend.llm.worker.faults import ENV as FAULT_ENV
from tests.worker.conftest import QUESTION, run_cli, wait_gone, worker_children, zombies

GREEDY = GenerationSettings(temperature=0.0, max_tokens=16, context_size=1024)
LONG = GenerationSettings(temperature=0.0, max_tokens=300, context_size=1024)


@pytest.mark.parametrize("kind, signal_name", [("segv", "SIGSEGV"),
                                               pytest.param("abort", "SIGABRT", marks=pytest.mark.slow)])
def test_a_native_crash_mid_stream_raises_model_process_crashed_and_retry_answers(
        fresh_workers, monkeypatch, kind, signal_name):
    monkeypatch.setenv(FAULT_ENV, f"{kind}@3:once")
    backend = get_backend("embedded")
    got = []
    with pytest.raises(ModelProcessCrashed) as info:
        for chunk in backend.stream(QUESTION, LONG):
            got.append(chunk)
    assert got, "text streamed before the crash reaches the caller"
    message = str(info.value)
    assert message.startswith(f"the model process crashed: {signal_name} in llama.cpp")
    assert "\n" not in message and info.value.retryable and info.value.signal_name == signal_name
    dead = backend.worker.pid
    assert wait_gone(dead, 1), "the crashed worker is reaped at once (no zombie)"
    assert complete(backend, QUESTION, GREEDY)   # Retry: a fresh worker answers
    assert backend.worker.pid != dead


def test_an_unexpected_exit_is_reported_too(fresh_workers, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "exit@2:once")
    backend = get_backend("embedded")
    with pytest.raises(ModelProcessCrashed, match=r"exited unexpectedly \(exit code 3"):
        complete(backend, QUESTION, LONG)
    assert complete(backend, QUESTION, GREEDY)


def test_cli_prints_one_line_and_exits_non_zero_when_the_worker_crashes(tmp_path):
    env = {**os.environ, "DEEPONES_HOME": str(tmp_path / "home"), FAULT_ENV: "segv@3"}
    result = run_cli(["chat", "Name one CNN", "--max-tokens", "64", "--temperature", "0"], env)
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("deepones: the model process crashed: SIGSEGV in llama.cpp")
    assert "Traceback" not in result.stderr + result.stdout


def test_cli_chat_answers_with_the_embedded_model_and_leaves_no_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    env["DEEPONES_HOME"] = str(tmp_path / "home")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = run_cli(["chat", "Name one CNN", "--max-tokens", "16"], env)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) > 3
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before   # the CLI's worker exited with it
    leftovers = [p for p in psutil.process_iter(["cmdline", "environ"])
                 if "backend.llm.worker" in " ".join(p.info["cmdline"] or [])
                 and (p.info["environ"] or {}).get("DEEPONES_HOME") == env["DEEPONES_HOME"]]
    assert leftovers == []


@pytest.mark.timeout(1500)  # 20 worker starts in the slow tier; slow on a shared 2-core machine
@pytest.mark.parametrize("kills", [3, pytest.param(20, marks=pytest.mark.slow)])
def test_sigkill_mid_stream_many_times_in_a_row(fresh_workers, kills):
    backend = get_backend("embedded")
    complete(backend, QUESTION, GREEDY)   # canary and first load out of the way
    killed = []
    for round_ in range(kills):
        got = []
        with pytest.raises(ModelProcessCrashed) as info:
            for chunk in backend.stream(QUESTION, LONG):
                got.append(chunk)
                if len(got) == 2:
                    pid = backend.worker.pid
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        assert "SIGKILL" in str(info.value), (round_, str(info.value))
        assert info.value.retryable
        answer = complete(backend, QUESTION, GREEDY)
        assert answer, f"round {round_}: the next request must answer"
        live = worker_children()
        assert [p.pid for p in live] == [backend.worker.pid], f"round {round_}: {live}"
        assert zombies() == []
    assert len(set(killed)) == kills
    time.sleep(0.1)
    assert not any(psutil.pid_exists(pid) for pid in killed), "killed workers are reaped (no zombie, no orphan)"
